// Fault injection and pool events: per-method latency, failing the Nth call, a connection cut
// mid-response, restart (refs and sessions change, uuids stay), a host going offline, the
// /sim/control endpoint and the spec parser. The raw VDI side channels are tested in
// wire/vdi-transfer.test.ts.
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { parseFaultSpec } from '../../../src/simulator/engine/faults';
import { jsonErr, jsonOk, login, raw, xmlErr } from '../rpc';

let sim: SimulatorHandle;
let sid: string;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, faults: ['latency:pool.get_uuid:150'] });
  sid = await login(sim.url);
});
afterAll(() => sim.close());
afterEach(() => sim.faults.clear());

// first: afterEach clears the faults given to startSimulator
it('adds latency per method (from startSimulator options)', async () => {
  const [pool] = (await jsonOk(sim.url, 'pool.get_all', [sid])) as string[];
  const t = Date.now();
  await jsonOk(sim.url, 'pool.get_uuid', [sid, pool]);
  expect(Date.now() - t).toBeGreaterThanOrEqual(140);
});

it('parses fault specs and rejects bad ones', () => {
  expect(parseFaultSpec('latency:VM.start:200')).toEqual({
    kind: 'latency',
    method: 'VM.start',
    ms: 200,
  });
  expect(parseFaultSpec('fail:VM.start:2:SR_FULL,10,5')).toEqual({
    kind: 'fail',
    method: 'VM.start',
    nth: 2,
    code: 'SR_FULL',
    params: ['10', '5'],
  });
  expect(parseFaultSpec('fail:*:*:INTERNAL_ERROR')).toEqual({
    kind: 'fail',
    method: '*',
    nth: '*',
    code: 'INTERNAL_ERROR',
    params: [],
  });
  expect(parseFaultSpec('drop:VM.get_all_records')).toEqual({
    kind: 'drop',
    method: 'VM.get_all_records',
    nth: 1,
  });
  expect(parseFaultSpec('offline:1')).toEqual({ kind: 'offline', host: '1' });
  for (const bad of ['latency:x', 'fail:VM.start:0:X', 'fail:VM.start', 'boom:x', 'drop:'])
    expect(() => parseFaultSpec(bad)).toThrow();
});

it('fails the Nth call of a method with the given code and params', async () => {
  sim.faults.add('fail:VM.get_all:2:HOST_OFFLINE,OpaqueRef:h');
  await jsonOk(sim.url, 'VM.get_all', [sid]);
  expect(await xmlErr(sim.url, 'VM.get_all', [sid])).toEqual(['HOST_OFFLINE', 'OpaqueRef:h']);
  await jsonOk(sim.url, 'VM.get_all', [sid]);
});

it('cuts the connection in the middle of a response', async () => {
  sim.faults.add('drop:pool.get_all_records');
  await expect(
    raw(sim.url, {
      path: '/jsonrpc',
      body: JSON.stringify({
        jsonrpc: '2.0',
        method: 'pool.get_all_records',
        params: [sid],
        id: 0,
      }),
    }),
  ).rejects.toThrow();
  await jsonOk(sim.url, 'pool.get_all_records', [sid]);
});

it('is driven through POST /sim/control', async () => {
  const r = await raw(sim.url, {
    path: '/sim/control',
    body: JSON.stringify({ fault: 'fail:host.get_all:1:SR_FULL' }),
  });
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body).faults).toHaveLength(1);
  expect(await jsonErr(sim.url, 'host.get_all', [sid])).toEqual(['SR_FULL']);
  const bad = await raw(sim.url, {
    path: '/sim/control',
    body: JSON.stringify({ fault: 'nonsense' }),
  });
  expect(bad.status).toBe(400);
  await raw(sim.url, {
    path: '/sim/control',
    body: JSON.stringify({ fault: 'fail:host.get_all:*:SR_FULL' }),
  });
  await raw(sim.url, { path: '/sim/control', body: JSON.stringify({ clear: true }) });
  expect(await jsonOk(sim.url, 'host.get_all', [sid])).toHaveLength(3);
});

