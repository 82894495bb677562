// The HTTP surface of an instance's resources on the real stack: every snapshot, device,
// console, diagnostics and events operation of the spec is routed and answers documented statuses whose bodies validate
// (the stack validates responses); actions pause ... migrate through /actions; 409 with the
// states; viewers 403 on mutations and the console; and the SSE stream resumed with
// Last-Event-ID by a client that disconnects, receiving every event once, in order.
import { loadSpec } from '../../src/api/spec';
import { XcdClient, parseSse } from '../../src/client';
import { startStack, type HttpAnswer, type Stack } from '../helpers/stack';

let stack: Stack;
const spec = loadSpec();
const seen = new Set<string>();
const RESOURCE_TAGS = new Set(['snapshots', 'devices', 'console', 'diagnostics', 'events']);

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

function resourceOperations(): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const [path, item] of Object.entries(spec.paths))
    for (const m of ['get', 'put', 'post', 'delete']) {
      const op = (item as Record<string, { operationId?: string; tags?: string[] }>)[m];
      if (op?.operationId && op.tags?.some((t) => RESOURCE_TAGS.has(t)))
        out.set(op.operationId, [m, path]);
    }
  return out;
}

async function call(
  operationId: string,
  ...args: Parameters<Stack['request']>
): Promise<HttpAnswer> {
  const t0 = Date.now();
  const res = await stack.request(...args);
  if (process.env.XCD_TEST_TIMING) process.stderr.write(`${operationId} ${Date.now() - t0}ms\n`);
  const [m, path] = resourceOperations().get(operationId) ?? ['', ''];
  const responses =
    (spec.paths[path] as Record<string, { responses: Record<string, unknown> }> | undefined)?.[m]
      ?.responses ?? {};
  if (operationId !== 'instanceAction') {
    expect({
      operationId,
      documented: String(res.status) in responses || ('default' in responses && res.status >= 400),
    }).toEqual({
      operationId,
      documented: true,
    });
    seen.add(operationId);
  }
  if (res.status >= 500) throw new Error(`${operationId}: ${JSON.stringify(res.body)}`);
  return res;
}

const wait = { prefer: 'wait=15' };

async function spawn(id: string, body: Record<string, unknown> = {}): Promise<void> {
  const templates = await stack.request('GET', '/v1/templates');
  const template =
    templates.body.items.find((t: { disk_gb?: number }) => t.disk_gb)?.uuid ??
    templates.body.items[0].uuid;
  const res = await stack.request('PUT', `/v1/instances/${id}`, {
    body: { template, vcpus: 1, memory_mb: 256, ...body },
    headers: wait,
  });
  expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
}

async function act(id: string, body: Record<string, unknown>): Promise<HttpAnswer> {
  return call('instanceAction', 'POST', `/v1/instances/${id}/actions`, { body, headers: wait });
}

