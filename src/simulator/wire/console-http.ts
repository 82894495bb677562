// The console side channel: `CONNECT /console?uuid=<console uuid>&session_id=<ref>` (or
// `ref=<console or VM ref>`) on the host the VM runs on answers `200` and then speaks the first
// steps of RFB (version, security None, ServerInit with the VM's name_label) and idles until the
// client leaves or the VM stops running there. No framebuffer, no XAPI semantics beyond lookups.
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
import { sideChannelAuthorized } from './side-channel-auth';

/** The framebuffer every simulated console announces. */
export const CONSOLE_WIDTH = 1024;
export const CONSOLE_HEIGHT = 768;

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

/**
 * The server side of the RFB handshake on an accepted socket: ProtocolVersion 3.8 offered,
 * 3.3 / 3.7 / 3.8 accepted from the client, security None, then ServerInit after ClientInit.
 * Whatever the client sends afterwards is read and ignored.
 */
function speakRfb(socket: Duplex, head: Buffer, desktopName: () => string): void {
  let buf = head;
  let step: 'version' | 'security' | 'clientInit' | 'idle' = 'version';
  let minor = 8;
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
      } else {
        buf = Buffer.alloc(0); // client messages (SetPixelFormat, key events ...) are ignored
        return;
      }
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
    socket.on('close', stop);
    socket.write('HTTP/1.1 200 OK\r\n\r\n');
    speakRfb(socket, head, () => String(rt.store.find('VM', vmRef)?.name_label ?? ''));
  };
}
