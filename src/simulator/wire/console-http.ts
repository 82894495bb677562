// The console side channel: `CONNECT /console?uuid=<console uuid>&session_id=<ref>` (or
// `ref=<console or VM ref>`) on the host the VM runs on answers `200` and then speaks RFB
// (version, security None, ServerInit with the VM's name_label), then serves a screen
// (console-screen.ts: a test pattern with the VM's name, the keys typed, the pointer) in Raw
// encoding: SetPixelFormat, SetEncodings, FramebufferUpdateRequest, KeyEvent, PointerEvent and
// ClientCutText are taken, until the client leaves or the VM stops running there. No XAPI
// semantics beyond lookups.
//
// Refusals, as xapi's console handler gives them (plain HTTP, then the socket is closed):
// - no session, an unknown session_id or wrong Basic credentials: 401 (a Unix-socket client is
//   root); the simulator has no RBAC, so the 403 a real pool gives a session lacking
//   `http/connect_console` never happens here;
// - an unknown console or VM, a VM that is not Running, or resident on another host: 404;
// - any other CONNECT path: 404. The per-VM connection limit (503) is not simulated.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Origin } from '../engine/dispatch';
import type { SimRuntime } from '../engine/runtime';
import type { Rec } from '../engine/store';
import { Screen, type PixelFormat, type ScreenState } from './console-screen';
import { sideChannelAuthorized } from './side-channel-auth';

/** The framebuffer every simulated console announces. */
export const CONSOLE_WIDTH = 640;
export const CONSOLE_HEIGHT = 480;

/** The pixel format ServerInit announces (and the screen uses until the client sets one). */
const SERVER_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  bigEndian: false,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

/** Client-to-server message types (RFC 6143 7.5). */
const MSG = {
  setPixelFormat: 0,
  setEncodings: 2,
  updateRequest: 3,
  key: 4,
  pointer: 5,
  cutText: 6,
};

/** The keysyms of keys that edit what is typed (X11 keysymdef.h). */
const KEYSYM_BACKSPACE = 0xff08;
const KEYSYM_RETURN = 0xff0d;

const RFB_VERSION = 'RFB 003.008\n';
const SECURITY_NONE = 1;

