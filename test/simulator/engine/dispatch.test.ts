// Dispatch in xapi's order: UTF-8 check, Async prefix, parameter count, unmarshalling
// (INTERNAL_ERROR before the session check), SESSION_INVALID, MESSAGE_METHOD_UNKNOWN, and the
// alternative Class_message spelling.
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { raw, jsonErr, jsonOk, login, xmlErr, xmlOk } from '../rpc';

let sim: SimulatorHandle;
let sid: string;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10 });
  sid = await login(sim.url);
});
afterAll(() => sim.close());

it('rejects invalid UTF-8 in a parameter with INVALID_VALUE', async () => {
  const head = Buffer.from(
    `<methodCall><methodName>VM.get_by_name_label</methodName><params><param><value>${sid}</value></param><param><value>`,
  );
  const tail = Buffer.from('</value></param></params></methodCall>');
  const r = await raw(sim.url, {
    body: Buffer.concat([head, Buffer.from([0x61, 0xff, 0x62]), tail]),
  });
  expect(r.body).toContain(
    '<value>INVALID_VALUE</value><value>Invalid UTF-8 string in parameter</value>',
  );
});

it('counts parameters without the session: MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected, received]', async () => {
  expect(await xmlErr(sim.url, 'VM.get_record', [sid])).toEqual([
    'MESSAGE_PARAMETER_COUNT_MISMATCH',
    'VM.get_record',
    '1',
    '0',
  ]);
  expect(await jsonErr(sim.url, 'VM.get_record', [sid, 'a', 'b'])).toEqual([
    'MESSAGE_PARAMETER_COUNT_MISMATCH',
    'VM.get_record',
    '1',
    '2',
  ]);
  expect(await jsonErr(sim.url, 'session.login_with_password', ['root'])).toEqual([
    'MESSAGE_PARAMETER_COUNT_MISMATCH',
    'session.login_with_password',
    '2',
    '1',
  ]);
});

it('names the sync method in a count mismatch of an Async call', async () => {
  expect(await jsonErr(sim.url, 'Async.VM.clone', [sid])).toEqual([
    'MESSAGE_PARAMETER_COUNT_MISMATCH',
    'VM.clone',
    '2',
    '0',
  ]);
});

it('unmarshals before checking the session: INTERNAL_ERROR on a type mismatch', async () => {
  const e = await jsonErr(sim.url, 'VM.set_name_label', [
    'OpaqueRef:not-a-session',
    'OpaqueRef:x',
    12,
  ]);
  expect(e[0]).toBe('INTERNAL_ERROR');
  const e2 = await xmlErr(sim.url, 'VM.set_name_label', [sid, ['not', 'a', 'ref'], 'x']);
  expect(e2[0]).toBe('INTERNAL_ERROR');
});

it('rejects a bad enum value', async () => {
  const [vm] = (await jsonOk(sim.url, 'VM.get_all', [sid])) as string[];
  const e = await jsonErr(sim.url, 'VM.set_actions_after_crash', [sid, vm, 'explode']);
  expect(e[0]).toBe('INVALID_VALUE');
});

it('answers SESSION_INVALID [ref] for an unknown session', async () => {
  expect(await xmlErr(sim.url, 'VM.get_all', ['OpaqueRef:nope'])).toEqual([
    'SESSION_INVALID',
    'OpaqueRef:nope',
  ]);
  expect(await jsonErr(sim.url, 'VM.get_all', ['OpaqueRef:nope'])).toEqual([
    'SESSION_INVALID',
    'OpaqueRef:nope',
  ]);
});

it('answers MESSAGE_METHOD_UNKNOWN [method]', async () => {
  expect(await xmlErr(sim.url, 'VM.fly', [sid])).toEqual(['MESSAGE_METHOD_UNKNOWN', 'VM.fly']);
  expect(await jsonErr(sim.url, 'nothing', [])).toEqual(['MESSAGE_METHOD_UNKNOWN', 'nothing']);
  expect(await jsonErr(sim.url, 'Async.VM.get_record', [sid, 'x'])).toEqual([
    'MESSAGE_METHOD_UNKNOWN',
    'Async.VM.get_record',
  ]);
});

it('accepts the alternative Class_message spelling for sync calls', async () => {
  const a = await xmlOk(sim.url, 'VM_get_all', [sid]);
  expect(a).toEqual(await xmlOk(sim.url, 'VM.get_all', [sid]));
  expect(await jsonOk(sim.url, 'VM_metrics_get_all', [sid])).toEqual(
    await jsonOk(sim.url, 'VM_metrics.get_all', [sid]),
  );
});

it('runs Async calls as a task named by the full wire name', async () => {
  const [vm] = (await jsonOk(sim.url, 'VM.get_all', [sid])) as string[];
  const taskRef = (await jsonOk(sim.url, 'Async.console.create', [
    sid,
    { VM: vm, other_config: {} },
  ])) as string;
  expect(taskRef).toMatch(/^OpaqueRef:/);
  expect(await jsonOk(sim.url, 'task.get_name_label', [sid, taskRef])).toBe('Async.console.create');
});

it('has no Async form for field accessors', async () => {
  const [pool] = (await jsonOk(sim.url, 'pool.get_all', [sid])) as string[];
  expect(await jsonErr(sim.url, 'Async.pool.set_name_description', [sid, pool, 'x'])).toEqual([
    'MESSAGE_METHOD_UNKNOWN',
    'Async.pool.set_name_description',
  ]);
});
