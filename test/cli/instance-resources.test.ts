// The client commands of an instance's resources against the real stack: `xcd instances pause|unpause|suspend|
// resume|resize|migrate|console|diagnostics`, `xcd snapshots create|list|show|revert|delete`,
// `xcd volumes attach|list|detach`, `xcd nics attach|list|detach` and `xcd events --count`.
import { startStack, type Stack } from '../helpers/stack';
import { xcd } from './run';

let stack: Stack;
let conn: string[];

beforeAll(async () => {
  stack = await startStack();
  conn = ['--url', stack.url, '--token', stack.tokens.operator];
  const template = JSON.parse((await xcd('templates', ...conn, '--json')).stdout)[0]
    .name_label as string;
  const spawned = await xcd(
    'instances',
    'spawn',
    'cli-d1',
    ...conn,
    '--template',
    template,
    '--memory-mb',
    '256',
  );
  expect(spawned.code).toBe(0);
});
afterAll(async () => {
  await stack?.close();
});

test('xcd instances pause, unpause, suspend, resume, resize, migrate', async () => {
  for (const [cmd, word] of [
    ['pause', 'paused'],
    ['unpause', 'unpaused'],
    ['suspend', 'suspended'],
    ['resume', 'resumed'],
  ]) {
    const r = await xcd('instances', cmd, 'cli-d1', ...conn);
    expect([cmd, r.code, r.stdout.trim()]).toEqual([cmd, 0, `${word} cli-d1`]);
  }
  const refused = await xcd('instances', 'resume', 'cli-d1', ...conn);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^error: invalid_power_state: /);
  const resized = await xcd(
    'instances',
    'resize',
    'cli-d1',
    ...conn,
    '--vcpus',
    '2',
    '--memory-mb',
    '512',
    '--power-cycle',
    'hard',
    '--json',
  );
  expect(resized.code).toBe(0);
  expect(JSON.parse(resized.stdout)).toMatchObject({
    status: 'succeeded',
    result: { vcpus: 2, memory_mb: 512 },
  });
  const migrated = await xcd('instances', 'migrate', 'cli-d1', ...conn);
  expect([migrated.code, migrated.stdout.trim()]).toEqual([0, 'migrated cli-d1']);
});

test('xcd instances console and diagnostics', async () => {
  // XAPI's own form carries the service's XAPI session: admin tokens only.
  const admin = ['--url', stack.url, '--token', stack.tokens.admin];
  const refused = await xcd('instances', 'console', 'cli-d1', ...conn, '--xapi', '--json');
  expect([refused.code, refused.stdout + refused.stderr]).toEqual([
    1,
    expect.stringMatching(/forbidden/),
  ]);
  const c = await xcd('instances', 'console', 'cli-d1', ...admin, '--xapi', '--json');
  expect(JSON.parse(c.stdout)).toMatchObject({
    type: 'xapi',
    protocol: 'vnc',
    port: Number(new URL(stack.sim.url).port),
    tls: false,
  });
  expect((await xcd('instances', 'console', 'cli-d1', ...admin, '--xapi')).stdout).toMatch(
    /path\s+\/console\?uuid=/,
  );
  // an operator's one-time consoles: VNC by default, the page, the tunnel
  const vnc = await xcd('instances', 'console', 'cli-d1', ...conn);
  expect(vnc.stdout).toMatch(/type\s+vnc/);
  expect(vnc.stdout).toMatch(/password\s+\S{8}\n/);
  const page = JSON.parse(
    (await xcd('instances', 'console', 'cli-d1', ...conn, '--page', '--json')).stdout,
  );
  expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/consoles\/[\w-]+\/$/);
  expect((await fetch(page.url)).status).toBe(200);
  const tunnel = await xcd('instances', 'console', 'cli-d1', ...conn, '--tunnel');
  expect(tunnel.stdout).toMatch(/path\s+\/v1\/consoles\//);
  const both = await xcd('instances', 'console', 'cli-d1', ...conn, '--vnc', '--page');
  expect([both.code, both.stderr]).toEqual([1, expect.stringMatching(/give one of/)]);
  const log = await xcd('instances', 'console', 'cli-d1', ...conn, '--log');
  expect([log.code, log.stderr]).toEqual([1, expect.stringMatching(/console_not_available/)]);
  const d = await xcd('instances', 'diagnostics', 'cli-d1', ...conn);
  expect(d.stdout).toMatch(/power_state\s+running/);
});

