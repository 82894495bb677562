// The client's two failure domains: XapiError (xapi's ErrorDescription verbatim: code, params,
// and the method that failed) and TransportError (the wire below it, with a stable code).
// Both carry the stack of the caller's line, not the native one. No HTTP mapping here.
import type { NativeFailure } from './addon';

export class XapiError extends Error {
  readonly code: string;
  readonly params: string[];
  readonly method: string;
  constructor(code: string, params: string[], method: string, message?: string) {
    super(
      message ??
        (params.length ? `${code} (${params.join(', ')}) in ${method}` : `${code} in ${method}`),
    );
    this.name = 'XapiError';
    this.code = code;
    this.params = params;
    this.method = method;
  }
}

/** Codes: ECONNREFUSED, ETIMEDOUT, ECONNRESET, ENOTFOUND, TLS_VERIFY, TLS_HANDSHAKE, TLS_INIT,
 *  RESPONSE_TOO_LARGE, EPROTO, HTTP_<status>, ECANCELED, ENOTCONN, TASK_LOST, CLOSED. */
export class TransportError extends Error {
  readonly code: string;
  readonly method: string;
  constructor(code: string, message: string, method = '') {
    super(message);
    this.name = 'TransportError';
    this.code = code;
    this.method = method;
  }
}

/** A holder of the caller's stack, taken before going async (`captureCaller(fn)`). */
export interface CallerStack {
  stack?: string;
}

export function captureCaller(fn: (...args: never[]) => unknown): CallerStack {
  const holder: CallerStack = {};
  Error.captureStackTrace(holder, fn);
  return holder;
}

/** Puts the caller's frames under `err`'s own first line. */
export function withCallerStack<E extends Error>(err: E, caller: CallerStack): E {
  const frames = caller.stack ? caller.stack.split('\n').slice(1).join('\n') : '';
  err.stack = `${err.name}: ${err.message}${frames ? '\n' + frames : ''}`;
  return err;
}

/** Converts what the addon rejected with into XapiError / TransportError (others pass through). */
export function fromNative(err: unknown, caller: CallerStack): Error {
  const f = err as Partial<NativeFailure> | undefined;
  if (
    f &&
    typeof f === 'object' &&
    (f.kind === 'xapi' || f.kind === 'transport') &&
    typeof f.code === 'string'
  ) {
    const e =
      f.kind === 'xapi'
        ? new XapiError(f.code, f.params ?? [], f.method ?? '')
        : new TransportError(f.code, f.message ?? f.code, f.method ?? '');
    return withCallerStack(e, caller);
  }
  return err instanceof Error ? withCallerStack(err, caller) : new Error(String(err));
}
