// The message class as xapi answers it: create with its body and object checks, get for one
// object, get_since, get_all_records[_where], get_record / get_by_uuid, destroy and destroy_many
// (which stops at the first unknown ref), event.from delivering messages only to a 'message' or
// '*' subscription, messages surviving a restart, and the pool-wide limit reaping the oldest.
import { MESSAGE_LIMIT } from '../../../src/simulator/classes/message';
import { formatDateTime } from '../../../src/simulator/engine/store';
import { expectFault, openSim, type SimFixture } from '../../helpers/xapi-rpc';
import { jsonErr, jsonOk, login } from '../rpc';

let f: SimFixture;
let poolUuid: string;
let vmUuid: string;

beforeAll(async () => {
  f = await openSim();
  const [poolRef] = await f.rpc.call<string[]>('pool.get_all');
  poolUuid = await f.rpc.call('pool.get_uuid', poolRef);
  vmUuid = await f.rpc.call('VM.get_uuid', await f.rpc.byName('VM', 'build-01'));
});
afterAll(async () => {
  await f.sim.close();
});

const create = (name: string, body: string, cls = 'Pool', uuid = poolUuid): Promise<string> =>
  f.rpc.call<string>('message.create', name, 5, cls, uuid, body);

it('creates a message on an object and reads it back', async () => {
  const ref = await create('m_read', '{"a":1}');
  const rec = await f.rpc.call('message.get_record', ref);
  expect(rec).toMatchObject({
    name: 'm_read',
    priority: 5,
    cls: 'Pool',
    obj_uuid: poolUuid,
    body: '{"a":1}',
  });
  expect(rec.timestamp).toMatch(/^\d{8}T\d{2}:\d{2}:\d{2}Z$/);
  expect(await f.rpc.call('message.get_by_uuid', rec.uuid)).toBe(ref);
  expect(await f.rpc.call('message.get_all')).toContain(ref);
  expect(Object.keys(await f.rpc.call('message.get_all_records'))).toContain(ref);
  // xapi ignores the expression of get_all_records_where.
  const where = await f.rpc.call('message.get_all_records_where', 'field "name" = "nothing"');
  expect(Object.keys(where)).toContain(ref);
});

it('refuses a message on an object that does not exist, and a body that is not XML text', async () => {
  await expectFault(create('m_bad', 'x', 'Pool', vmUuid), 'UUID_INVALID', ['Pool', vmUuid]);
  await expectFault(create('m_bad', 'x', 'VMPP', poolUuid), 'UUID_INVALID', ['VMPP', poolUuid]);
  await expectFault(create('m_bad', 'a\u0001b'), 'INVALID_VALUE', ['UTF8 expected']);
  await expectFault(create('m_bad', 'a\ud800b'), 'INVALID_VALUE', ['UTF8 expected']);
  await expectFault(create('m_bad', 'x', 'Nowhere'), 'INVALID_VALUE');
  // Tabs, newlines and characters beyond the BMP are text.
  expect(await create('m_ok', 'tab\there\nline \u{1F600}')).toMatch(/^OpaqueRef:/);
});

it('get answers the messages of one object after a time; get_since those of every object', async () => {
  const since = formatDateTime(new Date(Date.now() - 60_000));
  const onPool = await create('m_get', 'p');
  const onVm = await create('m_get', 'v', 'VM', vmUuid);
  const pool = await f.rpc.call('message.get', 'Pool', poolUuid, since);
  expect(Object.keys(pool)).toContain(onPool);
  expect(Object.keys(pool)).not.toContain(onVm);
  expect(Object.keys(await f.rpc.call('message.get', 'VM', vmUuid, since))).toEqual([onVm]);
  const all = await f.rpc.call('message.get_since', since);
  expect(Object.keys(all)).toEqual(expect.arrayContaining([onPool, onVm]));
  const future = formatDateTime(new Date(Date.now() + 60_000));
  expect(await f.rpc.call('message.get_since', future)).toEqual({});
  expect(await f.rpc.call('message.get', 'Pool', poolUuid, future)).toEqual({});
  await expectFault(f.rpc.call('message.get', 'Pool', vmUuid, since), 'UUID_INVALID', []);
});

