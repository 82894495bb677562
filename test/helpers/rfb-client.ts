// A console client for tests: connections shaped like Nova's noVNC proxy (a plain TCP or TLS
// connection, `CONNECT <path> HTTP/1.x` with no headers, the reply read up to its blank line),
// like a VNC viewer (plain TCP), and like noVNC (a WebSocket carrying RFB in binary messages);
// then the client side of RFB 3.8 (security None, or VNC Authentication whose response is
// computed by noVNC's own DES, run by node) through ServerInit, and framebuffer reads in Raw
// encoding. Holds no assertions.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import WebSocket, { createWebSocketStream } from 'ws';

export interface ConsoleConnection {
  socket: Duplex;
  /** The first line of the HTTP reply, e.g. 'HTTP/1.1 200 OK' ('' without CONNECT). */
  statusLine: string;
  status: number;
  /** The HTTP reply's body, when it came with one (a refusal's problem+json). */
  body: string;
  /** Bytes that arrive next, in order (`read(n)` waits for exactly n). */
  read(n: number): Promise<Buffer>;
  write(data: string | Buffer): void;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  close(): void;
}

export interface ServerInit {
  version: string;
  securityTypes: number[];
  securityResult: number;
  width: number;
  height: number;
  bitsPerPixel: number;
  depth: number;
  trueColour: boolean;
  name: string;
}

/** The reading side of a connection over any duplex stream. */
function wrap(socket: Duplex, timeoutMs: number) {
  let buf = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  // an idle connection (nothing received for timeoutMs) is given up
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => socket.destroy(new Error('console read timed out')), timeoutMs);
  };
  arm();
  const closed = new Promise<void>((done) =>
    socket.once('close', () => {
      clearTimeout(timer);
      done();
    }),
  );
  const wake = (): void => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  socket.on('data', (chunk: Buffer) => {
    arm();
    buf = Buffer.concat([buf, chunk]);
    wake();
  });
  socket.on('end', () => {
    ended = true;
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  socket.on('error', (err) => {
    failure = err;
    wake();
  });
  const waitFor = async (ready: () => boolean): Promise<void> => {
    while (!ready()) {
      if (failure) throw failure;
      if (ended) throw new Error('console connection closed');
      await new Promise<void>((w) => (waiter = w));
    }
  };
  return {
    closed,
    waitFor,
    buffered: () => buf,
    consume: (n: number) => {
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    },
    read: async (n: number): Promise<Buffer> => {
      await waitFor(() => buf.length >= n);
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    },
  };
}

function connection(
  socket: Duplex,
  r: ReturnType<typeof wrap>,
  statusLine = '',
  body = '',
): ConsoleConnection {
  return {
    socket,
    statusLine,
    status: statusLine ? Number(statusLine.split(' ')[1]) : 0,
    body,
    read: r.read,
    write: (data) => void socket.write(data),
    closed: r.closed,
    close: () => socket.destroy(),
  };
}

export function connectConsole(
  host: string,
  port: number,
  path: string,
  httpVersion: '1.0' | '1.1' = '1.1',
  timeoutMs = 5000,
  secure = false, // TLS without verification (test certificates)
): Promise<ConsoleConnection> {
  const socket = secure
    ? tls.connect({ host, port, rejectUnauthorized: false })
    : net.connect({ host, port });
  const r = wrap(socket, timeoutMs);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.write(`CONNECT ${path} HTTP/${httpVersion}\r\n\r\n`);
      r.waitFor(() => r.buffered().includes('\r\n\r\n')).then(
        async () => {
          const end = r.buffered().indexOf('\r\n\r\n');
          const head = r.consume(end + 4).toString('latin1');
          const statusLine = head.split('\r\n')[0];
          const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          const body = length > 0 ? (await r.read(length)).toString('utf8') : '';
          resolve(connection(socket, r, statusLine, body));
        },
        (err: Error) => reject(err),
      );
    });
  });
}

/** A plain TCP connection (a VNC viewer's): RFB from the first byte. */
export function connectTcp(
  host: string,
  port: number,
  timeoutMs = 5000,
): Promise<ConsoleConnection> {
  const socket = net.connect({ host, port });
  const r = wrap(socket, timeoutMs);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => resolve(connection(socket, r)));
  });
}

/** A WebSocket as noVNC opens it (subprotocol `binary`); rejects with the HTTP status of a
 * refused upgrade (`status`). */
export function connectWebSocket(url: string, timeoutMs = 5000): Promise<ConsoleConnection> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary']);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () =>
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body }),
        ),
      );
    });
    ws.once('error', reject);
    ws.once('open', () => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => undefined);
      resolve(connection(stream, wrap(stream, timeoutMs)));
    });
  });
}