test('snapshot and volume operations are routed, answer documented statuses and validate', async () => {
  await spawn('dc-1');
  // snapshots
  const created = await call('createSnapshot', 'PUT', '/v1/instances/dc-1/snapshots/s1', {
    body: { name: 'first' },
    headers: wait,
  });
  expect([created.status, created.body.status, created.body.kind]).toEqual([
    200,
    'succeeded',
    'snapshot',
  ]);
  const list = await call('listSnapshots', 'GET', '/v1/instances/dc-1/snapshots');
  expect(list.body.items.map((s: { id: string; name: string }) => [s.id, s.name])).toEqual([
    ['s1', 'first'],
  ]);
  expect((await call('getSnapshot', 'GET', '/v1/instances/dc-1/snapshots/s1')).body.id).toBe('s1');
  expect((await call('getSnapshot', 'GET', '/v1/instances/dc-1/snapshots/none')).body.code).toBe(
    'snapshot_not_found',
  );
  // The snapshot's root disk, streamed as VHD (sparse: only what the disk holds).
  const file = await call(
    'exportSnapshotDisk',
    'GET',
    '/v1/instances/dc-1/snapshots/s1/disks/0/file?format=vhd',
  );
  expect(file.status).toBe(200);
  expect(
    (
      await call(
        'exportSnapshotDisk',
        'GET',
        '/v1/instances/dc-1/snapshots/s1/disks/9/file?format=vhd',
      )
    ).status,
  ).toBe(404);
  const revert = await call('revertSnapshot', 'POST', '/v1/instances/dc-1/snapshots/s1/revert', {
    body: { power_on: true },
    headers: wait,
  });
  expect([revert.status, revert.body.status, revert.body.result.power_state]).toEqual([
    200,
    'succeeded',
    'running',
  ]);
  expect(
    (await call('deleteSnapshot', 'DELETE', '/v1/instances/dc-1/snapshots/s1', { headers: wait }))
      .body.status,
  ).toBe('succeeded');
  expect((await call('deleteSnapshot', 'DELETE', '/v1/instances/dc-1/snapshots/s1')).status).toBe(
    204,
  );

  // volumes
  const sr = stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0].default_SR;
  const vdiRef = await stack.xapi.call<string>('VDI.create', {
    SR: sr,
    virtual_size: 1024 ** 3,
    type: 'user',
    sharable: false,
    read_only: false,
    // A disk of the caller's namespace (an untagged one needs an operator's volume source).
    other_config: { xcd_namespace: 'alpha', xcd_instance_id: 'vol', xcd_state: 'kept' },
    name_label: 'vol',
  });
  const vdiUuid = (stack.sim.store.get('VDI', vdiRef) as { uuid: string }).uuid;
  for (let i = 0; i < 200 && !stack.xapi.mirror.getByUuid('VDI', vdiUuid); i++)
    await new Promise((r) => setTimeout(r, 10));
  const attach = await call('attachVolume', 'PUT', `/v1/instances/dc-1/volumes/${vdiUuid}`, {
    body: { device: '6' },
    headers: wait,
  });
  expect([attach.status, attach.body.status]).toEqual([200, 'succeeded']);
  expect(attach.body.result.disks.map((d: { uuid: string }) => d.uuid)).toContain(vdiUuid);
  const vols = await call('listVolumes', 'GET', '/v1/instances/dc-1/volumes');
  expect(vols.body.items).toEqual([
    expect.objectContaining({ uuid: vdiUuid, device: '6', attached: true }),
  ]);
  expect(
    (
      await call('detachVolume', 'DELETE', `/v1/instances/dc-1/volumes/${vdiUuid}`, {
        headers: wait,
      })
    ).body.status,
  ).toBe('succeeded');
  expect(
    (await call('detachVolume', 'DELETE', `/v1/instances/dc-1/volumes/${vdiUuid}`)).status,
  ).toBe(204);

  // disks the instance owns
  const add = await call('addDisk', 'PUT', '/v1/instances/dc-1/disks/5', {
    body: { size_gb: 1 },
    headers: wait,
  });
  expect([add.status, add.body.status, add.body.kind]).toEqual([200, 'succeeded', 'add-disk']);
  expect(add.body.result.disks).toContainEqual(
    expect.objectContaining({ device: '5', type: 'disk', size_gb: 1 }),
  );
  const again = await call('addDisk', 'PUT', '/v1/instances/dc-1/disks/5', {
    body: { size_gb: 1 },
  });
  expect([again.status, again.body.status]).toEqual([200, 'succeeded']);
  const taken = await call('addDisk', 'PUT', '/v1/instances/dc-1/disks/5', {
    body: { size_gb: 2 },
  });
  expect([taken.status, taken.body.code]).toEqual([409, 'device_in_use']);
  const imageDisk = await call('addDisk', 'PUT', '/v1/instances/dc-1/disks/7', {
    body: { image: 'img-1' },
  });
  expect([imageDisk.status, imageDisk.body.code]).toEqual([404, 'image_not_found']);
  const both = await call('addDisk', 'PUT', '/v1/instances/dc-1/disks/7', {
    body: { image: 'img-1', size_gb: 1, bogus: true },
  });
  expect([both.status, both.body.code]).toEqual([400, 'invalid_request']);
  expect(
    (await call('removeDisk', 'DELETE', '/v1/instances/dc-1/disks/5', { headers: wait })).body
      .status,
  ).toBe('succeeded');
  expect((await call('removeDisk', 'DELETE', '/v1/instances/dc-1/disks/5')).status).toBe(204);
  const root = await call('removeDisk', 'DELETE', '/v1/instances/dc-1/disks/0');
  expect([root.status, root.body.code]).toEqual([409, 'operation_not_allowed']);

  // Without a connection the volume id names a pool VDI: none has this one.
  const unknown = await call('attachVolume', 'PUT', '/v1/instances/dc-1/volumes/not-a-uuid', {
    body: {},
  });
  expect([unknown.status, unknown.body.code]).toEqual([404, 'volume_not_found']);
  const bad = await call('attachVolume', 'PUT', '/v1/instances/dc-1/volumes/not%20an%20id', {
    body: {},
  });
  expect([bad.status, bad.body.code]).toEqual([400, 'invalid_request']);
});

