// The client commands of one disk's snapshots against the real stack: `xcd disks snapshot`,
// `snapshots` (table and --json), `revert` and `delete-snapshot`, with the errors they print.
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];

beforeAll(async () => {
  stack = await startStack();
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
  const template = JSON.parse((await xcd('templates', ...conn, '--json')).stdout)[0]
    .name_label as string;
  const spawned = await xcd('instances', 'spawn', 'cli-s1', ...conn, '--template', template);
  expect([spawned.code, spawned.stderr]).toEqual([0, '']);
  const added = await xcd('disks', 'add', 'cli-s1', '4', '--size-gb', '1', ...conn);
  expect(added.code).toBe(0);
});
afterAll(async () => {
  await stack?.close();
});

test('xcd disks snapshot, snapshots, revert and delete-snapshot', async () => {
  const made = await xcd('disks', 'snapshot', 'cli-s1', '4', 's1', '--name', 'first', ...conn);
  expect([made.code, made.stdout.trim()]).toEqual([0, 'snapshot s1 of disk 4 of cli-s1']);
  const table = await xcd('disks', 'snapshots', 'cli-s1', '4', ...conn);
  expect(table.stdout).toMatch(/^ID\s+NAME\s+SIZE_GB\s+CREATED\n/);
  expect(table.stdout).toMatch(/\ns1\s+first\s+1\s+\d{4}-\d\d-\d\dT/);
  const listed = JSON.parse(
    (await xcd('disks', 'snapshots', 'cli-s1', '4', ...conn, '--json')).stdout,
  );
  expect(listed).toEqual([expect.objectContaining({ id: 's1', name: 'first', device: '4' })]);
  const reverted = await xcd('disks', 'revert', 'cli-s1', '4', 's1', ...conn);
  expect([reverted.code, reverted.stdout.trim()]).toEqual([
    0,
    'disk 4 of cli-s1 reverted to snapshot s1',
  ]);
  const deleted = await xcd('disks', 'delete-snapshot', 'cli-s1', '4', 's1', ...conn);
  expect([deleted.code, deleted.stdout.trim()]).toEqual([
    0,
    'snapshot s1 of disk 4 of cli-s1 deleted',
  ]);
  const again = await xcd('disks', 'delete-snapshot', 'cli-s1', '4', 's1', ...conn);
  expect([again.code, again.stdout.trim()]).toEqual([
    0,
    'snapshot s1 of disk 4 of cli-s1 deleted (nothing to do)',
  ]);
});

test('the errors they print', async () => {
  const none = await xcd('disks', 'revert', 'cli-s1', '4', 'nope', ...conn);
  expect([none.code, none.stderr]).toEqual([
    1,
    expect.stringMatching(/^error: snapshot_not_found: /),
  ]);
  const empty = await xcd('disks', 'snapshot', 'cli-s1', '9', 'x', ...conn);
  expect(empty.stderr).toMatch(/^error: operation_not_allowed: /);
  await xcd('disks', 'snapshot', 'cli-s1', '0', 'r', ...conn);
  const root = await xcd('disks', 'revert', 'cli-s1', '0', 'r', ...conn);
  expect(root.stderr).toMatch(/^error: invalid_power_state: /);
});
