// A console client for tests, shaped like Nova's noVNC proxy: a plain TCP (or TLS) connection to
// the console host, `CONNECT <path> HTTP/1.x` with no headers, the reply read up to its blank line,
// then the client side of the RFB handshake through ServerInit. Holds no assertions.
import net from 'node:net';
import tls from 'node:tls';

export interface ConsoleConnection {
  socket: net.Socket | tls.TLSSocket;
  /** The first line of the HTTP reply, e.g. 'HTTP/1.1 200 OK'. */
  statusLine: string;
  status: number;
  /** Bytes that arrive next, in order (`read(n)` waits for exactly n). */
  read(n: number): Promise<Buffer>;
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

export function connectConsole(
  host: string,
  port: number,
  path: string,
  httpVersion: '1.0' | '1.1' = '1.1',
  timeoutMs = 5000,
  secure = false, // TLS without verification (test certificates)
): Promise<ConsoleConnection> {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host, port, rejectUnauthorized: false })
      : net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('console read timed out')));
    let buf = Buffer.alloc(0);
    let waiter: (() => void) | undefined;
    let ended = false;
    let failure: Error | undefined;
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    const wake = (): void => {
      const w = waiter;
      waiter = undefined;
      w?.();
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      wake();
    });
    socket.on('close', () => {
      ended = true;
      wake();
    });
    socket.on('error', (err) => {
      failure = err;
      reject(err);
    });
    const waitFor = async (ready: () => boolean): Promise<void> => {
      while (!ready()) {
        if (failure) throw failure;
        if (ended) throw new Error('console connection closed');
        await new Promise<void>((w) => (waiter = w));
      }
    };
    const read = async (n: number): Promise<Buffer> => {
      await waitFor(() => buf.length >= n);
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.write(`CONNECT ${path} HTTP/${httpVersion}\r\n\r\n`);
      waitFor(() => buf.includes('\r\n\r\n')).then(
        () => {
          const end = buf.indexOf('\r\n\r\n');
          const statusLine = buf.subarray(0, end).toString('latin1').split('\r\n')[0];
          buf = buf.subarray(end + 4);
          resolve({
            socket,
            statusLine,
            status: Number(statusLine.split(' ')[1]),
            read,
            closed,
            close: () => socket.destroy(),
          });
        },
        (err: Error) => reject(err),
      );
    });
  });
}

/** The client side of RFB 3.8 with security None, through ServerInit. */
export async function rfbHandshake(c: ConsoleConnection): Promise<ServerInit> {
  const version = (await c.read(12)).toString('latin1');
  c.socket.write('RFB 003.008\n');
  const count = (await c.read(1))[0];
  const securityTypes = [...(await c.read(count))];
  c.socket.write(Buffer.from([1])); // None
  const securityResult = (await c.read(4)).readUInt32BE(0);
  c.socket.write(Buffer.from([1])); // ClientInit: shared
  const head = await c.read(24);
  const name = (await c.read(head.readUInt32BE(20))).toString('utf8');
  return {
    version,
    securityTypes,
    securityResult,
    width: head.readUInt16BE(0),
    height: head.readUInt16BE(2),
    bitsPerPixel: head[4],
    depth: head[5],
    trueColour: head[7] === 1,
    name,
  };
}
