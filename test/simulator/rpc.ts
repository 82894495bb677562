// Test helpers for the simulator's wire tests: raw HTTP requests (node:http, so missing
// Content-Length and other malformed requests can be sent) and small XML-RPC / JSON-RPC
// callers built on the simulator's own codecs. No assertions live here.
import http from 'node:http';
import { formatJsonRequest, parseJson } from '../../src/simulator/wire/jsonrpc';
import {
  formatMethodCall,
  parseMethodResponse,
  type ParsedResponse,
} from '../../src/simulator/wire/xmlrpc';
import type { WireValue } from '../../src/simulator';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function raw(
  url: string,
  opts: {
    method?: string;
    path?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    chunked?: boolean;
    socketPath?: string;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body =
      opts.body === undefined
        ? undefined
        : Buffer.isBuffer(opts.body)
          ? opts.body
          : Buffer.from(opts.body);
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (body && !opts.chunked) headers['content-length'] = body.length;
    if (opts.chunked) headers['transfer-encoding'] = 'chunked';
    const req = http.request(
      {
        host: opts.socketPath ? undefined : u.hostname,
        port: opts.socketPath ? undefined : u.port,
        socketPath: opts.socketPath,
        path: opts.path ?? '/',
        method: opts.method ?? 'POST',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(15000, () => req.destroy(new Error('timeout')));
    if (body) req.end(body);
    else req.end();
  });
}

/** One XML-RPC call (params self-describing, see xmlrpc.ts formatTyped). */
export async function xml(
  url: string,
  method: string,
  params: unknown[] = [],
  path = '/',
  socketPath?: string,
): Promise<ParsedResponse> {
  const r = await raw(url, { path, body: formatMethodCall(method, params), socketPath });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body}`);
  return parseMethodResponse(r.body);
}

/** The Value of a successful XML-RPC call; throws with the ErrorDescription otherwise. */
export async function xmlOk(
  url: string,
  method: string,
  params: unknown[] = [],
): Promise<WireValue> {
  const r = await xml(url, method, params);
  if (r.status === 'Failure') throw new Error(`${method}: ${r.error.join(' ')}`);
  return r.value;
}

/** The ErrorDescription of a failed XML-RPC call. */
export async function xmlErr(
  url: string,
  method: string,
  params: unknown[] = [],
): Promise<string[]> {
  const r = await xml(url, method, params);
  if (r.status !== 'Failure')
    throw new Error(`${method}: expected a failure, got ${JSON.stringify(r)}`);
  return r.error;
}

export interface JsonAnswer {
  status: number;
  body: Record<string, WireValue>;
  text: string;
}

export async function json(
  url: string,
  method: string,
  params: unknown[] = [],
  version: 1 | 2 = 2,
  id: string | number = 0,
): Promise<JsonAnswer> {
  const r = await raw(url, {
    path: '/jsonrpc',
    body: formatJsonRequest(method, params, version, id),
  });
  return {
    status: r.status,
    text: r.body,
    body: r.status === 200 ? (parseJson(r.body) as Record<string, WireValue>) : {},
  };
}

/** The result of a successful JSON-RPC 2.0 call; throws with the error otherwise. */
export async function jsonOk(
  url: string,
  method: string,
  params: unknown[] = [],
): Promise<WireValue> {
  const r = await json(url, method, params);
  if (r.body.error) throw new Error(`${method}: ${JSON.stringify(r.body.error)}`);
  return r.body.result;
}

/** [code, ...params] of a failed JSON-RPC 2.0 call. */
export async function jsonErr(
  url: string,
  method: string,
  params: unknown[] = [],
): Promise<string[]> {
  const r = await json(url, method, params);
  const e = r.body.error as { message: string; data: string[] } | undefined;
  if (!e) throw new Error(`${method}: expected a failure, got ${r.text.slice(0, 300)}`);
  return [e.message, ...e.data];
}

export async function login(url: string, user = 'root', password = 'xenroot'): Promise<string> {
  return (await jsonOk(url, 'session.login_with_password', [
    user,
    password,
    '1.0',
    'xcd-test',
  ])) as string;
}
