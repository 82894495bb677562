// event.from as xapi answers it: the token format, a full dump from "", coalesced add/mod/del
// with snapshots, the long poll and its timeout, valid_ref_counts, EVENTS_LOST for tokens older
// than the kept history, parse failures, event.inject, and the legacy register/next.
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { jsonErr, jsonOk, login, raw, xmlOk } from '../rpc';

interface Ev {
  id: string;
  timestamp: string;
  class: string;
  operation: string;
  ref: string;
  snapshot?: Record<string, unknown>;
}
interface Batch {
  events: Ev[];
  valid_ref_counts: Record<string, number>;
  token: string;
}

let sim: SimulatorHandle;
let sid: string;
const from = async (classes: string[], token: string, timeout = 0.1): Promise<Batch> =>
  (await jsonOk(sim.url, 'event.from', [sid, classes, token, timeout])) as unknown as Batch;
const newNet = async (label: string): Promise<string> =>
  (await jsonOk(sim.url, 'network.create', [
    sid,
    { name_label: label, other_config: {} },
  ])) as string;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, eventTombstones: 4 });
  sid = await login(sim.url);
});
afterAll(() => sim.close());

it('dumps every object as add from the empty token, with a zero-padded token', async () => {
  const b = await from(['vm', 'host'], '');
  expect(b.token).toMatch(/^\d{20},\d{20}$/);
  const vms = b.events.filter((e) => e.class === 'vm');
  expect(vms).toHaveLength(sim.store.count('VM'));
  expect(b.events.filter((e) => e.class === 'host')).toHaveLength(3);
  for (const e of b.events) {
    expect(e.operation).toBe('add');
    expect(e.timestamp).toBe('0.0');
    expect(e.id).toMatch(/^\d+$/);
    expect(e.snapshot?.uuid).toBe(sim.store.get(e.class === 'vm' ? 'VM' : 'host', e.ref).uuid);
  }
  expect(Object.keys(b.valid_ref_counts)).toEqual(
    expect.arrayContaining(['vm', 'host', 'task', 'session', 'sr', 'vdi']),
  );
  expect(b.valid_ref_counts.vm).toBe(sim.store.count('VM'));
});

it('coalesces changes between tokens: one event per object with its latest snapshot', async () => {
  const { token } = await from(['network'], '');
  const a = await newNet('ev-a');
  await jsonOk(sim.url, 'network.set_name_description', [sid, a, 'one']);
  await jsonOk(sim.url, 'network.set_name_description', [sid, a, 'two']);
  const b = await from(['network'], token);
  expect(b.events).toHaveLength(1);
  expect(b.events[0]).toMatchObject({ class: 'network', operation: 'add', ref: a });
  expect(b.events[0].snapshot?.name_description).toBe('two');
  await jsonOk(sim.url, 'network.set_name_label', [sid, a, 'ev-a2']);
  const c = await from(['network'], b.token);
  expect(c.events.map((e) => [e.operation, e.ref, e.snapshot?.name_label])).toEqual([
    ['mod', a, 'ev-a2'],
  ]);
  await jsonOk(sim.url, 'network.destroy', [sid, a]);
  const d = await from(['network'], c.token);
  expect(d.events).toHaveLength(1);
  expect(d.events[0]).toMatchObject({ operation: 'del', ref: a });
  expect(d.events[0].snapshot).toBeUndefined();
});

it('an object created and deleted between two tokens gives no event', async () => {
  const { token } = await from(['network'], '');
  const a = await newNet('ev-gone');
  await jsonOk(sim.url, 'network.destroy', [sid, a]);
  expect((await from(['network'], token)).events).toEqual([]);
});

it('waits for the timeout and returns no events with a fresh token', async () => {
  const { token } = await from(['pool'], '');
  const t = Date.now();
  const b = await from(['pool'], token, 0.3);
  expect(Date.now() - t).toBeGreaterThanOrEqual(280);
  expect(b.events).toEqual([]);
  expect(b.token >= token).toBe(true);
});

it('the long poll returns early on a matching change', async () => {
  const { token } = await from(['pool'], '');
  const [pool] = (await jsonOk(sim.url, 'pool.get_all', [sid])) as string[];
  // A poll longer than the test's timeout: one that did not return early fails the test.
  const pending = from(['pool'], token, 120);
  setTimeout(() => void jsonOk(sim.url, 'pool.set_name_description', [sid, pool, 'woken']), 100);
  const b = await pending;
  expect(b.events[0].snapshot?.name_description).toBe('woken');
});

