// The client commands of owned disks, VLAN NICs and service-made networks against the real
// stack: `xcd instances spawn --max-vcpus --max-memory-mb`, `xcd disks add|remove`, `xcd nics
// attach --vlan --port-id` and `xcd networks create` (admin), with the errors they print.
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];
let admin: string[];

beforeAll(async () => {
  stack = await startStack({ driver: { vlans: { device: 'eth1', min: 300, max: 399 } } });
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
  admin = ['--url', stack.url, '--token', stack.tokens.admin];
  const template = JSON.parse((await xcd('templates', ...conn, '--json')).stdout)[0]
    .name_label as string;
  const spawned = await xcd(
    'instances',
    'spawn',
    'cli-n1',
    ...conn,
    '--template',
    template,
    '--memory-mb',
    '256',
    '--max-memory-mb',
    '1024',
    '--max-vcpus',
    '4',
  );
  expect([spawned.code, spawned.stderr]).toEqual([0, '']);
});
afterAll(async () => {
  await stack?.close();
});

test('xcd instances spawn sets the maxima; show prints them', async () => {
  const shown = JSON.parse((await xcd('instances', 'show', 'cli-n1', ...conn, '--json')).stdout);
  expect(shown).toMatchObject({ memory_mb: 256, max_memory_mb: 1024, max_vcpus: 4 });
  const text = (await xcd('instances', 'show', 'cli-n1', ...conn)).stdout;
  expect(text).toMatch(/max_memory_mb\s+1024/);
  const live = await xcd('instances', 'resize', 'cli-n1', ...conn, '--memory-mb', '1024', '--json');
  expect(JSON.parse(live.stdout).result).toMatchObject({ memory_mb: 1024, max_memory_mb: 1024 });
  const above = await xcd('instances', 'resize', 'cli-n1', ...conn, '--max-vcpus', '8');
  expect(above.stderr).toMatch(/^error: power_cycle_required: /);
});

test('xcd disks add and remove', async () => {
  const added = await xcd('disks', 'add', 'cli-n1', '5', '--size-gb', '2', ...conn);
  expect([added.code, added.stdout.trim()]).toEqual([
    0,
    'added a 2 GiB disk at device 5 of cli-n1',
  ]);
  const again = await xcd('disks', 'add', 'cli-n1', '5', '--size-gb', '3', ...conn);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/^error: device_in_use: /);
  const inst = JSON.parse((await xcd('instances', 'show', 'cli-n1', ...conn, '--json')).stdout);
  expect(inst.disks).toContainEqual(expect.objectContaining({ device: '5', size_gb: 2 }));
  const removed = await xcd('disks', 'remove', 'cli-n1', '5', ...conn);
  expect([removed.code, removed.stdout.trim()]).toEqual([0, 'removed disk 5 of cli-n1']);
  const root = await xcd('disks', 'remove', 'cli-n1', '0', ...conn);
  expect(root.stderr).toMatch(/^error: operation_not_allowed: /);
});

test('xcd networks create (admin) and xcd nics attach --vlan --port-id', async () => {
  const made = await xcd('networks', 'create', 'tenant-x', '--vlan', '320', ...admin);
  expect([made.code, made.stdout]).toEqual([
    0,
    expect.stringMatching(/^network tenant-x \(.+\) carries VLAN 320\n$/),
  ]);
  const denied = await xcd('networks', 'create', 'tenant-y', '--vlan', '321', ...conn);
  expect(denied.stderr).toMatch(/^error: forbidden: /);
  const list = (await xcd('networks', ...conn)).stdout;
  expect(list).toMatch(/tenant-x\s+\S+\s+\S+\s+320\s+yes/);
  const nic = await xcd(
    'nics',
    'attach',
    'cli-n1',
    '--vlan',
    '320',
    '--port-id',
    'port-9',
    '--device',
    '3',
    ...conn,
  );
  expect([nic.code, nic.stdout.trim()]).toEqual([0, 'attached a NIC on VLAN 320 to cli-n1']);
  const nics = (await xcd('nics', 'list', 'cli-n1', ...conn)).stdout;
  expect(nics).toMatch(/^3\s+\S+\s+tenant-x\s+yes\s+port-9$/m);
  const far = await xcd('nics', 'attach', 'cli-n1', '--vlan', '100', ...conn);
  expect(far.stderr).toMatch(/^error: vlan_not_allowed: /);
  const both = await xcd('nics', 'attach', 'cli-n1', 'xenbr0', '--vlan', '320', ...conn);
  expect([both.code, both.stderr]).toEqual([1, expect.stringMatching(/one of them/)]);
});
