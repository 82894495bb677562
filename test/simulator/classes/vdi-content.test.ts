// VDI content through the storage messages: a 2 GiB disk holding little data costs little on the
// host and in physical_utilisation; VDI.copy, VDI.clone and VDI.snapshot carry the content;
// VDI.destroy deletes it; close() removes the simulator's folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { jsonOk, login } from '../rpc';
import { MIB, newVdi, put, qemuImg, rawWithData, sameContent, taskOf } from '../wire/vdi-helpers';

const GIB = 1024 * MIB;
let dir: string;
let src: string;
let sim: SimulatorHandle;
let sid: string;
let vdiRef: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-vdi-content-'));
  src = path.join(dir, 'src.raw');
  rawWithData(src, 2 * GIB, [
    [0, MIB],
    [GIB + 12345 * 4, 64 * 1024],
  ]);
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', src, `${dir}/src.qcow2`);
  sim = await startSimulator({ hosts: 1, timeScale: 0, xapiVersion: '25.27.0' });
  sid = await login(sim.url);
  vdiRef = await newVdi(sim, sid, 2 * GIB);
  const t = await put(sim, `/import_raw_vdi?session_id=${sid}&vdi=${vdiRef}&format=qcow2`, {
    file: `${dir}/src.qcow2`,
  });
  expect(taskOf(sim, t).status).toBe('success');
});
afterAll(async () => {
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const vdi = (ref: string) => sim.store.get('VDI', ref);

test('a 2 GiB disk with ~1 MiB of data costs a few MiB on the host and in physical_utilisation', () => {
  const file = sim.vdiContent(vdiRef);
  const st = fs.statSync(file);
  expect(st.size).toBe(2 * GIB);
  expect(st.blocks * 512).toBeLessThan(8 * MIB);
  expect(vdi(vdiRef).physical_utilisation).toBe(st.blocks * 512);
  expect(sameContent(file, 'raw', src)).toBe(true);
});

test('the SR accounts for what the import freed', async () => {
  const srRef = vdi(vdiRef).SR as string;
  const before = Number(sim.store.get('SR', srRef).physical_utilisation);
  const other = await newVdi(sim, sid, 2 * GIB); // thick until content arrives
  expect(Number(sim.store.get('SR', srRef).physical_utilisation)).toBe(before + 2 * GIB);
  await put(sim, `/import_raw_vdi?session_id=${sid}&vdi=${other}`, Buffer.from('tiny'));
  const phys = Number(vdi(other).physical_utilisation);
  expect(phys).toBeLessThan(MIB);
  expect(Number(sim.store.get('SR', srRef).physical_utilisation)).toBe(before + phys);
});

test.each(['VDI.copy', 'VDI.clone', 'VDI.snapshot'])('%s carries the content', async (message) => {
  const args = message === 'VDI.copy' ? [sid, vdiRef, vdi(vdiRef).SR] : [sid, vdiRef, {}];
  const ref = (await jsonOk(sim.url, message, args)) as string;
  const file = sim.vdiContent(ref);
  expect(file).not.toBe(sim.vdiContent(vdiRef));
  expect(sameContent(file, 'raw', src)).toBe(true);
  expect(fs.statSync(file).blocks * 512).toBeLessThan(8 * MIB);
  if (message === 'VDI.copy')
    expect(vdi(ref).physical_utilisation).toBe(fs.statSync(file).blocks * 512);
});

test('VDI.copy into an existing VDI replaces its content', async () => {
  const into = await newVdi(sim, sid, 2 * GIB);
  await put(sim, `/import_raw_vdi?session_id=${sid}&vdi=${into}`, Buffer.from('old bytes'));
  await jsonOk(sim.url, 'VDI.copy', [sid, vdiRef, 'OpaqueRef:NULL', 'OpaqueRef:NULL', into]);
  expect(sameContent(sim.vdiContent(into), 'raw', src)).toBe(true);
});

test('VDI.destroy deletes the content; close() removes the folder', async () => {
  const ref = (await jsonOk(sim.url, 'VDI.clone', [sid, vdiRef, {}])) as string;
  const file = sim.vdiContent(ref);
  expect(fs.existsSync(file)).toBe(true);
  await jsonOk(sim.url, 'VDI.destroy', [sid, ref]);
  expect(fs.existsSync(file)).toBe(false);
  const other = await startSimulator({ hosts: 1, timeScale: 0 });
  const [anyVdi] = [...other.store.all('VDI').keys()];
  const folder = path.dirname(other.vdiContent(anyVdi));
  expect(fs.existsSync(folder)).toBe(true);
  await other.close();
  expect(fs.existsSync(folder)).toBe(false);
});
