// `xcd disks add --image ID --persistent` against the real stack: the image itself attached,
// a second instance refused with image_in_use, `--persistent` without `--image` refused, and
// `xcd disks remove` giving the image back; `xcd instances spawn --image ID --persistent-image`
// booting from the image, released by `xcd instances destroy`.
import { randomBytes } from 'node:crypto';
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];

beforeAll(async () => {
  stack = await startStack();
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
  const template = JSON.parse((await xcd('templates', ...conn, '--json')).stdout)[0]
    .name_label as string;
  for (const id of ['cli-p1', 'cli-p2']) {
    const spawned = await xcd('instances', 'spawn', id, ...conn, '--template', template);
    expect([spawned.code, spawned.stderr]).toEqual([0, '']);
  }
  const up = await fetch(`${stack.url}/v1/images/cli-img?format=raw`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${stack.tokens.operator}`,
      'content-type': 'application/octet-stream',
      prefer: 'wait=30',
    },
    body: randomBytes(1024 * 1024),
  });
  expect(up.status).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});

test('xcd disks add --persistent attaches the image itself; remove gives it back', async () => {
  const added = await xcd(
    'disks',
    'add',
    'cli-p1',
    '4',
    '--image',
    'cli-img',
    '--persistent',
    ...conn,
  );
  expect([added.code, added.stdout.trim()]).toEqual([
    0,
    'added image cli-img (persistent) at device 4 of cli-p1',
  ]);
  const shown = JSON.parse((await xcd('images', 'show', 'cli-img', ...conn, '--json')).stdout);
  expect(shown).toMatchObject({ in_use_by: 'cli-p1' });
  const taken = await xcd(
    'disks',
    'add',
    'cli-p2',
    '4',
    '--image',
    'cli-img',
    '--persistent',
    ...conn,
  );
  expect(taken.code).toBe(1);
  expect(taken.stderr).toMatch(/^error: image_in_use: /);
  const bare = await xcd('disks', 'add', 'cli-p2', '4', '--persistent', ...conn);
  expect(bare.code).not.toBe(0);
  expect(bare.stderr).toMatch(/--persistent needs --image/);
  const removed = await xcd('disks', 'remove', 'cli-p1', '4', ...conn);
  expect([removed.code, removed.stdout.trim()]).toEqual([0, 'removed disk 4 of cli-p1']);
  const after = JSON.parse((await xcd('images', 'show', 'cli-img', ...conn, '--json')).stdout);
  expect(after.in_use_by).toBeUndefined();
  expect(after.status).toBe('active');
});

test('xcd instances spawn --image ID --persistent-image boots from the image itself', async () => {
  const spawned = await xcd(
    'instances',
    'spawn',
    'cli-p3',
    ...conn,
    '--image',
    'cli-img',
    '--persistent-image',
    '--json',
  );
  expect([spawned.code, spawned.stderr]).toEqual([0, '']);
  const shown = JSON.parse((await xcd('images', 'show', 'cli-img', ...conn, '--json')).stdout);
  expect(shown).toMatchObject({ in_use_by: 'cli-p3' });
  const again = await xcd('instances', 'spawn', 'cli-p4', ...conn, '--image', 'cli-img');
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/^error: image_in_use: /);
  const gone = await xcd('instances', 'destroy', 'cli-p3', ...conn);
  expect(gone.code).toBe(0);
  const after = JSON.parse((await xcd('images', 'show', 'cli-img', ...conn, '--json')).stdout);
  expect(after.in_use_by).toBeUndefined();
});
