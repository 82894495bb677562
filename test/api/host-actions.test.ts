// Host maintenance over HTTP (responses validated against the spec): an admin evacuates a host
// (its running instances live-migrate to the others, it takes no new ones), enables it again,
// reboots it (evacuated first, back live and enabled), shuts it down and powers it on through
// its power-on mode; an evacuation nobody can take fails and leaves the host enabled with its
// instances; operators get 403, unknown hosts 404.
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=30' };

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

interface HostRow {
  uuid: string;
  name: string;
  enabled: boolean;
  live: boolean;
  master: boolean;
  running_instances?: number;
  cpu_usage?: number;
  cpu_speed_mhz?: number;
}

async function hosts(): Promise<HostRow[]> {
  return (await stack.request('GET', '/v1/host', { token: stack.tokens.admin })).body.hosts;
}

async function act(host: string, action: string): Promise<any> {
  const res = await stack.request('POST', `/v1/hosts/${encodeURIComponent(host)}/actions`, {
    token: stack.tokens.admin,
    body: { action },
    headers: wait,
  });
  expect(res.status).toBe(200);
  return res.body;
}

async function template(): Promise<string> {
  const items = (await stack.request('GET', '/v1/templates')).body.items;
  return (items.find((t: { disk_gb?: number }) => t.disk_gb) ?? items[0]).uuid;
}

async function spawn(id: string): Promise<any> {
  const res = await stack.request('PUT', `/v1/instances/${id}`, {
    body: { template: await template(), vcpus: 1, memory_mb: 256 },
    headers: wait,
  });
  expect(res.body.status).toBe('succeeded');
  return res.body.result;
}

const hostOf = async (id: string): Promise<string | undefined> =>
  (await stack.request('GET', `/v1/instances/${id}`)).body.host?.uuid;

/** The seeded pool's third host: not the master, and no guest on its local storage. */
const movable = async (): Promise<HostRow> => (await hosts()).find((h) => h.name === 'xcp-host-3')!;

test('evacuate moves the running instances away and keeps new ones off; enable undoes it', async () => {
  const ids = ['ev-1', 'ev-2', 'ev-3', 'ev-4'];
  for (const id of ids) await spawn(id);
  const target = await movable();
  // Every instance onto the host to evacuate.
  for (const id of ids)
    if ((await hostOf(id)) !== target.uuid)
      await stack.request('POST', `/v1/instances/${id}/actions`, {
        body: { action: 'migrate', host: target.uuid },
        headers: wait,
      });
  for (const id of ids) expect(await hostOf(id)).toBe(target.uuid);

  // The seeded test-01 is paused on that host: a paused guest cannot migrate, so nothing moves.
  const blocked = await act(target.name, 'evacuate');
  expect(blocked).toMatchObject({ status: 'failed', error: { code: 'invalid_power_state' } });
  expect(blocked.error.detail).toMatch(/guest on the host is not running/);
  for (const id of ids) expect(await hostOf(id)).toBe(target.uuid);
  expect((await hosts()).find((h) => h.uuid === target.uuid)!.enabled).toBe(true);
  await stack.xapi.call('VM.unpause', vmNamed('test-01'));

  const op = await act(target.name, 'evacuate');
  expect(op.error).toBeNull();
  expect(op).toMatchObject({
    kind: 'host-evacuate',
    status: 'succeeded',
    instance_id: '',
    host_id: target.uuid,
    result: { uuid: target.uuid, enabled: false, running_instances: 0 },
  });
  for (const id of ids) {
    const now = await hostOf(id);
    expect(now).toBeDefined();
    expect(now).not.toBe(target.uuid);
  }
  // A disabled host takes no new instance.
  for (const id of ['ev-5', 'ev-6', 'ev-7'])
    expect((await spawn(id)).host.uuid).not.toBe(target.uuid);

  const enabled = await act(target.uuid, 'enable');
  expect(enabled).toMatchObject({
    kind: 'host-enable',
    status: 'succeeded',
    result: { enabled: true },
  });
  expect((await hosts()).find((h) => h.uuid === target.uuid)!.enabled).toBe(true);
});

test('an evacuation no other host can take fails and leaves the host enabled with its instances', async () => {
  const all = await hosts();
  const target = await movable();
  const others = all.filter((h) => h.uuid !== target.uuid);
  await spawn('ev-stuck');
  if ((await hostOf('ev-stuck')) !== target.uuid)
    await stack.request('POST', '/v1/instances/ev-stuck/actions', {
      body: { action: 'migrate', host: target.uuid },
      headers: wait,
    });
  for (const h of others) expect((await act(h.uuid, 'disable')).result.enabled).toBe(false);
  try {
    const failed = await act(target.uuid, 'evacuate');
    expect(failed).toMatchObject({
      kind: 'host-evacuate',
      status: 'failed',
      error: { code: 'no_host_available' },
    });
    const now = (await hosts()).find((h) => h.uuid === target.uuid)!;
    expect(now.enabled).toBe(true);
    expect(await hostOf('ev-stuck')).toBe(target.uuid);
  } finally {
    for (const h of others) await act(h.uuid, 'enable');
  }
});