/** VNC Authentication's response, computed by noVNC's DES (a peer implementation). */
export function novncDesResponse(password: string, challenge: Buffer): Buffer {
  const des = pathToFileURL(join(dirname(require.resolve('@novnc/novnc')), 'crypto', 'des.js'));
  const script = `
    const { DESECBCipher } = await import(process.argv[1]);
    const [pw, ch] = process.argv.slice(2);
    const key = new Uint8Array([...pw].map((c) => c.charCodeAt(0)));
    const c = DESECBCipher.importKey(key, { name: 'DES-ECB' }, false, ['encrypt']);
    process.stdout.write(Buffer.from(c.encrypt({ name: 'DES-ECB' }, Buffer.from(ch, 'hex'))).toString('hex'));
  `;
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', script, des.href, password, challenge.toString('hex')],
    { encoding: 'utf8' },
  );
  return Buffer.from(out, 'hex');
}

export interface SecurityOutcome {
  version: string;
  securityTypes: number[];
  securityResult: number;
  /** The reason of a failed SecurityResult (3.8). */
  reason?: string;
}

/** Version and security of RFB 3.8: None, or VNC Authentication when `password` is given. */
export async function rfbSecurity(
  c: ConsoleConnection,
  password?: string,
): Promise<SecurityOutcome> {
  const version = (await c.read(12)).toString('latin1');
  c.write('RFB 003.008\n');
  const count = (await c.read(1))[0];
  const securityTypes = [...(await c.read(count))];
  if (password === undefined)
    c.write(Buffer.from([1])); // None
  else {
    c.write(Buffer.from([2])); // VNC Authentication
    const challenge = await c.read(16);
    c.write(novncDesResponse(password, challenge));
  }
  const securityResult = (await c.read(4)).readUInt32BE(0);
  if (securityResult === 0) return { version, securityTypes, securityResult };
  const len = (await c.read(4)).readUInt32BE(0);
  return { version, securityTypes, securityResult, reason: (await c.read(len)).toString('utf8') };
}

/** ClientInit (shared), then ServerInit. */
export async function rfbInit(
  c: ConsoleConnection,
  security: SecurityOutcome,
): Promise<ServerInit> {
  c.write(Buffer.from([1]));
  const head = await c.read(24);
  const name = (await c.read(head.readUInt32BE(20))).toString('utf8');
  return {
    ...security,
    width: head.readUInt16BE(0),
    height: head.readUInt16BE(2),
    bitsPerPixel: head[4],
    depth: head[5],
    trueColour: head[7] === 1,
    name,
  };
}

/** The client side of RFB 3.8 with security None (or VNC Authentication), through ServerInit. */
export async function rfbHandshake(c: ConsoleConnection, password?: string): Promise<ServerInit> {
  const security = await rfbSecurity(c, password);
  if (security.securityResult !== 0)
    throw new Error(`security failed: ${security.reason ?? security.securityResult}`);
  return rfbInit(c, security);
}

export interface Rectangle {
  x: number;
  y: number;
  w: number;
  h: number;
  encoding: number;
  pixels: Buffer;
}

/** SetEncodings [Raw], a FramebufferUpdateRequest of the whole screen, and the
 * FramebufferUpdate that answers it (Raw rectangles only). */
export async function readFramebuffer(
  c: ConsoleConnection,
  init: ServerInit,
  incremental = false,
): Promise<Rectangle[]> {
  const enc = Buffer.alloc(8);
  enc.writeUInt8(2, 0);
  enc.writeUInt16BE(1, 2);
  enc.writeInt32BE(0, 4);
  const req = Buffer.alloc(10);
  req.writeUInt8(3, 0);
  req.writeUInt8(incremental ? 1 : 0, 1);
  req.writeUInt16BE(init.width, 6);
  req.writeUInt16BE(init.height, 8);
  c.write(Buffer.concat([enc, req]));
  const head = await c.read(4);
  if (head[0] !== 0) throw new Error(`expected a FramebufferUpdate, got message ${head[0]}`);
  const rects: Rectangle[] = [];
  for (let i = 0; i < head.readUInt16BE(2); i++) {
    const r = await c.read(12);
    const [x, y, w, h] = [0, 2, 4, 6].map((o) => r.readUInt16BE(o));
    const encoding = r.readInt32BE(8);
    if (encoding !== 0) throw new Error(`expected Raw rectangles, got encoding ${encoding}`);
    rects.push({ x, y, w, h, encoding, pixels: await c.read(w * h * (init.bitsPerPixel / 8)) });
  }
  return rects;
}

/** KeyEvent: press and release of a keysym. */
export function typeKey(c: ConsoleConnection, keysym: number): void {
  const m = Buffer.alloc(16);
  for (const [o, down] of [
    [0, 1],
    [8, 0],
  ]) {
    m.writeUInt8(4, o);
    m.writeUInt8(down, o + 1);
    m.writeUInt32BE(keysym, o + 4);
  }
  c.write(m);
}

/** How many distinct pixel values the rectangles hold (32 bits a pixel). */
export function distinctPixels(rects: Rectangle[]): number {
  const seen = new Set<number>();
  for (const r of rects)
    for (let i = 0; i + 4 <= r.pixels.length; i += 4) seen.add(r.pixels.readUInt32LE(i));
  return seen.size;
}
