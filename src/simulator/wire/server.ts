// The HTTP face of one simulated host: XML-RPC on POST / (and every POST path but /jsonrpc, as
// xapi's longest-prefix routing), JSON-RPC on POST /jsonrpc, CORS preflight, HTTP 500 for
// malformed requests, and the hooks for side channels (raw VDI transfer, /sim/control). It
// decodes, calls dispatch and encodes; it holds no XAPI semantics.
import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import type { Socket } from 'node:net';
import { dispatch, type DispatchResult, type Origin } from '../engine/dispatch';
import { toFault } from '../engine/fault';
import {
  JsonRpcParseError,
  formatJsonFailure,
  formatJsonSuccessChunks,
  parseJsonRequest,
} from './jsonrpc';
import type { SimRuntime } from '../engine/runtime';
import {
  XmlRpcParseError,
  formatFailure,
  formatSuccessChunks,
  formatUnwrapped,
  parseMethodCall,
} from './xmlrpc';

/** Largest RPC body accepted (xapi: http_limit_max_rpc_size). */
export const MAX_RPC_BYTES = 300 * 1024 * 1024;

export type SideHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  origin: Origin,
) => boolean;

export function sendHttp500(res: http.ServerResponse, detail: string): void {
  const body =
    '<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; ' +
    'please wait a while and try again. If the problem persists, please contact your support ' +
    `representative.<h1> Additional information </h1>${detail.replace(/[<>&]/g, ' ')}</body></html>`;
  res.writeHead(500, 'Internal Error', {
    'content-type': 'text/html',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('Body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type Body = string | { parts: Buffer[]; size: number };

function send(res: http.ServerResponse, contentType: string, body: Body, drop: boolean): void {
  const { parts, size } =
    typeof body === 'string'
      ? { parts: [Buffer.from(body, 'utf8')], size: Buffer.byteLength(body) }
      : body;
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': size,
    'access-control-allow-origin': '*',
  });
  if (drop) {
    // cut the connection in the middle of the response
    const all = Buffer.concat(parts, size);
    res.write(all.subarray(0, size >> 1), () => res.socket?.destroy());
    return;
  }
  if (parts.length === 1) {
    res.end(parts[0]);
    return;
  }
  res.cork();
  for (const p of parts) res.write(p);
  res.uncork();
  res.end();
}

export function createRequestHandler(
  rt: SimRuntime,
  originOf: (req: http.IncomingMessage) => Origin,
  side: SideHandler[],
): http.RequestListener {
  return (req, res) => {
    const origin = originOf(req);
    const url = new URL(req.url ?? '/', 'http://sim');
    if (req.method === 'OPTIONS') {
      res.writeHead(200, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'content-type, x-requested-with',
        'content-length': 0,
      });
      res.end();
      return;
    }
    for (const h of side) if (h(req, res, url, origin)) return;
    if (req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'text/html', 'content-length': 0 });
      res.end();
      return;
    }
    if (req.headers['content-length'] === undefined) {
      req.resume();
      sendHttp500(res, 'We require a content-length');
      return;
    }
    const json = url.pathname.startsWith('/jsonrpc');
    readBody(req, MAX_RPC_BYTES).then(
      (buf) =>
        handleRpc(rt, json, buf, origin, res).catch((err: unknown) => {
          // a failure outside dispatch (e.g. encoding a handler's odd result) still answers
          // with an RPC failure, as xapi's callback does (JSON: v2 shape, id 0)
          const desc = toFault(err).toErrorDescription();
          if (res.headersSent) res.socket?.destroy();
          else if (json) send(res, 'application/json', formatJsonFailure(desc, 2, 0), false);
          else send(res, 'text/xml', formatFailure(desc), false);
        }),
      (err: Error) => sendHttp500(res, err.message),
    );
  };
}

async function handleRpc(
  rt: SimRuntime,
  json: boolean,
  buf: Buffer,
  origin: Origin,
  res: http.ServerResponse,
): Promise<void> {
  const text = buf.toString('utf8');
  const o: Origin = isUtf8(buf) ? origin : { ...origin, invalidUtf8: true };
  if (json) {
    let call;
    try {
      call = parseJsonRequest(text);
    } catch (err) {
      sendHttp500(res, (err as JsonRpcParseError).message);
      return;
    }
    const r: DispatchResult = await dispatch(rt, call.method, call.params, o);
    const body = r.ok
      ? formatJsonSuccessChunks(r.value, r.type, call.version, call.id)
      : formatJsonFailure(r.error, call.version, call.id);
    send(res, 'application/json', body, r.drop ?? false);
    return;
  }
  let call;
  try {
    call = parseMethodCall(text);
  } catch (err) {
    sendHttp500(res, (err as XmlRpcParseError).message);
    return;
  }
  const r = await dispatch(rt, call.method, call.params, o);
  const body = r.ok
    ? r.unwrapped
      ? formatUnwrapped(r.value, r.type)
      : formatSuccessChunks(r.value, r.type)
    : formatFailure(r.error);
  send(res, 'text/xml', body, r.drop ?? false);
}

/** An http(s) server that remembers its sockets so they can be cut (restart, offline). */
export function trackSockets(server: http.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}