test('xcd snapshots create, list, show, revert, delete', async () => {
  expect(
    (
      await xcd('snapshots', 'create', 'cli-d1', 'snap-a', ...conn, '--name', 'before')
    ).stdout.trim(),
  ).toBe('snapshot snap-a of cli-d1 created');
  const list = await xcd('snapshots', 'list', 'cli-d1', ...conn);
  expect(list.stdout).toMatch(/^ID\s+NAME\s+MEMORY/);
  expect(list.stdout).toMatch(/snap-a\s+before\s+no\s+running/);
  expect(JSON.parse((await xcd('snapshots', 'show', 'cli-d1', 'snap-a', ...conn)).stdout).id).toBe(
    'snap-a',
  );
  expect((await xcd('snapshots', 'revert', 'cli-d1', 'snap-a', ...conn, '--power-on')).code).toBe(
    0,
  );
  expect((await xcd('snapshots', 'delete', 'cli-d1', 'snap-a', ...conn)).stdout.trim()).toBe(
    'snapshot snap-a deleted',
  );
  expect((await xcd('snapshots', 'delete', 'cli-d1', 'snap-a', ...conn)).stdout.trim()).toBe(
    'snapshot snap-a deleted (nothing to do)',
  );
  expect(JSON.parse((await xcd('snapshots', 'list', 'cli-d1', ...conn, '--json')).stdout)).toEqual(
    [],
  );
});

test('xcd volumes and nics attach, list, detach', async () => {
  const sr = stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0].default_SR;
  const vdiRef = await stack.xapi.call<string>('VDI.create', {
    SR: sr,
    virtual_size: 1024 ** 3,
    type: 'user',
    sharable: false,
    read_only: false,
    // A disk of the caller's namespace (an untagged one needs an operator's volume source).
    other_config: { xcd_namespace: 'alpha', xcd_instance_id: 'cli-vol', xcd_state: 'kept' },
    name_label: 'cli-vol',
  });
  const uuid = (stack.sim.store.get('VDI', vdiRef) as { uuid: string }).uuid;
  for (let i = 0; i < 200 && !stack.xapi.mirror.getByUuid('VDI', uuid); i++)
    await new Promise((r) => setTimeout(r, 10));
  expect(
    (await xcd('volumes', 'attach', 'cli-d1', uuid, ...conn, '--device', '7')).stdout.trim(),
  ).toBe(`attached ${uuid} to cli-d1`);
  expect((await xcd('volumes', 'list', 'cli-d1', ...conn)).stdout).toMatch(
    new RegExp(`7\\s+${uuid}\\s+cli-vol\\s+1\\s+RW\\s+yes`),
  );
  expect((await xcd('volumes', 'detach', 'cli-d1', uuid, ...conn)).code).toBe(0);

  const net = (await stack.request('GET', '/v1/networks')).body.items[0];
  expect(
    (
      await xcd(
        'nics',
        'attach',
        'cli-d1',
        net.name_label,
        ...conn,
        '--device',
        '6',
        '--mac',
        '02:00:00:00:00:66',
      )
    ).code,
  ).toBe(0);
  expect((await xcd('nics', 'list', 'cli-d1', ...conn)).stdout).toMatch(
    /6\s+02:00:00:00:00:66\s+.*\s+yes/,
  );
  expect((await xcd('nics', 'detach', 'cli-d1', '6', ...conn)).stdout.trim()).toBe(
    'detached NIC 6 from cli-d1',
  );
});

test('xcd events prints the lifecycle events it follows', async () => {
  const following = xcd('events', ...conn, '--instance', 'cli-d1', '--count', '2', '--json');
  await new Promise((r) => setTimeout(r, 200));
  // Through HTTP: xcd() captures stdout for one command at a time.
  await stack.request('POST', '/v1/instances/cli-d1/actions', {
    body: { action: 'pause' },
    headers: { prefer: 'wait=10' },
  });
  await stack.request('POST', '/v1/instances/cli-d1/actions', {
    body: { action: 'unpause' },
    headers: { prefer: 'wait=10' },
  });
  const r = await following;
  expect(r.code).toBe(0);
  expect(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).type),
  ).toEqual(['paused', 'resumed']);
});
