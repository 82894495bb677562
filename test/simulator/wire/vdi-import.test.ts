// PUT /import_raw_vdi as xapi's import_raw_vdi.ml: raw, VHD (dynamic and fixed) and qcow2 (v2
// and v3) images made by qemu-img land in the VDI byte for byte; corrupt input and images larger
// than the VDI fail the task with VDI_IO_ERROR; qcow2 exists only from xapi 25.27.0; xapi's own
// `chunked` framing is taken for raw and an HTTP Transfer-Encoding is refused; the task (given by
// task_id or made for the call) moves and ends with the VDI ref.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { jsonOk, login } from '../rpc';
import {
  MIB,
  newVdi,
  put,
  qemuImg,
  rawWithData,
  sameContent,
  taskOf,
  userSr,
  type Transfer,
} from './vdi-helpers';

const SIZE = 16 * MIB;
let dir: string;
let src: string; // the raw source every image is made from
let sim: SimulatorHandle;
let sid: string;

const importPath = (vdiRef: string, query = ''): string =>
  `/import_raw_vdi?session_id=${sid}&vdi=${vdiRef}${query}`;

/** The task's outcome: [status, error_info]. */
function outcome(t: Transfer): [unknown, unknown] {
  const task = taskOf(sim, t);
  return [task.status, task.error_info];
}

const IO_ERROR = ['failure', ['VDI_IO_ERROR', 'Device I/O errors']];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-vdi-import-'));
  src = path.join(dir, 'src.raw');
  // data at the start, across a 2 MiB boundary, and in the last sector
  rawWithData(src, SIZE, [
    [0, 4096],
    [3 * MIB - 512, 1 * MIB + 1024],
    [SIZE - 512, 512],
  ]);
  qemuImg(
    'convert',
    '-f',
    'raw',
    '-O',
    'vpc',
    '-o',
    'subformat=dynamic,force_size=on',
    src,
    `${dir}/dyn.vhd`,
  );
  qemuImg(
    'convert',
    '-f',
    'raw',
    '-O',
    'vpc',
    '-o',
    'subformat=fixed,force_size=on',
    src,
    `${dir}/fixed.vhd`,
  );
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=1.1', src, `${dir}/v3.qcow2`);
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=0.10', src, `${dir}/v2.qcow2`);
  sim = await startSimulator({ hosts: 1, timeScale: 0, xapiVersion: '25.27.0' });
  sid = await login(sim.url);
});
afterAll(async () => {
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('round trips: the VDI holds the image content', () => {
  it.each([
    ['raw', 'src.raw'],
    ['vhd', 'dyn.vhd'],
    ['vhd', 'fixed.vhd'],
    ['qcow2', 'v3.qcow2'],
    ['qcow2', 'v2.qcow2'],
  ])('format=%s from %s', async (format, file) => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await put(sim, importPath(vdiRef, `&format=${format}`), {
      file: path.join(dir, file),
    });
    expect(t.status).toBe(200);
    expect(outcome(t)).toEqual(['success', []]);
    expect(taskOf(sim, t).result).toBe(`<value>${vdiRef}</value>`);
    expect(sameContent(sim.vdiContent(vdiRef), 'raw', src)).toBe(true);
  });

  it('a VHD whose geometry rounds its size above the VDI imports when nothing lies beyond', async () => {
    // qemu-img without force_size declares the CHS size: 16 MiB becomes 16,781,312 bytes
    const chs = path.join(dir, 'chs.vhd');
    qemuImg('convert', '-f', 'raw', '-O', 'vpc', src, chs);
    const declared = JSON.parse(qemuImg('info', '--output=json', chs))['virtual-size'];
    expect(declared).toBeGreaterThan(SIZE);
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await put(sim, importPath(vdiRef, '&format=vhd'), { file: chs });
    expect(outcome(t)).toEqual(['success', []]);
    expect(sameContent(sim.vdiContent(vdiRef), 'raw', src)).toBe(true);
  });

  it('the format name is case-insensitive and raw is the default', async () => {
    const a = await newVdi(sim, sid, SIZE);
    const b = await newVdi(sim, sid, SIZE);
    await put(sim, importPath(a, '&format=VHD'), { file: `${dir}/dyn.vhd` });
    await put(sim, importPath(b), { file: src });
    expect(sameContent(sim.vdiContent(a), 'raw', src)).toBe(true);
    expect(sameContent(sim.vdiContent(b), 'raw', src)).toBe(true);
  });
});

describe('corrupt input fails the task with VDI_IO_ERROR (vhd-tool / qcow-stream-tool exit)', () => {
  const corrupt = (name: string, from: string, edit: (b: Buffer) => Buffer): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, edit(fs.readFileSync(path.join(dir, from))));
    return file;
  };

  it.each([
    [
      'a truncated VHD',
      'vhd',
      () => corrupt('trunc.vhd', 'dyn.vhd', (b) => b.subarray(0, b.length - 700_000)),
    ],
    [
      'a VHD footer with a bad checksum',
      'vhd',
      () =>
        corrupt('sum.vhd', 'dyn.vhd', (b) => {
          b[64] ^= 0xff;
          return b;
        }),
    ],
    [
      'a BAT entry beyond the file',
      'vhd',
      () =>
        corrupt('bat.vhd', 'dyn.vhd', (b) => {
          const tableAt = Number(b.readBigUInt64BE(512 + 16));
          b.writeUInt32BE(0x00ffffff, tableAt); // block 0 at sector 16M-1
          return b;
        }),
    ],
    [
      'qcow2 with a bad magic',
      'qcow2',
      () =>
        corrupt('magic.qcow2', 'v3.qcow2', (b) => {
          b.write('QFX', 0, 'latin1');
          return b;
        }),
    ],
    [
      'qcow2 with its L1 table out of range',
      'qcow2',
      () =>
        corrupt('l1.qcow2', 'v3.qcow2', (b) => {
          b.writeBigUInt64BE(BigInt(b.length + 65536 * 16), 40);
          return b;
        }),
    ],
    ['raw bytes sent as vhd', 'vhd', () => src],
  ])('%s', async (_what, format, make) => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await put(sim, importPath(vdiRef, `&format=${format}`), { file: make() });
    expect(t.status).toBe(200); // xapi answers before it reads the body
    expect(outcome(t)).toEqual(IO_ERROR);
  });

  it.each([
    ['raw', 'src.raw'],
    ['vhd', 'dyn.vhd'],
    ['qcow2', 'v3.qcow2'],
  ])('a %s image larger than the VDI', async (format, file) => {
    const vdiRef = await newVdi(sim, sid, SIZE / 2);
    const t = await put(sim, importPath(vdiRef, `&format=${format}`), {
      file: path.join(dir, file),
    });
    expect(outcome(t)).toEqual(IO_ERROR);
  });
});