it('destroys messages; destroy_many stops at the first unknown ref', async () => {
  const a = await create('m_del', 'a');
  const b = await create('m_del', 'b');
  const c = await create('m_del', 'c');
  await f.rpc.call('message.destroy', a);
  await expectFault(f.rpc.call('message.destroy', a), 'HANDLE_INVALID', ['message', a]);
  await expectFault(f.rpc.call('message.get_record', a), 'HANDLE_INVALID', ['message', a]);
  await expectFault(f.rpc.call('message.destroy_many', [b, a, c]), 'HANDLE_INVALID', [
    'message',
    a,
  ]);
  const left = await f.rpc.call<string[]>('message.get_all');
  expect(left).not.toContain(b);
  expect(left).toContain(c);
  await f.rpc.call('message.destroy_many', [c]);
  expect(await f.rpc.call<string[]>('message.get_all')).not.toContain(c);
});

it('reaches event.from only through a message or * subscription', async () => {
  const start = (await f.rpc.call('event.from', ['vm', 'message'], '', 0.1)).token as string;
  const ref = await create('m_event', 'e');
  const vmOnly = await f.rpc.call('event.from', ['vm'], start, 0.1);
  expect(vmOnly.events.filter((e: any) => e.class === 'message')).toEqual([]);
  for (const classes of [['message'], ['*'], [`message/${ref}`]]) {
    const batch = await f.rpc.call('event.from', classes, start, 0.1);
    const mine = batch.events.filter((e: any) => e.ref === ref);
    expect(mine).toEqual([
      expect.objectContaining({ class: 'message', operation: 'add', snapshot: expect.anything() }),
    ]);
    expect(mine[0].snapshot.body).toBe('e');
  }
  const after = (await f.rpc.call('event.from', ['message'], start, 0.1)).token as string;
  await f.rpc.call('message.destroy', ref);
  const gone = await f.rpc.call('event.from', ['message'], after, 0.1);
  expect(gone.events).toEqual([expect.objectContaining({ operation: 'del', ref })]);
});

it('keeps messages across a restart (new refs, same uuids and bodies)', async () => {
  const ref = await create('m_restart', 'kept');
  const { uuid } = await f.rpc.call('message.get_record', ref);
  await f.sim.restart();
  // Fresh connections (node:http, no pooled socket the restart cut).
  const sid = await login(f.sim.url);
  const now = (await jsonOk(f.sim.url, 'message.get_by_uuid', [sid, uuid])) as string;
  expect(now).not.toBe(ref);
  expect(await jsonOk(f.sim.url, 'message.get_record', [sid, now])).toMatchObject({
    uuid,
    body: 'kept',
  });
  expect(await jsonErr(f.sim.url, 'message.get_record', [sid, ref])).toEqual([
    'HANDLE_INVALID',
    'message',
    ref,
  ]);
  f.rpc.session = sid;
});

it('keeps at most the message limit, reaping the oldest', async () => {
  const store = f.sim.store;
  const old = formatDateTime(new Date(Date.UTC(2001, 0, 1)));
  const fill = MESSAGE_LIMIT - store.count('message');
  const first = store.create('message', {
    name: 'm_fill',
    priority: 5,
    cls: 'Pool',
    obj_uuid: poolUuid,
    timestamp: old,
    body: 'oldest',
  });
  for (let i = 1; i < fill; i++)
    store.create('message', {
      name: 'm_fill',
      priority: 5,
      cls: 'Pool',
      obj_uuid: poolUuid,
      timestamp: formatDateTime(new Date(Date.UTC(2002, 0, 1))),
      body: '',
    });
  expect(store.count('message')).toBe(MESSAGE_LIMIT);
  const newest = await create('m_fill', 'newest');
  expect(store.count('message')).toBe(MESSAGE_LIMIT);
  expect(store.has('message', first)).toBe(false);
  expect(store.has('message', newest)).toBe(true);
});
