// The client commands against the real stack: `xcd templates`, `xcd host`, `xcd instances
// spawn|list|show|power-off|power-on|reboot|destroy`, in table and --json form, and errors as
// one line with exit code 1.
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];
let template: string;

beforeAll(async () => {
  stack = await startStack();
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
});
afterAll(async () => {
  await stack?.close();
});

test('xcd templates, networks and srs list the catalogue', async () => {
  const json = await xcd('templates', ...conn, '--json');
  expect(json.code).toBe(0);
  const items = JSON.parse(json.stdout) as Array<{ name_label: string }>;
  expect(items.length).toBeGreaterThan(0);
  template = items[0].name_label;
  const table = await xcd('templates', ...conn);
  expect(table.stdout.split('\n')[0]).toMatch(/^NAME_LABEL\s+UUID/);
  expect(table.stdout).toContain(template);
  expect((await xcd('networks', ...conn)).stdout).toMatch(/^NAME_LABEL\s+UUID\s+BRIDGE/);
  expect((await xcd('srs', ...conn, '--json')).code).toBe(0);
});

test('xcd host needs an admin token', async () => {
  const denied = await xcd('host', ...conn);
  expect(denied.code).toBe(1);
  expect(denied.stderr).toMatch(/^error: forbidden: /);
  const ok = await xcd('host', '--url', stack.url, '--token', stack.tokens.admin);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/hypervisor\s+xen \d+/);
  const json = JSON.parse(
    (await xcd('host', '--url', stack.url, '--token', stack.tokens.admin, '--json')).stdout,
  );
  expect(json.hypervisor_type).toBe('xen');
  // Each host's row carries its iSCSI initiator IQN.
  for (const h of json.hosts) expect(ok.stdout).toContain(`${h.uuid}`);
  expect(ok.stdout).toContain(json.hosts[0].iscsi_iqn);
});

test('xcd host disable and enable a host (admin), following the operation', async () => {
  const admin = ['--url', stack.url, '--token', stack.tokens.admin];
  const host = (await stack.request('GET', '/v1/host', { token: stack.tokens.admin })).body
    .hosts[1];
  const off = await xcd('host', 'disable', host.name, ...admin);
  expect([off.code, off.stdout]).toEqual([0, `host ${host.name}: disable done\n`]);
  const seen = (await stack.request('GET', '/v1/host', { token: stack.tokens.admin })).body.hosts;
  expect(seen.find((h: { uuid: string }) => h.uuid === host.uuid).enabled).toBe(false);
  const on = await xcd('host', 'enable', host.uuid, ...admin, '--json');
  expect(on.code).toBe(0);
  expect(JSON.parse(on.stdout)).toMatchObject({ kind: 'host-enable', status: 'succeeded' });
  const denied = await xcd('host', 'disable', host.name, ...conn);
  expect([denied.code, denied.stderr]).toEqual([1, expect.stringMatching(/^error: forbidden: /)]);
});

test('an instance through its life', async () => {
  const spawn = await xcd(
    'instances',
    'spawn',
    'cli-1',
    ...conn,
    '--template',
    template,
    '--vcpus',
    '2',
    '--memory-mb',
    '512',
  );
  expect(spawn).toMatchObject({ code: 0, stdout: 'spawned cli-1\n' });

  const list = await xcd('instances', 'list', ...conn);
  expect(list.stdout).toMatch(/^ID\s+NAME\s+STATE\s+POWER/);
  expect(list.stdout).toMatch(/cli-1\s+cli-1\s+active\s+running\s+2\s+512/);
  const listed = JSON.parse(
    (await xcd('instances', 'list', ...conn, '--power-state', 'running', '--json')).stdout,
  );
  expect(listed.items.map((i: { id: string }) => i.id)).toContain('cli-1');

  const show = JSON.parse((await xcd('instances', 'show', 'cli-1', ...conn, '--json')).stdout);
  expect(show).toMatchObject({ id: 'cli-1', vcpus: 2, memory_mb: 512, power_state: 'running' });
  expect((await xcd('instances', 'show', 'cli-1', ...conn)).stdout).toMatch(
    /power_state\s+running \(Running\)/,
  );

  expect((await xcd('instances', 'power-off', 'cli-1', ...conn, '--hard')).stdout).toBe(
    'powered off cli-1\n',
  );
  const again = await xcd('instances', 'power-off', 'cli-1', ...conn, '--hard');
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/invalid_power_state/);
  expect((await xcd('instances', 'power-on', 'cli-1', ...conn)).stdout).toBe('powered on cli-1\n');
  const reboot = JSON.parse(
    (await xcd('instances', 'reboot', 'cli-1', ...conn, '--hard', '--json')).stdout,
  );
  expect(reboot).toMatchObject({ kind: 'reboot', status: 'succeeded' });

  expect((await xcd('instances', 'destroy', 'cli-1', ...conn)).stdout).toBe('destroyed cli-1\n');
  expect((await xcd('instances', 'destroy', 'cli-1', ...conn)).stdout).toBe(
    'destroyed cli-1 (nothing to do)\n',
  );
  const gone = await xcd('instances', 'show', 'cli-1', ...conn, '--json');
  expect(gone.code).toBe(1);
  expect(JSON.parse(gone.stdout)).toMatchObject({ status: 404, code: 'instance_not_found' });
});

test('--no-wait returns the running operation', async () => {
  const res = await xcd(
    'instances',
    'spawn',
    'cli-2',
    ...conn,
    '--template',
    template,
    '--no-power-on',
    '--no-wait',
    '--json',
  );
  const op = JSON.parse(res.stdout);
  expect(op).toMatchObject({ kind: 'spawn', instance_id: 'cli-2' });
  await stack.request('GET', `/v1/operations/${encodeURIComponent(op.id)}`, {
    headers: { prefer: 'wait=15' },
  });
  await stack.request('DELETE', '/v1/instances/cli-2', { headers: { prefer: 'wait=15' } });
});

test('a service that cannot be reached is one line and exit 1', async () => {
  const res = await xcd('instances', 'list', '--url', 'http://127.0.0.1:9', '--token', 'x');
  expect(res.code).toBe(1);
  expect(res.stderr).toMatch(/^error: cannot reach the service/);
});