describe('formats by xapi version', () => {
  it('qcow2 is an unknown format before 25.27.0: 404 and INTERNAL_ERROR on the task', async () => {
    const old = await startSimulator({ hosts: 1, timeScale: 0, xapiVersion: '25.26.9' });
    try {
      const oldSid = await login(old.url);
      const [hostRef] = [...old.store.all('host').keys()];
      expect(old.store.get('host', hostRef).software_version).toMatchObject({
        xapi: '25.26',
        xapi_build: '25.26.9',
      });
      const vdiRef = await newVdi(old, oldSid, SIZE);
      const t = await put(old, `/import_raw_vdi?session_id=${oldSid}&vdi=${vdiRef}&format=qcow2`, {
        file: `${dir}/v3.qcow2`,
      });
      expect(t.status).toBe(404);
      const task = old.store.get('task', t.headers['task-id'] as string);
      expect([task.status, task.error_info]).toEqual([
        'failure',
        ['INTERNAL_ERROR', 'Unknown format qcow2'],
      ]);
      const vhd = await put(old, `/import_raw_vdi?session_id=${oldSid}&vdi=${vdiRef}&format=vhd`, {
        file: `${dir}/dyn.vhd`,
      });
      expect(old.store.get('task', vhd.headers['task-id'] as string).status).toBe('success');
    } finally {
      await old.close();
    }
  });

  it('a format xapi does not know is 404 on any version', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await put(sim, importPath(vdiRef, '&format=vmdk'), Buffer.alloc(512));
    expect(t.status).toBe(404);
    expect(outcome(t)).toEqual(['failure', ['INTERNAL_ERROR', 'Unknown format vmdk']]);
  });
});