test('a host whose guest runs on its local storage cannot be evacuated', async () => {
  // The seeded db-01 runs on xcp-host-2 from that host's local LVM SR.
  const target = (await hosts()).find((h) => h.name === 'xcp-host-2')!;
  const before = target.running_instances;
  const failed = await act(target.uuid, 'evacuate');
  expect(failed).toMatchObject({ status: 'failed', error: { code: 'no_host_available' } });
  const now = (await hosts()).find((h) => h.uuid === target.uuid)!;
  expect([now.enabled, now.running_instances]).toEqual([true, before]);
});

test('reboot evacuates first and the host comes back enabled; shutdown and power-on', async () => {
  const target = await movable();
  await spawn('rb-1');
  if ((await hostOf('rb-1')) !== target.uuid)
    await stack.request('POST', '/v1/instances/rb-1/actions', {
      body: { action: 'migrate', host: target.uuid },
      headers: wait,
    });
  const rebooted = await act(target.uuid, 'reboot');
  expect(rebooted).toMatchObject({
    kind: 'host-reboot',
    status: 'succeeded',
    result: { uuid: target.uuid, live: true, enabled: true, running_instances: 0 },
  });
  const after = await stack.request('GET', '/v1/instances/rb-1');
  expect(after.body).toMatchObject({ power_state: 'running' });
  expect(after.body.host.uuid).not.toBe(target.uuid);

  const down = await act(target.uuid, 'shutdown');
  expect(down).toMatchObject({ status: 'succeeded', result: { live: false, enabled: false } });
  // No power-on mode configured in XAPI: refused.
  const refused = await act(target.uuid, 'power-on');
  expect(refused).toMatchObject({
    kind: 'host-power-on',
    status: 'failed',
    error: { code: 'operation_not_allowed' },
  });
  await stack.xapi.call('host.set_power_on_mode', hostRef(target.uuid), 'wake-on-lan', {});
  const up = await act(target.uuid, 'power-on');
  expect(up).toMatchObject({ status: 'succeeded', result: { live: true, enabled: true } });
});

function vmNamed(name: string): string {
  for (const [ref, rec] of stack.sim.store.all('VM')) if (rec.name_label === name) return ref;
  throw new Error(`no VM ${name}`);
}

function hostRef(uuid: string): string {
  for (const [ref, rec] of stack.sim.store.all('host')) if (rec.uuid === uuid) return ref;
  throw new Error(`no host ${uuid}`);
}

test('operators get 403, unknown hosts 404, bad actions 400', async () => {
  const target = (await hosts())[0];
  for (const [token, host, body, status, code] of [
    [stack.tokens.operator, target.uuid, { action: 'disable' }, 403, 'forbidden'],
    [stack.tokens.admin, 'no-such-host', { action: 'disable' }, 404, 'host_not_found'],
    [stack.tokens.admin, target.uuid, { action: 'explode' }, 400, 'invalid_request'],
    [stack.tokens.admin, target.uuid, {}, 400, 'invalid_request'],
  ] as const) {
    const res = await stack.request('POST', `/v1/hosts/${host}/actions`, { token, body });
    expect([host, res.status, res.body.code]).toEqual([host, status, code]);
  }
  expect((await hosts()).every((h) => h.enabled)).toBe(true);
});

test("each host shows its CPUs' usage and clock as XAPI reports them, following changes", async () => {
  const target = await movable();
  const ref = hostRef(target.uuid);
  const cpus = [...stack.sim.store.all('host_cpu').entries()].filter(([, c]) => c.host === ref);
  const mean = cpus.reduce((sum, [, c]) => sum + Number(c.utilisation), 0) / cpus.length;
  const shown = (await hosts()).find((h) => h.uuid === target.uuid)!;
  expect(shown.cpu_usage).toBeCloseTo(mean, 6);
  expect(shown.cpu_speed_mhz).toBe(Number(cpus[0][1].speed));
  for (const [cpu] of cpus) stack.sim.store.update('host_cpu', cpu, { utilisation: 0.75 });
  const deadline = Date.now() + 10_000;
  let usage = shown.cpu_usage;
  while (usage !== 0.75 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    usage = (await hosts()).find((h) => h.uuid === target.uuid)!.cpu_usage;
  }
  expect(usage).toBe(0.75);
});
