// The generic messages derived from the datamodel: get_all, get_all_records, get_record,
// get_by_uuid, get_by_name_label, field getters and setters, map and set updates, create with
// its required-field check, destroy, and their error codes.
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { jsonErr, jsonOk, login, xmlErr, xmlOk } from '../rpc';

let sim: SimulatorHandle;
let sid: string;
let poolRef: string;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10 });
  sid = await login(sim.url);
  [poolRef] = (await jsonOk(sim.url, 'pool.get_all', [sid])) as string[];
});
afterAll(() => sim.close());

it('get_all and get_all_records list every object of the class', async () => {
  const refs = (await jsonOk(sim.url, 'host.get_all', [sid])) as string[];
  expect(refs).toHaveLength(3);
  const recs = (await jsonOk(sim.url, 'host.get_all_records', [sid])) as Record<
    string,
    Record<string, unknown>
  >;
  expect(Object.keys(recs).sort()).toEqual([...refs].sort());
  expect(recs[refs[0]].uuid).toBe(sim.store.get('host', refs[0]).uuid);
});

it('get_record returns every datamodel field; HANDLE_INVALID [class, ref] otherwise', async () => {
  const rec = (await jsonOk(sim.url, 'pool.get_record', [sid, poolRef])) as Record<string, unknown>;
  expect(Object.keys(rec)).toEqual(Object.keys(sim.store.get('pool', poolRef)));
  expect(await jsonErr(sim.url, 'pool.get_record', [sid, 'OpaqueRef:gone'])).toEqual([
    'HANDLE_INVALID',
    'pool',
    'OpaqueRef:gone',
  ]);
  expect(await jsonErr(sim.url, 'VM.get_name_label', [sid, 'OpaqueRef:gone'])).toEqual([
    'HANDLE_INVALID',
    'VM',
    'OpaqueRef:gone',
  ]);
});

it('get_by_uuid finds the ref; UUID_INVALID [class, uuid] otherwise', async () => {
  const uuid = sim.store.get('pool', poolRef).uuid as string;
  expect(await jsonOk(sim.url, 'pool.get_by_uuid', [sid, uuid])).toBe(poolRef);
  expect(await xmlErr(sim.url, 'VM.get_by_uuid', [sid, 'no-such-uuid'])).toEqual([
    'UUID_INVALID',
    'VM',
    'no-such-uuid',
  ]);
});

it('get_by_name_label returns every match', async () => {
  const label = `generic-${Date.now()}`;
  const a = (await jsonOk(sim.url, 'network.create', [
    sid,
    { name_label: label, other_config: {} },
  ])) as string;
  const b = (await jsonOk(sim.url, 'network.create', [
    sid,
    { name_label: label, other_config: {} },
  ])) as string;
  expect(
    ((await jsonOk(sim.url, 'network.get_by_name_label', [sid, label])) as string[]).sort(),
  ).toEqual([a, b].sort());
  expect(await jsonOk(sim.url, 'network.get_by_name_label', [sid, 'absent-label'])).toEqual([]);
});

it('field getters and setters for RW fields', async () => {
  await jsonOk(sim.url, 'pool.set_name_label', [sid, poolRef, 'renamed']);
  expect(await xmlOk(sim.url, 'pool.get_name_label', [sid, poolRef])).toBe('renamed');
  expect(sim.store.get('pool', poolRef).name_label).toBe('renamed');
  // RO fields have no setter
  expect((await jsonErr(sim.url, 'pool.set_master', [sid, poolRef, poolRef]))[0]).toBe(
    'MESSAGE_METHOD_UNKNOWN',
  );
});

it('add_to_/remove_from_ maps, MAP_DUPLICATE_KEY [class, field, ref, key]', async () => {
  await jsonOk(sim.url, 'pool.add_to_other_config', [sid, poolRef, 'k', 'v']);
  expect(await jsonErr(sim.url, 'pool.add_to_other_config', [sid, poolRef, 'k', 'w'])).toEqual([
    'MAP_DUPLICATE_KEY',
    'pool',
    'other_config',
    poolRef,
    'k',
  ]);
  expect(
    ((await jsonOk(sim.url, 'pool.get_other_config', [sid, poolRef])) as Record<string, string>).k,
  ).toBe('v');
  await jsonOk(sim.url, 'pool.remove_from_other_config', [sid, poolRef, 'k']);
  await jsonOk(sim.url, 'pool.remove_from_other_config', [sid, poolRef, 'k']); // absent key: no error
  expect(
    ((await jsonOk(sim.url, 'pool.get_other_config', [sid, poolRef])) as Record<string, string>).k,
  ).toBeUndefined();
});

it('add_/remove_ for sets (tags)', async () => {
  await jsonOk(sim.url, 'pool.add_tags', [sid, poolRef, 'blue']);
  await jsonOk(sim.url, 'pool.add_tags', [sid, poolRef, 'blue']);
  expect(await jsonOk(sim.url, 'pool.get_tags', [sid, poolRef])).toEqual(['blue']);
  await jsonOk(sim.url, 'pool.remove_tags', [sid, poolRef, 'blue']);
  expect(await jsonOk(sim.url, 'pool.get_tags', [sid, poolRef])).toEqual([]);
});

it('create takes one struct and checks its required fields', async () => {
  const e = await jsonErr(sim.url, 'blob.create', [sid, { name_label: 'x' }]);
  expect(e[0]).toBe('MESSAGE_METHOD_UNKNOWN'); // blob.create takes (mime_type, public), not a struct
  const missing = await jsonErr(sim.url, 'console.create', [sid, { protocol: 'rfb' }]);
  expect(missing[0]).toBe('INTERNAL_ERROR');
  expect(missing[1]).toContain('other_config');
});

it('create fills defaults, ignores non-constructor members, and destroy removes the object', async () => {
  const [vm] = (await jsonOk(sim.url, 'VM.get_all', [sid])) as string[];
  const ref = (await jsonOk(sim.url, 'console.create', [
    sid,
    { protocol: 'rfb', VM: vm, other_config: { a: 'b' }, location: 'ignored' },
  ])) as string;
  const rec = (await jsonOk(sim.url, 'console.get_record', [sid, ref])) as Record<string, unknown>;
  // protocol and location are RO/runtime: not constructor fields, so the struct cannot set them
  expect(rec.protocol).toBe('vt100');
  expect(rec.location).toBe('');
  expect(rec.other_config).toEqual({ a: 'b' });
  expect(rec.uuid).toMatch(/^[0-9a-f-]{36}$/);
  await jsonOk(sim.url, 'console.destroy', [sid, ref]);
  expect(await jsonErr(sim.url, 'console.get_record', [sid, ref])).toEqual([
    'HANDLE_INVALID',
    'console',
    ref,
  ]);
  expect(await jsonErr(sim.url, 'console.destroy', [sid, ref])).toEqual([
    'HANDLE_INVALID',
    'console',
    ref,
  ]);
});
