// The simulator's JSON-RPC request parser (v1.0 and v2.0 as xapi reads them on /jsonrpc): an
// exact-integer JSON reader and the request-shape checks that make xapi answer HTTP 500.
// Independent of the addon's codec; jsonrpc.ts re-exports it. It never writes responses.
import { XDateTime, XDouble, type WireValue } from '../engine/values';

export class JsonRpcParseError extends Error {
  override name = 'JsonRpcParseError';
}

class JsonCursor {
  i = 0;
  constructor(readonly s: string) {}
  fail(what: string): never {
    throw new JsonRpcParseError(`Malformed JSON: ${what} at offset ${this.i}`);
  }
  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }
  value(): WireValue {
    this.ws();
    const s = this.s;
    const ch = s[this.i];
    if (ch === '{') {
      this.i++;
      const obj: Record<string, WireValue> = {};
      this.ws();
      if (s[this.i] === '}') {
        this.i++;
        return obj;
      }
      for (;;) {
        this.ws();
        if (s[this.i] !== '"') this.fail('expected a member name');
        const k = this.string();
        this.ws();
        if (s[this.i] !== ':') this.fail("expected ':'");
        this.i++;
        obj[k] = this.value();
        this.ws();
        if (s[this.i] === ',') {
          this.i++;
          continue;
        }
        if (s[this.i] === '}') {
          this.i++;
          return obj;
        }
        this.fail("expected ',' or '}'");
      }
    }
    if (ch === '[') {
      this.i++;
      const arr: WireValue[] = [];
      this.ws();
      if (s[this.i] === ']') {
        this.i++;
        return arr;
      }
      for (;;) {
        arr.push(this.value());
        this.ws();
        if (s[this.i] === ',') {
          this.i++;
          continue;
        }
        if (s[this.i] === ']') {
          this.i++;
          return arr;
        }
        this.fail("expected ',' or ']'");
      }
    }
    if (ch === '"') return this.string();
    if (s.startsWith('true', this.i)) return ((this.i += 4), true);
    if (s.startsWith('false', this.i)) return ((this.i += 5), false);
    if (s.startsWith('null', this.i)) return ((this.i += 4), null);
    if (s.startsWith('NaN', this.i)) return ((this.i += 3), new XDouble(NaN));
    if (s.startsWith('Infinity', this.i)) return ((this.i += 8), new XDouble(Infinity));
    if (s.startsWith('-Infinity', this.i)) return ((this.i += 9), new XDouble(-Infinity));
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(this.i, this.i + 400));
    if (!m) this.fail('unexpected character');
    this.i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new XDouble(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  }
  string(): string {
    const s = this.s;
    const start = ++this.i;
    let e = start;
    while (e < s.length && s[e] !== '"' && s[e] !== '\\') e++;
    if (s[e] === '"') {
      this.i = e + 1;
      return s.slice(start, e);
    }
    // slow path with escapes: let JSON.parse decode the literal
    e = start;
    while (e < s.length && s[e] !== '"') e += s[e] === '\\' ? 2 : 1;
    if (e >= s.length) this.fail('unterminated string');
    this.i = e + 1;
    try {
      return JSON.parse(s.slice(start - 1, e + 1)) as string;
    } catch {
      this.fail('bad string escape');
    }
  }
}

export function parseJson(text: string): WireValue {
  const c = new JsonCursor(text);
  const v = c.value();
  c.ws();
  if (c.i !== text.length) c.fail('trailing data');
  return v;
}

export interface JsonRequest {
  version: 1 | 2;
  method: string;
  params: WireValue[];
  id: string | number | bigint;
}

export function parseJsonRequest(text: string): JsonRequest {
  const v = parseJson(text);
  if (
    !v ||
    typeof v !== 'object' ||
    Array.isArray(v) ||
    v instanceof XDouble ||
    v instanceof XDateTime ||
    Buffer.isBuffer(v)
  ) {
    throw new JsonRpcParseError('Malformed_method_request: not an object');
  }
  const o = v as Record<string, WireValue>;
  let version: 1 | 2 = 1;
  if ('jsonrpc' in o) {
    if (o.jsonrpc !== '2.0')
      throw new JsonRpcParseError(
        `Malformed_method_request: jsonrpc ${JSON.stringify(String(o.jsonrpc))}`,
      );
    version = 2;
  }
  if (typeof o.method !== 'string') throw new JsonRpcParseError('Malformed_method_request: method');
  let params: WireValue[];
  if (Array.isArray(o.params)) params = o.params;
  else if (version === 2 && (o.params === undefined || o.params === null)) params = [];
  else if (version === 2 && typeof o.params === 'object' && !(o.params instanceof XDouble))
    params = [o.params];
  else throw new JsonRpcParseError('Malformed_method_request: params');
  const id = o.id;
  if (typeof id !== 'string' && typeof id !== 'number' && typeof id !== 'bigint') {
    throw new JsonRpcParseError('Malformed_method_request: id');
  }
  return { version, method: o.method, params, id };
}
