// The RFB (RFC 6143) handshakes the console proxy speaks: the server side towards a console
// client (3.8 offered; 3.3, 3.7 and 3.8 taken; security None or VNC Authentication) and the
// client side towards a XAPI host's console (whatever version 3.x it offers, security None),
// through ServerInit. After the handshakes the proxy relays bytes untouched: no message beyond
// ServerInit is parsed here, and no socket is opened or closed by this file.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { vncAuthResponse } from './des';

export const SECURITY_NONE = 1;
export const SECURITY_VNC = 2;

/** Reads exact byte counts from a stream; release() hands back what it read beyond them. */
export class ByteReader {
  #buf: Buffer = Buffer.alloc(0);
  #waiter?: () => void;
  #ended = false;
  readonly #onData = (chunk: Buffer): void => {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    this.#wake();
  };
  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake();
  };

  constructor(private readonly stream: Duplex) {
    stream.on('data', this.#onData);
    stream.once('end', this.#onEnd);
    stream.once('close', this.#onEnd);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  async read(n: number): Promise<Buffer> {
    while (this.#buf.length < n) {
      if (this.#ended) throw new RfbError('the peer closed the connection');
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** Stops reading (the stream is paused) and returns the bytes read but not taken. */
  release(): Buffer {
    this.stream.off('data', this.#onData);
    this.stream.off('end', this.#onEnd);
    this.stream.off('close', this.#onEnd);
    this.stream.pause();
    const rest = this.#buf;
    this.#buf = Buffer.alloc(0);
    return rest;
  }
}

/** A handshake that cannot go on; `message` is safe to show to the peer. */
export class RfbError extends Error {}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** The minor version a `RFB 003.xxx\n` greeting asks for, as 3, 7 or 8 (later ones speak 3.8). */
function minorOf(greeting: Buffer): 3 | 7 | 8 {
  const m = /^RFB 003\.(\d{3})\n$/.exec(greeting.toString('latin1'));
  if (!m) throw new RfbError('not an RFB 3.x protocol version');
  const minor = Number(m[1]);
  return minor >= 8 ? 8 : minor === 7 ? 7 : 3;
}

/** SecurityResult failed, with its reason where the version carries one (3.8). */
function securityFailed(stream: Duplex, minor: 3 | 7 | 8, reason: string): void {
  if (minor < 8) return void stream.end(u32(1));
  const text = Buffer.from(reason, 'utf8');
  stream.end(Buffer.concat([u32(1), u32(text.length), text]));
}

export type ServerSecurity =
  | { type: 'none' }
  /** Checks the 16-byte response to a 16-byte challenge: the password is the caller's. */
  | { type: 'vnc'; verify(challenge: Buffer, response: Buffer): boolean };

/**
 * The server side towards a console client, up to and including ServerInit. `accept` runs
 * once security has passed (after the password, for VNC Authentication) and before the client
 * is told so: it opens the far side and gives its ServerInit; a rejection fails the
 * SecurityResult with its message (3.8) and is rethrown. A failed VNC Authentication throws
 * RfbError('authentication failed') after telling the client.
 */
export async function serveHandshake(
  stream: Duplex,
  reader: ByteReader,
  security: ServerSecurity,
  accept: () => Promise<Buffer>,
): Promise<void> {
  stream.write('RFB 003.008\n');
  const minor = minorOf(await reader.read(12));
  const type = security.type === 'vnc' ? SECURITY_VNC : SECURITY_NONE;
  if (minor === 3) stream.write(u32(type));
  else {
    stream.write(Buffer.from([1, type]));
    const chosen = (await reader.read(1))[0];
    if (chosen !== type) {
      securityFailed(stream, minor, 'security type not offered');
      throw new RfbError('the client chose a security type not offered');
    }
  }
  if (security.type === 'vnc') {
    const challenge = randomBytes(16);
    stream.write(challenge);
    const response = await reader.read(16);
    if (!security.verify(challenge, response)) {
      securityFailed(stream, minor, 'authentication failed');
      throw new RfbError('authentication failed');
    }
  }
  let serverInit: Buffer;
  try {
    serverInit = await accept();
  } catch (err) {
    if (security.type === 'vnc' || minor === 8)
      securityFailed(stream, minor, (err as Error).message);
    else stream.end();
    throw err;
  }
  if (security.type === 'vnc' || minor === 8) stream.write(u32(0)); // SecurityResult OK
  await reader.read(1); // ClientInit: shared or not, the far side is always shared
  stream.write(serverInit);
}

/** Checks a VNC Authentication response against a password, in constant time. */
export function vncResponseMatches(password: string, challenge: Buffer, response: Buffer): boolean {
  const expected = vncAuthResponse(password, challenge);
  return response.length === expected.length && timingSafeEqual(response, expected);
}

/**
 * The client side towards a XAPI host's console (after its CONNECT answered 200): takes the
 * version it offers (3.3, 3.7 or 3.8), security None, sends a shared ClientInit and returns
 * the ServerInit message whole (header and name), to hand on to the console client.
 */
export async function clientHandshake(stream: Duplex, reader: ByteReader): Promise<Buffer> {
  const minor = minorOf(await reader.read(12));
  stream.write(`RFB 003.00${minor}\n`);
  const failure = async (): Promise<never> => {
    const len = (await reader.read(4)).readUInt32BE(0);
    const reason = (await reader.read(Math.min(len, 1024))).toString('utf8');
    throw new RfbError(`the host's console refused: ${reason}`);
  };
  if (minor === 3) {
    const type = (await reader.read(4)).readUInt32BE(0);
    if (type === 0) await failure();
    if (type !== SECURITY_NONE) throw new RfbError(`the host's console asks for security ${type}`);
  } else {
    const count = (await reader.read(1))[0];
    if (count === 0) await failure();
    const types = [...(await reader.read(count))];
    if (!types.includes(SECURITY_NONE))
      throw new RfbError(`the host's console offers no security None (${types.join(', ')})`);
    stream.write(Buffer.from([SECURITY_NONE]));
    if (minor === 8 && (await reader.read(4)).readUInt32BE(0) !== 0) await failure();
  }
  stream.write(Buffer.from([1])); // ClientInit: shared
  const head = await reader.read(24);
  const name = await reader.read(head.readUInt32BE(20));
  return Buffer.concat([head, name]);
}