function refuse(socket: Duplex, status: number, reason: string, extra = ''): void {
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`,
  );
}

/** The console the query names: `uuid=` of a console, or `ref=` of a console or a VM (its rfb one). */
function findConsole(
  rt: SimRuntime,
  url: URL,
): { consoleRef: string; consoleRec: Rec } | undefined {
  const { store } = rt;
  const uuid = url.searchParams.get('uuid');
  let consoleRef: string | undefined;
  if (uuid) consoleRef = store.byUuid('console', uuid);
  else {
    const ref = url.searchParams.get('ref') ?? '';
    if (store.has('console', ref)) consoleRef = ref;
    else if (store.has('VM', ref))
      consoleRef = (store.get('VM', ref).consoles as string[]).find(
        (c) => store.find('console', c)?.protocol === 'rfb',
      );
  }
  const consoleRec = consoleRef ? store.find('console', consoleRef) : undefined;
  return consoleRef && consoleRec ? { consoleRef, consoleRec } : undefined;
}

/** ServerInit: framebuffer size, a 32-bit true-colour pixel format, the desktop name. */
export function serverInit(name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(24 + nameBytes.length);
  b.writeUInt16BE(CONSOLE_WIDTH, 0);
  b.writeUInt16BE(CONSOLE_HEIGHT, 2);
  b.writeUInt8(32, 4); // bits per pixel
  b.writeUInt8(24, 5); // depth
  b.writeUInt8(0, 6); // big-endian flag
  b.writeUInt8(1, 7); // true colour
  b.writeUInt16BE(255, 8); // red max
  b.writeUInt16BE(255, 10); // green max
  b.writeUInt16BE(255, 12); // blue max
  b.writeUInt8(16, 14); // red shift
  b.writeUInt8(8, 15); // green shift
  b.writeUInt8(0, 16); // blue shift (17..19 padding)
  b.writeUInt32BE(nameBytes.length, 20);
  nameBytes.copy(b, 24);
  return b;
}

/** A FramebufferUpdate of one Raw rectangle. */
function framebufferUpdate(screen: Screen, format: PixelFormat, r: Rect): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt8(0, 0); // FramebufferUpdate
  head.writeUInt16BE(1, 2); // one rectangle
  head.writeUInt16BE(r.x, 4);
  head.writeUInt16BE(r.y, 6);
  head.writeUInt16BE(r.w, 8);
  head.writeUInt16BE(r.h, 10);
  head.writeInt32BE(0, 12); // Raw
  return Buffer.concat([head, screen.encode(format, r.x, r.y, r.w, r.h)]);
}

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The part of a requested rectangle that lies on the screen, or undefined. */
function clip(r: Rect): Rect | undefined {
  const x = Math.min(r.x, CONSOLE_WIDTH);
  const y = Math.min(r.y, CONSOLE_HEIGHT);
  const w = Math.min(r.w, CONSOLE_WIDTH - x);
  const h = Math.min(r.h, CONSOLE_HEIGHT - y);
  return w > 0 && h > 0 ? { x, y, w, h } : undefined;
}

/**
 * The server side of RFB on an accepted socket: ProtocolVersion 3.8 offered, 3.3 / 3.7 / 3.8
 * accepted from the client, security None, ServerInit after ClientInit; then the screen: a
 * non-incremental FramebufferUpdateRequest is answered at once, an incremental one when the
 * screen next changes (a key typed, the pointer moved).
 */
function speakRfb(socket: Duplex, head: Buffer, desktopName: () => string): void {
  let buf = head;
  let step: 'version' | 'security' | 'clientInit' | 'idle' = 'version';
  let minor = 8;
  const screen = new Screen(CONSOLE_WIDTH, CONSOLE_HEIGHT);
  const state: ScreenState = { name: '', typed: '', pointer: { x: 0, y: 0, clicks: 0 } };
  let format = SERVER_FORMAT;
  let buttons = 0;
  /** An incremental request waiting for a change. */
  let waiting: Rect | undefined;
  /** The screen changed since the last update sent. */
  let changed = false;
  const send = (r: Rect): void => {
    state.name = desktopName();
    screen.draw(state);
    changed = false;
    socket.write(framebufferUpdate(screen, format, r));
  };
  const redraw = (): void => {
    changed = true;
    const r = waiting;
    waiting = undefined;
    if (r) send(r);
  };
  /** One client message from `buf`, or false when it has not all arrived. */
  const message = (): boolean => {
    if (buf.length < 1) return false;
    const need = (n: number): boolean => buf.length >= n;
    switch (buf[0]) {
      case MSG.setPixelFormat: {
        const m = need(20) && take(20);
        if (!m) return false;
        format = {
          bitsPerPixel: m[4],
          bigEndian: m[6] !== 0,
          redMax: m.readUInt16BE(8),
          greenMax: m.readUInt16BE(10),
          blueMax: m.readUInt16BE(12),
          redShift: m[14],
          greenShift: m[15],
          blueShift: m[16],
        };
        if (![8, 16, 32].includes(format.bitsPerPixel) || m[7] === 0) socket.destroy();
        return true;
      }
      case MSG.setEncodings: {
        if (!need(4)) return false;
        const n = 4 + 4 * buf.readUInt16BE(2);
        return need(n) && take(n) !== undefined; // Raw is always understood
      }
      case MSG.updateRequest: {
        const m = need(10) && take(10);
        if (!m) return false;
        const r = clip({
          x: m.readUInt16BE(2),
          y: m.readUInt16BE(4),
          w: m.readUInt16BE(6),
          h: m.readUInt16BE(8),
        });
        if (!r) return true;
        if (m[1] === 0 || changed) send(r);
        else waiting = r;
        return true;
      }
      case MSG.key: {
        const m = need(8) && take(8);
        if (!m) return false;
        const down = m[1] !== 0;
        const keysym = m.readUInt32BE(4);
        if (!down) return true;
        if (keysym >= 0x20 && keysym <= 0x7e) state.typed += String.fromCharCode(keysym);
        else if (keysym === KEYSYM_BACKSPACE) state.typed = state.typed.slice(0, -1);
        else if (keysym === KEYSYM_RETURN) state.typed += ' ';
        else return true;
        redraw();
        return true;
      }
      case MSG.pointer: {
        const m = need(6) && take(6);
        if (!m) return false;
        const mask = m[1];
        if (mask !== 0 && buttons === 0) state.pointer.clicks++;
        buttons = mask;
        state.pointer.x = m.readUInt16BE(2);
        state.pointer.y = m.readUInt16BE(4);
        redraw();
        return true;
      }
      case MSG.cutText: {
        if (!need(8)) return false;
        const n = 8 + buf.readUInt32BE(4);
        return need(n) && take(n) !== undefined;
      }
      default:
        socket.destroy(); // not a message of RFB 3.8: the stream cannot be followed further
        buf = Buffer.alloc(0);
        return false;
    }
  };
  const take = (n: number): Buffer | undefined => {
    if (buf.length < n) return undefined;
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  const advance = (): void => {
    for (;;) {
      if (step === 'version') {
        const v = take(12);
        if (!v) return;
        const m = /^RFB 003\.(\d{3})\n$/.exec(v.toString('latin1'));
        if (!m || Number(m[1]) < 3) return void socket.destroy();
        minor = Number(m[1]) >= 8 ? 8 : Number(m[1]) >= 7 ? 7 : 3;
        if (minor === 3) {
          // 3.3: the server picks the type, no SecurityResult for None
          const t = Buffer.alloc(4);
          t.writeUInt32BE(SECURITY_NONE, 0);
          socket.write(t);
          step = 'clientInit';
        } else {
          socket.write(Buffer.from([1, SECURITY_NONE]));
          step = 'security';
        }
      } else if (step === 'security') {
        const choice = take(1);
        if (!choice) return;
        if (choice[0] !== SECURITY_NONE) {
          if (minor < 8) return void socket.destroy();
          const reason = Buffer.from('security type not offered', 'utf8');
          const fail = Buffer.alloc(8);
          fail.writeUInt32BE(1, 0);
          fail.writeUInt32BE(reason.length, 4);
          return void socket.end(Buffer.concat([fail, reason]));
        }
        if (minor === 8) socket.write(Buffer.alloc(4)); // SecurityResult OK
        step = 'clientInit';
      } else if (step === 'clientInit') {
        if (!take(1)) return; // shared-flag: one viewer or many, all the same here
        socket.write(serverInit(desktopName()));
        step = 'idle';
      } else if (!message()) return;
    }
  };
  socket.write(RFB_VERSION);
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    advance();
  });
  advance();
}

/** A listener for http.Server's 'connect' event. */
export function consoleConnectHandler(
  rt: SimRuntime,
  originOf: (req: http.IncomingMessage) => Origin,
  /** Where the connections past their 200 are kept while they are open. */
  open: Set<unknown> = new Set(),
): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const origin = originOf(req);
    const host = rt.hosts[origin.hostIndex];
    if (!host || !host.online || rt.closed) return void socket.destroy();
    const url = new URL(req.url ?? '/', 'http://sim');
    if (url.pathname !== '/console') return refuse(socket, 404, 'Not Found');
    if (!sideChannelAuthorized(rt, req, url, origin))
      return refuse(socket, 401, 'Unauthorised', 'WWW-Authenticate: Basic realm="xapi"\r\n');
    const found = findConsole(rt, url);
    const vmRef = found ? String(found.consoleRec.VM) : '';
    const running = (): boolean => {
      const vmRec = rt.store.find('VM', vmRef);
      return vmRec?.power_state === 'Running' && vmRec.resident_on === host.ref;
    };
    if (!found || !running()) return refuse(socket, 404, 'Not Found');

    // the domain's VNC server goes away when the VM stops running here
    const stop = rt.store.onChange((c) => {
      const gone =
        (c.cls === 'console' && c.ref === found.consoleRef && c.op === 'del') ||
        (c.cls === 'VM' && c.ref === vmRef && !running());
      if (gone) socket.destroy();
    });
    open.add(socket);
    socket.once('end', () => socket.destroy()); // the client is done: so is the console
    socket.on('close', () => {
      stop();
      open.delete(socket);
    });
    socket.write('HTTP/1.1 200 OK\r\n\r\n');
    speakRfb(socket, head, () => String(rt.store.find('VM', vmRef)?.name_label ?? ''));
  };
}