describe('chunked bodies', () => {
  /** xapi's framing: {offset u64 LE, len u32 LE} then data; {0, 0} ends it. */
  const frame = (offset: number, data: Buffer): Buffer => {
    const h = Buffer.alloc(12);
    h.writeBigUInt64LE(BigInt(offset));
    h.writeUInt32LE(data.length, 8);
    return Buffer.concat([h, data]);
  };

  it('?chunked takes xapi framing for raw, written at each chunk offset', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const body = Buffer.concat([
      frame(5 * MIB, Buffer.from('later chunk')),
      frame(100, Buffer.from('first chunk')),
      Buffer.alloc(12),
    ]);
    const t = await put(sim, importPath(vdiRef, '&chunked=true'), body);
    expect(outcome(t)).toEqual(['success', []]);
    const content = fs.readFileSync(sim.vdiContent(vdiRef));
    expect(content.toString('latin1', 100, 111)).toBe('first chunk');
    expect(content.toString('latin1', 5 * MIB, 5 * MIB + 11)).toBe('later chunk');
  });

  it('?chunked without the final empty chunk is an I/O error', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await put(sim, importPath(vdiRef, '&chunked'), frame(0, Buffer.from('x')));
    expect(outcome(t)).toEqual(IO_ERROR);
  });

  it('?chunked with vhd is refused: 404, "Cannot handle chunked VHD"', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await put(sim, importPath(vdiRef, '&format=vhd&chunked'), Buffer.alloc(512));
    expect(t.status).toBe(404);
    expect(outcome(t)).toEqual(['failure', ['INTERNAL_ERROR', 'Cannot handle chunked VHD']]);
  });

  it('an HTTP chunked Transfer-Encoding is refused as xapi does: 404 and the task fails', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await new Promise<Transfer>((resolve, reject) => {
      const u = new URL(sim.url);
      const req = http.request(
        { host: u.hostname, port: u.port, method: 'PUT', path: importPath(vdiRef), agent: false },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) }),
          );
        },
      );
      req.on('error', reject);
      req.write('part one, ');
      req.end('part two'); // no Content-Length: Node sends Transfer-Encoding: chunked
    });
    expect(t.status).toBe(404);
    expect(outcome(t)).toEqual(['failure', ['INTERNAL_ERROR', 'Cannot handle encoding: chunked']]);
  });
});

describe('task_id', () => {
  it('the given task moves while the body arrives and ends with the VDI ref', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const taskRef = (await jsonOk(sim.url, 'task.create', [sid, 'upload', ''])) as string;
    const body = fs.readFileSync(src);
    const progress: number[] = [];
    const t = await new Promise<Transfer>((resolve, reject) => {
      const u = new URL(sim.url);
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: 'PUT',
          path: importPath(vdiRef, `&task_id=${taskRef}`),
          agent: false,
          headers: { 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) }),
          );
        },
      );
      req.on('error', reject);
      // half the body, then wait until the simulator has taken it in, then the rest
      req.write(body.subarray(0, body.length / 2), () => {
        const poll = (): void => {
          const p = Number(sim.store.get('task', taskRef).progress);
          if (p > 0) {
            progress.push(p, Number(sim.store.get('task', taskRef).status === 'pending'));
            req.end(body.subarray(body.length / 2));
          } else setTimeout(poll, 5);
        };
        poll();
      });
    });
    expect(t.headers['task-id']).toBe(taskRef);
    expect(progress[0]).toBeGreaterThan(0);
    expect(progress[0]).toBeLessThan(1);
    expect(progress[1]).toBe(1); // still pending half way
    const task = sim.store.get('task', taskRef);
    expect([task.status, task.progress, task.result]).toEqual([
      'success',
      1,
      `<value>${vdiRef}</value>`,
    ]);
  });

  it('without task_id a task is made and named in the task-id header', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const t = await put(sim, importPath(vdiRef), Buffer.from('abc'));
    expect(t.headers['task-id']).toMatch(/^OpaqueRef:/);
    expect(taskOf(sim, t).name_label).toBe('Importing raw VDI');
  });
});

describe('without vdi=: a new VDI in the SR, raw only', () => {
  it('sr_id with a raw body makes "Imported VDI" of the body\'s length', async () => {
    const srRef = userSr(sim, MIB);
    const t = await put(
      sim,
      `/import_raw_vdi?session_id=${sid}&sr_id=${srRef}`,
      Buffer.from('new disk'),
    );
    expect(outcome(t)).toEqual(['success', []]);
    const vdiRef = /<value>(.*)<\/value>/.exec(taskOf(sim, t).result as string)![1];
    const rec = sim.store.get('VDI', vdiRef);
    expect([rec.name_label, rec.virtual_size, rec.SR]).toEqual(['Imported VDI', 8, srRef]);
    expect(fs.readFileSync(sim.vdiContent(vdiRef)).toString()).toBe('new disk');
  });

  it.each([
    ['vhd', 'Importing a VHD directly into an SR not yet supported'],
    ['qcow2', 'Importing a QCOW2 directly into an SR not yet supported'],
  ])('sr_uuid with format=%s is 400', async (format, message) => {
    const srUuid = sim.store.get('SR', userSr(sim, MIB)).uuid as string;
    const t = await put(
      sim,
      `/import_raw_vdi?session_id=${sid}&sr_uuid=${srUuid}&format=${format}`,
      Buffer.alloc(512),
    );
    expect(t.status).toBe(400);
    expect(outcome(t)).toEqual(['failure', ['INTERNAL_ERROR', message]]);
  });

  it('neither vdi nor SR is 400 with VDI_MISSING on the task', async () => {
    const t = await put(sim, `/import_raw_vdi?session_id=${sid}`, Buffer.alloc(512));
    expect(t.status).toBe(400);
    expect(outcome(t)).toEqual(['failure', ['VDI_MISSING']]);
  });
});

