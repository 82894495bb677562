// GET /export_raw_vdi as xapi's export_raw_vdi.ml: raw, VHD and qcow2 exports of content imported
// from qemu-img images, checked with qemu-img info and compare, with xapi's headers and a
// Content-Length equal to the bytes sent; base= gives a delta that rebuilds the disk on a clone
// of the base; a never-written VDI exports as zeros; unknown formats are 404 and a VHD beyond
// 2040 GiB fails the task with VDI_TOO_LARGE; the task ends in success.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { jsonOk, login } from '../rpc';
import {
  MIB,
  getToFile,
  newVdi,
  put,
  qemuImg,
  rawWithData,
  sameContent,
  taskOf,
  userSr,
  vdiFields,
} from './vdi-helpers';

const SIZE = 20 * MIB + 512 * 3; // not a whole number of blocks
let dir: string;
let src: string;
let sim: SimulatorHandle;
let sid: string;
let vdiRef: string;

const exportPath = (ref: string, query = ''): string =>
  `/export_raw_vdi?session_id=${sid}&vdi=${ref}${query}`;

const QEMU_FORMAT = { raw: 'raw', vhd: 'vpc', qcow2: 'qcow2' } as const;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-vdi-export-'));
  src = path.join(dir, 'src.raw');
  rawWithData(src, SIZE, [
    [0, 65536],
    [7 * MIB + 4096, 3 * MIB],
    [SIZE - 1024, 1024],
  ]);
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', src, `${dir}/src.qcow2`);
  sim = await startSimulator({ hosts: 1, timeScale: 0, xapiVersion: '25.27.0' });
  sid = await login(sim.url);
  vdiRef = await newVdi(sim, sid, SIZE);
  const t = await put(sim, `/import_raw_vdi?session_id=${sid}&vdi=${vdiRef}&format=qcow2`, {
    file: `${dir}/src.qcow2`,
  });
  expect(taskOf(sim, t).status).toBe('success');
});
afterAll(async () => {
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it.each(['raw', 'vhd', 'qcow2'] as const)(
  'format=%s: qemu-img reads the export as the imported disk',
  async (format) => {
    const file = path.join(dir, `out.${format}`);
    const got = await getToFile(sim, exportPath(vdiRef, `&format=${format}`), file);
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe(String(got.size));
    const uuid = sim.store.get('VDI', vdiRef).uuid as string;
    expect(got.headers['content-type']).toBe(
      { raw: 'application/octet-stream', vhd: 'application/vhd', qcow2: 'application/x-qemu-disk' }[
        format
      ],
    );
    expect(got.headers['content-disposition']).toBe(`attachment; filename="${uuid}.${format}"`);
    const task = taskOf(sim, got);
    expect([task.status, task.progress, task.name_label]).toEqual([
      'success',
      1,
      'Exporting raw VDI',
    ]);
    const info = JSON.parse(qemuImg('info', '--output=json', '-f', QEMU_FORMAT[format], file));
    expect(info['virtual-size']).toBe(SIZE);
    if (format === 'qcow2') qemuImg('check', file);
    expect(sameContent(file, QEMU_FORMAT[format], src)).toBe(true);
    // sparse formats carry the written blocks only
    if (format !== 'raw') expect(got.size).toBeLessThan(11 * MIB); // 5 blocks of 2 MiB and metadata
  },
);

it('a VDI never written exports as zeros of its virtual size', async () => {
  const empty = await newVdi(sim, sid, 3 * MIB);
  const file = path.join(dir, 'empty.vhd');
  const got = await getToFile(sim, exportPath(empty, '&format=vhd'), file);
  expect(got.status).toBe(200);
  const zeros = path.join(dir, 'zeros.raw');
  fs.writeFileSync(zeros, Buffer.alloc(3 * MIB));
  expect(sameContent(file, 'vpc', zeros)).toBe(true);
});

it.each(['vhd', 'qcow2'] as const)(
  'base= (%s): the delta holds the changed blocks and rebuilds the disk on a clone of the base',
  async (format) => {
    const child = (await jsonOk(sim.url, 'VDI.clone', [sid, vdiRef, {}])) as string;
    // change one block of the clone
    const patch = Buffer.alloc(4096, 0x5a);
    const t = await put(
      sim,
      `/import_raw_vdi?session_id=${sid}&vdi=${child}&chunked`,
      Buffer.concat([
        Buffer.from([0, 0, 0x20, 1, 0, 0, 0, 0, 0, 0x10, 0, 0]), // offset 0x1200000 (18 MiB), 4096
        patch,
        Buffer.alloc(12),
      ]),
    );
    expect(taskOf(sim, t).status).toBe('success');
    const delta = path.join(dir, `delta.${format}`);
    const got = await getToFile(sim, exportPath(child, `&format=${format}&base=${vdiRef}`), delta);
    expect(got.status).toBe(200);
    expect(got.size).toBeLessThan(3 * MIB); // one block, not the disk
    // apply it onto another clone of the base
    const target = (await jsonOk(sim.url, 'VDI.clone', [sid, vdiRef, {}])) as string;
    const applied = await put(
      sim,
      `/import_raw_vdi?session_id=${sid}&vdi=${target}&format=${format}`,
      { file: delta },
    );
    expect(taskOf(sim, applied).status).toBe('success');
    const want = fs.readFileSync(src);
    patch.copy(want, 18 * MIB);
    const wantFile = path.join(dir, `want-${format}.raw`);
    fs.writeFileSync(wantFile, want);
    expect(sameContent(sim.vdiContent(target), 'raw', wantFile)).toBe(true);
    expect(sameContent(sim.vdiContent(target), 'raw', src)).toBe(false);
  },
);

it('an unknown format is 404 with INTERNAL_ERROR on the task', async () => {
  const got = await getToFile(sim, exportPath(vdiRef, '&format=vmdk'), path.join(dir, 'x'));
  expect(got.status).toBe(404);
  const task = taskOf(sim, got);
  expect([task.status, task.error_info]).toEqual([
    'failure',
    ['INTERNAL_ERROR', 'Unknown format vmdk'],
  ]);
});

it('qcow2 before xapi 25.27.0 is an unknown format', async () => {
  const old = await startSimulator({ hosts: 1, timeScale: 0 });
  try {
    const oldSid = await login(old.url);
    const ref = [...old.store.all('VDI').keys()][0];
    const got = await getToFile(
      old,
      `/export_raw_vdi?session_id=${oldSid}&vdi=${ref}&format=qcow2`,
      path.join(dir, 'old'),
    );
    expect(got.status).toBe(404);
    expect(old.store.get('task', got.headers['task-id'] as string).error_info).toEqual([
      'INTERNAL_ERROR',
      'Unknown format qcow2',
    ]);
  } finally {
    await old.close();
  }
});

it('a VHD export above 2040 GiB fails the task with VDI_TOO_LARGE after the 200', async () => {
  const size = 2041 * 1024 * MIB;
  const sr = userSr(sim, 0);
  sim.store.update('SR', sr, { physical_size: 1024 * 1024 * 1024 * MIB });
  const big = (await jsonOk(sim.url, 'VDI.create', [sid, vdiFields(sr, size)])) as string;
  const got = await getToFile(sim, exportPath(big, '&format=vhd'), path.join(dir, 'big'));
  expect(got.status).toBe(200);
  expect(got.size).toBe(0);
  expect(taskOf(sim, got).error_info).toEqual(['VDI_TOO_LARGE', big, String(2040 * 1024 * MIB)]);
});

it('task_id: the given task reports the export', async () => {
  const taskRef = (await jsonOk(sim.url, 'task.create', [sid, 'download', ''])) as string;
  const got = await getToFile(
    sim,
    exportPath(vdiRef, `&format=qcow2&task_id=${taskRef}`),
    path.join(dir, 'tasked.qcow2'),
  );
  expect(got.headers['task-id']).toBe(taskRef);
  const task = sim.store.get('task', taskRef);
  expect([task.status, task.progress]).toEqual(['success', 1]);
});

it('a client gone mid-export fails the task with VDI_IO_ERROR', async () => {
  const taskRef = (await jsonOk(sim.url, 'task.create', [sid, 'download', ''])) as string;
  await new Promise<void>((resolve, reject) => {
    http
      .get(`${sim.url}${exportPath(vdiRef, `&task_id=${taskRef}`)}`, { agent: false }, (res) => {
        res.once('data', () => {
          res.destroy();
          resolve();
        });
      })
      .on('error', reject);
  });
  while (sim.store.get('task', taskRef).status === 'pending')
    await new Promise((r) => setTimeout(r, 5));
  expect(sim.store.get('task', taskRef).error_info).toEqual(['VDI_IO_ERROR', 'Device I/O errors']);
});

it('faults armed for /export_raw_vdi: drop cuts the body half way, fail ends the task', async () => {
  sim.faults.add('drop:/export_raw_vdi');
  const taskRef = (await jsonOk(sim.url, 'task.create', [sid, 'download', ''])) as string;
  const cut = await new Promise<{ length: number; received: number }>((resolve, reject) => {
    http
      .get(`${sim.url}${exportPath(vdiRef, `&task_id=${taskRef}`)}`, { agent: false }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('close', () => resolve({ length: Number(res.headers['content-length']), received }));
      })
      .on('error', reject);
  });
  expect(cut.received).toBeLessThan(cut.length);
  while (sim.store.get('task', taskRef).status === 'pending')
    await new Promise((r) => setTimeout(r, 5));
  expect(sim.store.get('task', taskRef).error_info).toEqual(['VDI_IO_ERROR', 'Device I/O errors']);
  sim.faults.add('fail:/export_raw_vdi:1:VDI_IO_ERROR,injected');
  const got = await getToFile(sim, exportPath(vdiRef, '&format=vhd'), path.join(dir, 'failed'));
  expect([got.status, got.size]).toEqual([200, 0]);
  expect(taskOf(sim, got).error_info).toEqual(['VDI_IO_ERROR', 'injected']);
  const again = await getToFile(sim, exportPath(vdiRef, '&format=vhd'), path.join(dir, 'again'));
  expect(taskOf(sim, again).status).toBe('success');
});
