// CONNECT requests and protocol upgrades (WebSocket) on the service's HTTP listener: Node hands
// their sockets to the server's 'connect' and 'upgrade' events instead of the app. Here each
// still goes through the app's one path with a response written on its socket, so a refusal is
// an ordinary problem+json answer; a route that accepts takes the socket over (takeSocket).
// Owns nothing else: what the socket then carries is the route's.
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

interface Raw {
  socket: Duplex;
  head: Buffer;
  /** A route took the socket over: the response no longer owns it. */
  taken: boolean;
}

const RAW = new WeakMap<http.IncomingMessage, Raw>();

type App = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Routes the server's CONNECT and upgrade requests through `app`, each with a `Response` (the
 * server's response class) on its socket, closed once the answer is written. */
export function routeRawRequests(
  server: http.Server,
  app: App,
  Response: new (req: http.IncomingMessage) => http.ServerResponse,
): void {
  const handle = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const raw: Raw = { socket, head, taken: false };
    RAW.set(req, raw);
    const res = new Response(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => {
      if (!raw.taken) socket.end();
    });
    app(req, res);
  };
  server.on('connect', handle);
  server.on('upgrade', handle);
}

/** The socket of a CONNECT or upgrade request, taken from its response (which then writes
 * nothing), with the bytes that came after the request head; undefined for other requests.
 * The response is over for the app: it finishes with `status` (what the route writes on the
 * socket, 200 or 101), which the metrics record, and the request's log line says so. */
export function takeSocket(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
): { socket: Duplex; head: Buffer } | undefined {
  const raw = RAW.get(req);
  if (!raw) return undefined;
  RAW.delete(req);
  raw.taken = true;
  res.detachSocket(raw.socket as Socket);
  res.statusCode = status;
  res.emit('finish');
  (req as { log?: { info(o: object, msg: string): void } }).log?.info(
    { status },
    'request switched protocols',
  );
  return raw;
}
