// The simulator's console side channel: CONNECT /console with a session on the host a running VM
// is resident on answers 200 and speaks RFB through ServerInit (named after the VM), by console
// uuid or by console / VM ref, then serves a screen that keys and the pointer change; a bad session, a halted or paused VM, another host and an
// unknown console are refused, and the connection ends when the VM stops running there.
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { CONSOLE_HEIGHT, CONSOLE_WIDTH } from '../../../src/simulator/wire/console-http';
import {
  connectConsole,
  distinctPixels,
  readFramebuffer,
  rfbHandshake,
  typeKey,
  type ConsoleConnection,
} from '../../helpers/rfb-client';
import { xmlOk } from '../rpc';

describe('simulator CONNECT /console', () => {
  let sim: SimulatorHandle;
  let sessionRef: string;
  const open: ConsoleConnection[] = [];

  const vmNamed = (name: string): { vmRef: string; vmRec: any } => {
    for (const [vmRef, vmRec] of sim.store.all('VM'))
      if (vmRec.name_label === name) return { vmRef, vmRec };
    throw new Error(`no VM ${name}`);
  };
  const consoleOf = (vmRef: string): { ref: string; uuid: string } => {
    const ref = (sim.store.get('VM', vmRef).consoles as string[])[0];
    return { ref, uuid: sim.store.get('console', ref).uuid as string };
  };
  const hostUrlOf = (hostRef: string): URL => {
    const address = String(sim.store.get('host', hostRef).address);
    const url = sim.hostUrls.map((u) => new URL(u)).find((u) => u.hostname === address);
    if (!url) throw new Error(`no listener for ${address}`);
    return url;
  };
  const connect = async (url: URL, path: string, v: '1.0' | '1.1' = '1.0') => {
    const c = await connectConsole(url.hostname, Number(url.port), path, v);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0 });
    sessionRef = String(await xmlOk(sim.url, 'session.login_with_password', ['root', 'xenroot']));
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('answers 200 and RFB through ServerInit for a running VM on its own host', async () => {
    const { vmRef, vmRec } = vmNamed('db-01');
    const { uuid } = consoleOf(vmRef);
    const c = await connect(
      hostUrlOf(vmRec.resident_on),
      `/console?uuid=${uuid}&session_id=${sessionRef}`,
    );
    expect(c.statusLine).toBe('HTTP/1.1 200 OK');
    const init = await rfbHandshake(c);
    expect(init).toEqual({
      version: 'RFB 003.008\n',
      securityTypes: [1],
      securityResult: 0,
      width: CONSOLE_WIDTH,
      height: CONSOLE_HEIGHT,
      bitsPerPixel: 32,
      depth: 24,
      trueColour: true,
      name: 'db-01',
    });
    // an incremental update request with nothing changed waits: no answer and no close
    c.socket.write(Buffer.from([3, 1, 0, 0, 0, 0, 4, 0, 3, 0])); // FramebufferUpdateRequest
    await new Promise((r) => setTimeout(r, 50));
    expect(c.socket.destroyed).toBe(false);
  });

  it('serves a screen: Raw updates in the pixel format set, changed by keys and the pointer', async () => {
    const { vmRef, vmRec } = vmNamed('web-01');
    const c = await connect(
      hostUrlOf(vmRec.resident_on),
      `/console?uuid=${consoleOf(vmRef).uuid}&session_id=${sessionRef}`,
    );
    const init = await rfbHandshake(c);
    const full = await readFramebuffer(c, init);
    expect(full.map((r) => [r.x, r.y, r.w, r.h, r.pixels.length])).toEqual([
      [0, 0, CONSOLE_WIDTH, CONSOLE_HEIGHT, CONSOLE_WIDTH * CONSOLE_HEIGHT * 4],
    ]);
    expect(distinctPixels(full)).toBeGreaterThan(16);
    // SetPixelFormat: 32 bits big-endian, blue in the high byte; the same screen, other bytes
    const fmt = Buffer.alloc(20);
    fmt[0] = 0;
    fmt.set([32, 24, 1, 1], 4);
    fmt.writeUInt16BE(255, 8);
    fmt.writeUInt16BE(255, 10);
    fmt.writeUInt16BE(255, 12);
    fmt.set([8, 16, 24], 14);
    c.write(fmt);
    const swapped = await readFramebuffer(c, init);
    const px = (buf: Buffer, i: number): number[] => [...buf.subarray(i * 4, i * 4 + 4)];
    // pixel 0 (a grey bar): the same colour in either layout
    const [b0, g0, r0] = px(full[0].pixels, 0); // little-endian, red at 16: bytes b, g, r, 0
    expect(px(swapped[0].pixels, 0)).toEqual([b0, g0, r0, 0]); // big-endian, blue at 24
    // an incremental request waits for a change; a key typed is one
    const before = swapped[0].pixels;
    typeKey(c, 'k'.charCodeAt(0));
    const typed = await readFramebuffer(c, init, true);
    expect(typed[0].pixels.equals(before)).toBe(false);
    // a click of the pointer changes the screen too
    c.write(Buffer.from([5, 1, 0, 10, 0, 20, 5, 0, 0, 10, 0, 20]));
    const clicked = await readFramebuffer(c, init, true);
    expect(clicked[0].pixels.equals(typed[0].pixels)).toBe(false);
  });

  it('takes ref= with a console ref or a VM ref, with HTTP/1.1 and no Host header as Nova sends it', async () => {
    const { vmRef, vmRec } = vmNamed('web-01');
    const url = hostUrlOf(vmRec.resident_on);
    for (const ref of [consoleOf(vmRef).ref, vmRef]) {
      const c = await connect(url, `/console?ref=${ref}&session_id=${sessionRef}`, '1.1');
      expect(c.status).toBe(200);
      expect((await rfbHandshake(c)).name).toBe('web-01');
    }
  });

  it('speaks RFB 3.3 to an old viewer (security type chosen by the server)', async () => {
    const { vmRef, vmRec } = vmNamed('db-01');
    const c = await connect(
      hostUrlOf(vmRec.resident_on),
      `/console?uuid=${consoleOf(vmRef).uuid}&session_id=${sessionRef}`,
    );
    expect((await c.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    c.socket.write('RFB 003.003\n');
    expect((await c.read(4)).readUInt32BE(0)).toBe(1);
    c.socket.write(Buffer.from([0]));
    const head = await c.read(24);
    expect((await c.read(head.readUInt32BE(20))).toString()).toBe('db-01');
  });

  it('refuses a missing or unknown session with 401', async () => {
    const { vmRef, vmRec } = vmNamed('db-01');
    const url = hostUrlOf(vmRec.resident_on);
    const { uuid } = consoleOf(vmRef);
    for (const path of [
      `/console?uuid=${uuid}`,
      `/console?uuid=${uuid}&session_id=OpaqueRef:00000000-0000-0000-0000-000000000000`,
    ]) {
      const c = await connect(url, path);
      expect(c.statusLine).toBe('HTTP/1.1 401 Unauthorised');
      await c.closed;
    }
  });

  it('answers 404 for a VM resident on another host', async () => {
    const { vmRef, vmRec } = vmNamed('db-01');
    const other = sim.hostUrls
      .map((u) => new URL(u))
      .find((u) => u.hostname !== hostUrlOf(vmRec.resident_on).hostname)!;
    const c = await connect(
      other,
      `/console?uuid=${consoleOf(vmRef).uuid}&session_id=${sessionRef}`,
    );
    expect(c.status).toBe(404);
    await c.closed;
  });

  it('answers 404 for a paused VM, a halted VM and an unknown console', async () => {
    const paused = vmNamed('test-01');
    const halted = vmNamed('build-01');
    const url = hostUrlOf(paused.vmRec.resident_on);
    for (const query of [
      `uuid=${consoleOf(paused.vmRef).uuid}`,
      `ref=${halted.vmRef}`,
      'uuid=00000000-0000-0000-0000-000000000000',
    ]) {
      const c = await connect(url, `/console?${query}&session_id=${sessionRef}`);
      expect(c.status).toBe(404);
      await c.closed;
    }
  });

  it('ends the console when the VM halts, and refuses it afterwards', async () => {
    const { vmRef, vmRec } = vmNamed('web-01');
    const url = hostUrlOf(vmRec.resident_on);
    const { uuid } = consoleOf(vmRef);
    const c = await connect(url, `/console?uuid=${uuid}&session_id=${sessionRef}`);
    await rfbHandshake(c);
    await xmlOk(sim.url, 'VM.hard_shutdown', [sessionRef, vmRef]);
    await c.closed;
    const again = await connect(url, `/console?ref=${vmRef}&session_id=${sessionRef}`);
    expect(again.status).toBe(404);
  });
});
