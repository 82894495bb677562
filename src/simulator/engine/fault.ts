// XapiFault: the one error class simulator handlers throw to answer a call with an XAPI
// failure (code plus string params, exactly as they go on the wire). It carries no transport
// knowledge; the codecs turn it into ErrorDescription / JSON-RPC error shapes.

export class XapiFault extends Error {
  readonly code: string;
  readonly params: string[];

  constructor(code: string, params: Array<string | number | boolean> = []) {
    super(params.length ? `${code}(${params.join(', ')})` : code);
    this.name = 'XapiFault';
    this.code = code;
    this.params = params.map(String);
  }

  /** The wire form: [code, ...params]. */
  toErrorDescription(): string[] {
    return [this.code, ...this.params];
  }
}

/** Any thrown value as a fault: XapiFault passes through, anything else is INTERNAL_ERROR. */
export function toFault(err: unknown): XapiFault {
  if (err instanceof XapiFault) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new XapiFault('INTERNAL_ERROR', [text]);
}
