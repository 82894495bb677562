// `xcd images upload|list|show|download|publish|delete|import` and `xcd instances spawn --image`
// against the real stack: a qcow2 file made with qemu-img goes up, comes back raw with the same
// content, spawns an instance; an import from a URL off the allow-list is refused.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];
let dir: string;

beforeAll(async () => {
  stack = await startStack({ sim: { xapiVersion: '25.27.0' } });
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
  dir = mkdtempSync(join(tmpdir(), 'xcd-cli-images-'));
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('upload, list, show, download, spawn --image, delete', async () => {
  const raw = join(dir, 'disk.raw');
  const bytes = Buffer.alloc(4 * 1024 * 1024);
  randomBytes(512 * 1024).copy(bytes, 1024 * 1024);
  writeFileSync(raw, bytes);
  const qcow = join(dir, 'disk.qcow2');
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow]);

  const up = await xcd('images', 'upload', 'cli-img', qcow, ...conn, '--name', 'CLI image');
  expect([up.code, up.stdout.trim(), up.stderr]).toEqual([0, 'image cli-img uploaded', '']);

  const list = await xcd('images', 'list', ...conn, '--json');
  expect(JSON.parse(list.stdout)).toEqual([
    expect.objectContaining({
      id: 'cli-img',
      name: 'CLI image',
      format: 'qcow2',
      status: 'active',
    }),
  ]);
  const show = await xcd('images', 'show', 'cli-img', ...conn);
  expect(JSON.parse(show.stdout)).toMatchObject({ id: 'cli-img', virtual_size: bytes.length });

  const out = join(dir, 'back.raw');
  const down = await xcd('images', 'download', 'cli-img', out, ...conn);
  expect(down.code).toBe(0);
  expect(readFileSync(out).equals(bytes)).toBe(true);

  const spawned = await xcd(
    'instances',
    'spawn',
    'cli-from-img',
    ...conn,
    '--image',
    'cli-img',
    '--no-power-on',
  );
  expect([spawned.code, spawned.stderr]).toEqual([0, '']);

  const del = await xcd('images', 'delete', 'cli-img', ...conn);
  expect([del.code, del.stdout.trim()]).toEqual([0, 'image cli-img deleted']);
  const gone = await xcd('images', 'show', 'cli-img', ...conn);
  expect([gone.code, gone.stderr]).toEqual([1, expect.stringMatching(/^error: image_not_found: /)]);
});

test('an import from a URL off the allow-list is refused', async () => {
  const r = await xcd(
    'images',
    'import',
    'from-url',
    '--service',
    stack.url,
    '--token',
    stack.tokens.operator,
    '--url',
    'http://169.254.169.254/disk.qcow2',
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: url_not_allowed: /);
});