it('filters by class (any case) and by class/ref', async () => {
  const { token } = await from(['*'], '');
  const a = await newNet('ev-x');
  const b = await newNet('ev-y');
  expect((await from(['VM'], token)).events.filter((e) => e.class === 'network')).toEqual([]);
  expect((await from(['NetWork'], token)).events.map((e) => e.ref).sort()).toEqual([a, b].sort());
  expect((await from([`network/${b}`], token)).events.map((e) => e.ref)).toEqual([b]);
});

it('sends valid_ref_counts as <i4> over XML-RPC', async () => {
  const r = await raw(sim.url, {
    body: `<methodCall><methodName>event.from</methodName><params><param><value>${sid}</value></param><param><value><array><data><value>pool</value></data></array></value></param><param><value></value></param><param><value><double>0.1</double></value></param></params></methodCall>`,
  });
  expect(r.body).toMatch(/<member><name>vm<\/name><value><i4>\d+<\/i4><\/value><\/member>/);
  expect(r.body).toMatch(/<member><name>id<\/name><value>\d+<\/value><\/member>/);
});

it('rejects a bad token or class', async () => {
  expect(await jsonErr(sim.url, 'event.from', [sid, ['vm'], 'garbage', 0.1])).toEqual([
    'EVENT_FROM_TOKEN_PARSE_FAILURE',
    'garbage',
  ]);
  expect(await jsonErr(sim.url, 'event.from', [sid, ['nonsense'], '', 0.1])).toEqual([
    'EVENT_SUBSCRIPTION_PARSE_FAILURE',
    'nonsense',
  ]);
});

it('answers EVENTS_LOST for a token older than the kept deletions', async () => {
  const { token } = await from(['network'], '');
  for (let i = 0; i < 6; i++)
    await jsonOk(sim.url, 'network.destroy', [sid, await newNet(`ev-lost-${i}`)]);
  expect(await jsonErr(sim.url, 'event.from', [sid, ['network'], token, 0.1])).toEqual([
    'EVENTS_LOST',
  ]);
  const fresh = await from(['network'], '');
  expect(fresh.events.length).toBe(sim.store.count('network'));
});

it('event.inject returns a token just before a touch of the object', async () => {
  const [pool] = (await jsonOk(sim.url, 'pool.get_all', [sid])) as string[];
  const token = (await xmlOk(sim.url, 'event.inject', [sid, 'pool', pool])) as string;
  expect(token).toMatch(/^\d{20},\d{20}$/);
  const b = await from(['pool'], token);
  expect(b.events.map((e) => [e.operation, e.ref])).toEqual([['mod', pool]]);
  expect(await jsonErr(sim.url, 'event.inject', [sid, 'pool', 'OpaqueRef:x'])).toEqual([
    'HANDLE_INVALID',
    'pool',
    'OpaqueRef:x',
  ]);
});

it('legacy register/next deliver events; next without register is SESSION_NOT_REGISTERED', async () => {
  const s2 = await login(sim.url);
  expect(await jsonErr(sim.url, 'event.next', [s2])).toEqual(['SESSION_NOT_REGISTERED', s2]);
  await jsonOk(sim.url, 'event.register', [s2, ['network']]);
  const a = await newNet('ev-legacy');
  const evs = (await jsonOk(sim.url, 'event.next', [s2])) as Array<Record<string, unknown>>;
  expect(evs.map((e) => [e.class, e.operation, e.ref])).toEqual([['network', 'add', a]]);
  expect(typeof (await jsonOk(sim.url, 'event.get_current_id', [s2]))).toBe('number');
});

it('tokens from before a restart are lost', async () => {
  const { token } = await from(['pool'], '');
  await sim.restart();
  sid = await login(sim.url);
  expect(await jsonErr(sim.url, 'event.from', [sid, ['pool'], token, 0.1])).toEqual([
    'EVENTS_LOST',
  ]);
});

it('close() ends pending long polls at once', async () => {
  const s2 = await startSimulator({ hosts: 1, authFailureDelayMs: 10 });
  const ref = (await jsonOk(s2.url, 'session.login_with_password', ['root', 'xenroot'])) as string;
  const { token } = (await jsonOk(s2.url, 'event.from', [
    ref,
    ['pool'],
    '',
    0.1,
  ])) as unknown as Batch;
  // A poll longer than the test's timeout: a close that waited for it fails the test.
  const pending = jsonOk(s2.url, 'event.from', [ref, ['pool'], token, 120]).catch(() => 'closed');
  await new Promise((r) => setTimeout(r, 100));
  await s2.close();
  await pending;
});