describe('an import that does not finish', () => {
  /** Start a PUT of `length` bytes, send `first`, and wait until the task has seen it. */
  async function started(vdiRef: string, taskRef: string, length: number, first: Buffer) {
    const u = new URL(sim.url);
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method: 'PUT',
      path: importPath(vdiRef, `&task_id=${taskRef}`),
      agent: false,
      headers: { 'content-length': length },
    });
    const response = new Promise<number>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
    });
    req.write(first);
    while (Number(sim.store.get('task', taskRef).progress) === 0)
      await new Promise((r) => setTimeout(r, 5));
    return { req, response };
  }

  async function settled(taskRef: string) {
    while (['pending', 'cancelling'].includes(sim.store.get('task', taskRef).status as string))
      await new Promise((r) => setTimeout(r, 5));
    return sim.store.get('task', taskRef);
  }

  it('a client gone mid-body fails the task with VDI_IO_ERROR', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const taskRef = (await jsonOk(sim.url, 'task.create', [sid, 'upload', ''])) as string;
    const { req } = await started(vdiRef, taskRef, MIB, Buffer.alloc(64 * 1024, 1));
    req.destroy();
    const task = await settled(taskRef);
    expect([task.status, task.error_info]).toEqual(IO_ERROR);
  });

  it('task.cancel stops the import: the task ends cancelled', async () => {
    const vdiRef = await newVdi(sim, sid, SIZE);
    const taskRef = (await jsonOk(sim.url, 'task.create', [sid, 'upload', ''])) as string;
    const { req, response } = await started(vdiRef, taskRef, 2 * 1024, Buffer.alloc(1024, 1));
    await jsonOk(sim.url, 'task.cancel', [sid, taskRef]);
    req.end(Buffer.alloc(1024, 2));
    expect(await response).toBe(200);
    const task = await settled(taskRef);
    expect([task.status, task.error_info]).toEqual(['cancelled', ['TASK_CANCELLED', taskRef]]);
  });
});

describe('faults armed for /import_raw_vdi', () => {
  afterEach(() => sim.faults.clear());

  it('fail: the task ends with the error once the body is in; the next import works', async () => {
    sim.faults.add('fail:/import_raw_vdi:1:SR_FULL,10,5');
    const vdiRef = await newVdi(sim, sid, SIZE);
    const failed = await put(sim, importPath(vdiRef), Buffer.from('abc'));
    expect(failed.status).toBe(200);
    expect(outcome(failed)).toEqual(['failure', ['SR_FULL', '10', '5']]);
    const ok = await put(sim, importPath(vdiRef), Buffer.from('abc'));
    expect(outcome(ok)).toEqual(['success', []]);
  });

  it('drop: the connection is cut half way and the task fails with VDI_IO_ERROR', async () => {
    sim.faults.add('drop:/import_raw_vdi');
    const vdiRef = await newVdi(sim, sid, SIZE);
    const taskRef = (await jsonOk(sim.url, 'task.create', [sid, 'upload', ''])) as string;
    // the client sees the connection close under its upload (an error, or a close-delimited end)
    await put(sim, importPath(vdiRef, `&task_id=${taskRef}`), { file: src }).catch(() => undefined);
    while (sim.store.get('task', taskRef).status === 'pending')
      await new Promise((r) => setTimeout(r, 5));
    expect(sim.store.get('task', taskRef).error_info).toEqual([
      'VDI_IO_ERROR',
      'Device I/O errors',
    ]);
  });

  it('a * fault never touches the transfers', async () => {
    sim.faults.add('fail:*:*:INTERNAL_ERROR');
    const vdiRef = [...sim.store.all('VDI').keys()].find(
      (r) => Number(sim.store.get('VDI', r).virtual_size) === SIZE,
    )!;
    const t = await put(sim, importPath(vdiRef), Buffer.from('abc'));
    expect(outcome(t)).toEqual(['success', []]);
  });
});
