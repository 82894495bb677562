// Image formats end to end: raw, VHD and qcow2 images made with qemu-img from the same real
// bytes, uploaded through the service and exported in each format the pool's xapi gives,
// compared by content (qemu-img compare). Run against a xapi with qcow2 import (25.27) and one
// without (24.19: the service converts with qemu-img). Also: a chunked body, a body cut short.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startStack, TOKENS, type Stack } from '../helpers/stack';

const MiB = 1024 * 1024;
let dir: string;
let rawFile: string;
const made: Record<string, string> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xcd-images-test-'));
  rawFile = join(dir, 'disk.raw');
  // 8 MiB, mostly zero (sparse in the image formats), with data in a few places.
  const raw = Buffer.alloc(8 * MiB);
  for (const at of [0, 3 * MiB + 512, 7 * MiB]) randomBytes(256 * 1024).copy(raw, at);
  writeFileSync(rawFile, raw);
  made.raw = rawFile;
  made.qcow2 = join(dir, 'disk.qcow2');
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', rawFile, made.qcow2]);
  made.vhd = join(dir, 'disk.vhd');
  execFileSync('qemu-img', [
    'convert',
    '-f',
    'raw',
    '-O',
    'vpc',
    '-o',
    'subformat=dynamic,force_size=on',
    rawFile,
    made.vhd,
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function upload(stack: Stack, id: string, file: string, format: string): Promise<any> {
  const res = await fetch(`${stack.url}/v1/images/${id}?format=${format}`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${TOKENS.operator}`,
      'content-type': 'application/octet-stream',
      prefer: 'wait=60',
    },
    body: readFileSync(file),
    signal: AbortSignal.timeout(60_000),
  });
  return res.json();
}

/** Downloads the image in `format` and compares its content with the original raw bytes. */
async function sameContent(stack: Stack, id: string, format: string): Promise<boolean> {
  const res = await fetch(`${stack.url}/v1/images/${id}/file?format=${format}`, {
    headers: { authorization: `Bearer ${TOKENS.operator}` },
  });
  expect(res.status).toBe(200);
  const out = join(dir, `${id}.out.${format}`);
  writeFileSync(out, Buffer.from(await res.arrayBuffer()));
  const qfmt = format === 'vhd' ? 'vpc' : format;
  try {
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', qfmt, rawFile, out], {
      stdio: 'pipe',
    });
    return true;
  } catch {
    return false;
  }
}

/** VDIs tagged for an image id once the mirror has caught up (a destroy shows a moment later). */
async function imageVdis(stack: Stack, id: string): Promise<number> {
  const count = (): number =>
    stack.xapi.mirror.query('VDI', {
      where: { 'other_config.xcd_image_id': id },
      fields: ['uuid'],
    }).length;
  const deadline = Date.now() + 5000;
  while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return count();
}

describe.each([
  ['25.27.0', ['raw', 'vhd', 'qcow2']],
  ['24.19.2', ['raw', 'vhd']],
])('on xapi %s', (xapiVersion, exports) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { xapiVersion } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  test.each(['raw', 'vhd', 'qcow2'])('a %s upload round-trips in every format', async (format) => {
    const id = `rt-${format}`;
    const op = await upload(stack, id, made[format], format);
    expect(op).toMatchObject({
      status: 'succeeded',
      result: { id, format, virtual_size: 8 * MiB, status: 'active' },
    });
    for (const out of exports)
      expect([out, await sameContent(stack, id, out)]).toEqual([out, true]);
    if (!exports.includes('qcow2')) {
      // That xapi has no qcow2 export: a clear refusal naming what it can give.
      const res = await stack.request('GET', `/v1/images/${id}/file?format=qcow2`);
      expect([res.status, res.body.code, res.body.formats]).toEqual([
        422,
        'format_not_supported',
        ['raw', 'vhd'],
      ]);
    }
  });

  test('a corrupt qcow2 fails invalid_image and leaves no VDI', async () => {
    const bad = join(dir, `bad-${xapiVersion}.qcow2`);
    const bytes = readFileSync(made.qcow2);
    bytes.writeBigUInt64BE(0xffff_ffff_0000n, 40); // the L1 table far beyond the file
    writeFileSync(bad, bytes);
    const op = await upload(stack, 'bad-qcow2', bad, 'qcow2');
    expect(op).toMatchObject({ status: 'failed', error: { code: 'invalid_image' } });
    expect(await imageVdis(stack, 'bad-qcow2')).toBe(0);
  });
});

describe('bodies', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { xapiVersion: '25.27.0' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('a chunked body (no Content-Length) is taken', async () => {
    const res = await fetch(`${stack.url}/v1/images/chunked?format=qcow2`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${TOKENS.operator}`,
        'content-type': 'application/octet-stream',
        prefer: 'wait=60',
      },
      body: Readable.toWeb(Readable.from([readFileSync(made.qcow2)])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(await res.json()).toMatchObject({ status: 'succeeded', result: { id: 'chunked' } });
    expect(await sameContent(stack, 'chunked', 'raw')).toBe(true);
  });

  test('a client gone mid-upload leaves nothing', async () => {
    const url = new URL(`${stack.url}/v1/images/cut?format=raw`);
    await new Promise<void>((resolve) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: `${url.pathname}${url.search}`,
        headers: {
          authorization: `Bearer ${TOKENS.operator}`,
          'content-type': 'application/octet-stream',
          'content-length': String(8 * MiB),
        },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(randomBytes(2 * MiB), () => setTimeout(() => req.destroy(), 200));
    });
    // The import fails once the body stops: its VDI is destroyed.
    expect(await imageVdis(stack, 'cut')).toBe(0);
    expect((await stack.request('GET', '/v1/images/cut')).status).toBe(404);
  });
});