test('NIC, console, diagnostics and events operations are routed, answer documented statuses and validate', async () => {
  // NICs
  const net = (await stack.request('GET', '/v1/networks')).body.items[0];
  const nic = await call('attachNic', 'POST', '/v1/instances/dc-1/nics', {
    body: { network: net.bridge, device: '3', mac: '02:00:00:00:00:33' },
    headers: wait,
  });
  expect([nic.status, nic.body.status]).toEqual([200, 'succeeded']);
  const nics = await call('listNics', 'GET', '/v1/instances/dc-1/nics');
  expect(nics.body.items).toContainEqual(
    expect.objectContaining({
      device: '3',
      mac: '02:00:00:00:00:33',
      network: net.uuid,
      attached: true,
    }),
  );
  expect(
    (await call('detachNic', 'DELETE', '/v1/instances/dc-1/nics/3', { headers: wait })).body.status,
  ).toBe('succeeded');
  expect((await call('detachNic', 'DELETE', '/v1/instances/dc-1/nics/3')).status).toBe(204);
  const noNet = await call('attachNic', 'POST', '/v1/instances/dc-1/nics', {
    body: { network: 'nowhere' },
    headers: wait,
  });
  expect(noNet.body).toMatchObject({ status: 'failed', error: { code: 'network_not_found' } });

  // console, log, diagnostics
  const con = await call('getConsole', 'GET', '/v1/instances/dc-1/console?type=xapi', {
    token: stack.tokens.admin,
  });
  expect(con.body).toMatchObject({
    type: 'xapi',
    protocol: 'vnc',
    port: Number(new URL(stack.sim.url).port),
    tls: false,
  });
  expect(con.body.path).toMatch(/^\/console\?uuid=.*&session_id=/);
  expect(con.headers.get('cache-control')).toBe('no-store');
  // XAPI's form carries the service's XAPI session: admins only; operators get the proxied
  // forms (a one-time VNC password by default), viewers none.
  for (const token of [stack.tokens.viewer, stack.tokens.operator])
    expect(
      (await call('getConsole', 'GET', '/v1/instances/dc-1/console?type=xapi', { token })).body,
    ).toMatchObject({ status: 403, code: 'forbidden' });
  expect((await call('getConsole', 'GET', '/v1/instances/dc-1/console')).body).toMatchObject({
    type: 'vnc',
    password: expect.stringMatching(/^.{8}$/),
  });
  expect(
    (await call('getConsole', 'GET', '/v1/instances/dc-1/console', { token: stack.tokens.viewer }))
      .body,
  ).toMatchObject({ status: 403, code: 'forbidden' });
  expect((await call('getConsoleLog', 'GET', '/v1/instances/dc-1/console/log')).body.code).toBe(
    'console_not_available',
  );
  const diag = await call('getDiagnostics', 'GET', '/v1/instances/dc-1/diagnostics', {
    token: stack.tokens.viewer,
  });
  expect(diag.body).toMatchObject({ instance_id: 'dc-1', power_state: 'running' });
  expect(
    (
      await call('getDiagnostics', 'GET', '/v1/instances/dc-1/diagnostics', {
        token: stack.tokens.other,
      })
    ).status,
  ).toBe(404);

  // events (a short read of the stream)
  const ctl = new AbortController();
  const res = await fetch(`${stack.url}/v1/events`, {
    headers: { authorization: `Bearer ${stack.tokens.operator}` },
    signal: ctl.signal,
  });
  expect([res.status, res.headers.get('content-type')]).toEqual([
    200,
    'text/event-stream; charset=utf-8',
  ]);
  seen.add('streamEvents');
  ctl.abort();
  const badId = await call('streamEvents', 'GET', '/v1/events', {
    headers: { 'last-event-id': 'x' },
  });
  expect(badId.status).toBe(400);
});

test('every operation of these tags in the spec was called', () => {
  expect([...seen].sort()).toEqual([...resourceOperations().keys()].sort());
});