it('takes a host offline and back', async () => {
  const member = sim.store.get(
    'host',
    [...sim.store.all('host').keys()].find(
      (h) => sim.store.get('host', h).address === '127.0.0.3',
    )!,
  );
  const url = sim.hostUrls[2];
  expect((await xmlErr(url, 'session.login_with_password', ['root', 'xenroot']))[0]).toBe(
    'HOST_IS_SLAVE',
  );
  await sim.setHostOnline(member.uuid as string, false);
  await expect(
    raw(url, { body: '<methodCall><methodName>x</methodName><params/></methodCall>' }),
  ).rejects.toThrow(/ECONNREFUSED/);
  expect(sim.store.get('host_metrics', member.metrics as string).live).toBe(false);
  await raw(sim.url, {
    path: '/sim/control',
    body: JSON.stringify({ host: member.uuid, online: true }),
  });
  expect((await xmlErr(url, 'session.login_with_password', ['root', 'xenroot']))[0]).toBe(
    'HOST_IS_SLAVE',
  );
  expect(sim.store.get('host_metrics', member.metrics as string).live).toBe(true);
});

it('setHostOnline resolves once the listener is down or up, quick toggles included', async () => {
  const uuid = sim.store.get(
    'host',
    [...sim.store.all('host').keys()].find(
      (h) => sim.store.get('host', h).address === '127.0.0.2',
    )!,
  ).uuid as string;
  const url = sim.hostUrls[1];
  const call = (): Promise<string[]> =>
    xmlErr(url, 'session.login_with_password', ['root', 'xenroot']);
  await sim.setHostOnline(uuid, false);
  await expect(call()).rejects.toThrow(/ECONNREFUSED/);
  await sim.setHostOnline(uuid, true);
  expect((await call())[0]).toBe('HOST_IS_SLAVE');
  void sim.setHostOnline(uuid, false);
  void sim.setHostOnline(uuid, true);
  void sim.setHostOnline(uuid, false);
  await sim.setHostOnline(uuid, true);
  expect((await call())[0]).toBe('HOST_IS_SLAVE');
  expect(() => sim.setHostOnline('no-such-host', false)).toThrow(/no host/);
});

it('restarts: refs and sessions change, uuids stay', async () => {
  const before = (await jsonOk(sim.url, 'VM.get_all_records', [sid])) as Record<
    string,
    { uuid: string; resident_on: string }
  >;
  await sim.restart();
  expect(await jsonErr(sim.url, 'VM.get_all', [sid])).toEqual(['SESSION_INVALID', sid]);
  sid = await login(sim.url);
  const after = (await jsonOk(sim.url, 'VM.get_all_records', [sid])) as Record<
    string,
    { uuid: string; resident_on: string }
  >;
  const uuids = (m: typeof before) =>
    Object.values(m)
      .map((r) => r.uuid)
      .sort();
  expect(uuids(after)).toEqual(uuids(before));
  for (const ref of Object.keys(after)) expect(before[ref]).toBeUndefined();
  // refs held in fields were rewritten too
  const hosts = new Set((await jsonOk(sim.url, 'host.get_all', [sid])) as string[]);
  for (const r of Object.values(after))
    if (r.resident_on !== 'OpaqueRef:NULL') expect(hosts.has(r.resident_on)).toBe(true);
  const [pool] = (await jsonOk(sim.url, 'pool.get_all', [sid])) as string[];
  expect(hosts.has((await jsonOk(sim.url, 'pool.get_master', [sid, pool])) as string)).toBe(true);
});

it('restarts through POST /sim/control', async () => {
  const r = await raw(sim.url, { path: '/sim/control', body: JSON.stringify({ restart: true }) });
  expect(r.status).toBe(200);
  await new Promise((res) => setTimeout(res, 100));
  expect(await jsonErr(sim.url, 'VM.get_all', [sid])).toEqual(['SESSION_INVALID', sid]);
  sid = await login(sim.url);
});