test('the new actions go through /actions: allowed states succeed, others answer 409 with the states', async () => {
  await spawn('dc-2');
  expect((await act('dc-2', { action: 'pause' })).body.status).toBe('succeeded');
  const again = await act('dc-2', { action: 'pause' });
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({
    code: 'invalid_power_state',
    expected_power_states: ['running'],
    actual_power_state: 'paused',
  });
  expect((await act('dc-2', { action: 'unpause' })).body.status).toBe('succeeded');
  expect((await act('dc-2', { action: 'suspend' })).body.status).toBe('succeeded');
  expect((await act('dc-2', { action: 'resume' })).body.status).toBe('succeeded');
  expect((await act('dc-2', { action: 'migrate' })).body.status).toBe('succeeded');
  const resize = await act('dc-2', {
    action: 'resize',
    vcpus: 2,
    memory_mb: 512,
    power_cycle: 'hard',
  });
  expect(resize.body).toMatchObject({
    status: 'succeeded',
    result: { vcpus: 2, memory_mb: 512, power_state: 'running' },
  });
  const needs = await act('dc-2', { action: 'resize', vcpus: 4 });
  expect([needs.status, needs.body.code]).toEqual([409, 'power_cycle_required']);
  const invalid = await act('dc-2', { action: 'resize', power_cycle: 'sometimes' });
  expect([invalid.status, invalid.body.code]).toEqual([400, 'invalid_request']);
  const viewer = await stack.request('POST', '/v1/instances/dc-2/actions', {
    body: { action: 'pause' },
    token: stack.tokens.viewer,
  });
  expect(viewer.status).toBe(403);
  const other = await stack.request('PUT', '/v1/instances/dc-2/snapshots/x', {
    body: {},
    token: stack.tokens.other,
  });
  expect([other.status, other.body.code]).toEqual([404, 'instance_not_found']);
});

test('resize of a running 2-vCPU instance to 1 vCPU, 256 MiB with power_cycle hard does not answer 409 invalid_power_state', async () => {
  await spawn('dc-rs', { vcpus: 2, memory_mb: 1024 });
  const res = await stack.request('POST', '/v1/instances/dc-rs/actions', {
    body: { action: 'resize', vcpus: 1, memory_mb: 256, power_cycle: 'hard' },
    headers: wait,
  });
  expect([res.status, res.body.status, res.body.error]).toEqual([200, 'succeeded', null]);
  expect(res.body.result).toMatchObject({ vcpus: 1, memory_mb: 256, power_state: 'running' });
});

test('an SSE client that disconnects and resumes with Last-Event-ID receives every event once, in order', async () => {
  const client = new XcdClient({ url: stack.url, token: stack.tokens.operator });
  const got: Array<{ id: string; type: string; instance_id: string }> = [];
  // First connection: read until the instance has started, then drop the connection.
  const first = new AbortController();
  const reading = (async () => {
    for await (const e of client.events({
      instanceId: 'dc-3',
      signal: first.signal,
      reconnect: false,
    })) {
      got.push(e);
      if (e.type === 'started') first.abort();
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  await spawn('dc-3');
  await reading;
  expect(got.map((e) => e.type)).toEqual(['created', 'started']);
  const last = got[got.length - 1].id;

  // While nobody listens, the instance is paused, resumed and stopped.
  await act('dc-3', { action: 'pause' });
  await act('dc-3', { action: 'unpause' });
  await act('dc-3', { action: 'power-off', type: 'hard' });

  // Resume with the raw header: the backlog first, then live events.
  const ctl = new AbortController();
  const res = await fetch(`${stack.url}/v1/events?instance_id=dc-3`, {
    headers: { authorization: `Bearer ${stack.tokens.operator}`, 'last-event-id': last },
    signal: ctl.signal,
  });
  const resumed: Array<{ id?: string; event?: string; data?: string }> = [];
  const done = (async () => {
    try {
      for await (const m of parseSse(res.body!)) {
        resumed.push(m);
        if (m.event === 'deleted') ctl.abort();
      }
    } catch {
      /* aborted */
    }
  })();
  await stack.request('DELETE', '/v1/instances/dc-3', { headers: wait });
  await done;
  expect(resumed.map((m) => m.event)).toEqual(['paused', 'resumed', 'stopped', 'deleted']);
  const ids = [last, ...resumed.map((m) => m.id!)].map((x) => BigInt(x));
  for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1]).toBe(true);
  for (const m of resumed)
    expect(JSON.parse(m.data!)).toMatchObject({ id: m.id, type: m.event, instance_id: 'dc-3' });

  // Another namespace sees none of it; an id from before the service started is told so.
  const lost = await fetch(`${stack.url}/v1/events?last_event_id=1`, {
    headers: { authorization: `Bearer ${stack.tokens.other}` },
  });
  const reader = parseSse(lost.body!);
  const firstMsg = await reader.next();
  expect(firstMsg.value?.event).toBe('events_lost');
  await reader.return(undefined);
});
