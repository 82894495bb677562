// Every failure a user of the client can meet: option and argument errors (TypeError /
// RangeError), XAPI errors verbatim (XapiError), and the transport family (TransportError),
// each carrying the stack of the caller's line.
import type { SimulatorHandle } from '../../src/simulator';
import { TransportError, XapiClient, XapiError } from '../../src/xapi';
import { closeAll, connect, rejection, sim, until } from './fixtures';

let s: SimulatorHandle;
beforeAll(async () => {
  s = await sim({ timeScale: 10 });
});
afterEach(closeAll);
afterAll(() => s.close());

describe('options are validated before anything is sent', () => {
  const base = () => ({ url: s.url, user: 'root', password: 'xenroot' });
  test.each([
    ['url', { url: 'ftp://x' }, TypeError, /"url"/],
    ['url type', { url: 42 }, TypeError, /"url"/],
    ['user', { user: undefined }, TypeError, /"user"/],
    ['password', { password: 1 }, TypeError, /"password"/],
    ['protocol', { protocol: 'soap' }, TypeError, /"protocol"/],
    ['fingerprint', { tls: { fingerprint: 'abc' } }, TypeError, /fingerprint/],
    ['insecure', { tls: { insecure: 'yes' } }, TypeError, /insecure/],
    ['caFile', { tls: { caFile: 3 } }, TypeError, /caFile/],
    ['connectTimeoutMs', { connectTimeoutMs: 0 }, RangeError, /connectTimeoutMs/],
    ['callTimeoutMs', { callTimeoutMs: 1.5 }, RangeError, /callTimeoutMs/],
    ['maxResponseBytes', { maxResponseBytes: -1 }, RangeError, /maxResponseBytes/],
    ['taskTimeoutMs', { taskTimeoutMs: -5 }, RangeError, /taskTimeoutMs/],
    ['mirror', { mirror: ['VM', 'Nope'] }, TypeError, /"mirror"/],
  ])('%s', async (_name, patch, cls, msg) => {
    const err = await rejection(XapiClient.connect({ ...base(), ...(patch as object) } as never));
    expect(err).toBeInstanceOf(cls);
    expect(err.message).toMatch(msg);
  });
});

describe('XapiError carries the ErrorDescription verbatim', () => {
  test('HANDLE_INVALID with class and ref, the method, and the caller stack', async () => {
    const c = await connect(s, { mirror: false });
    const err = await rejection(c.call('VM.get_record', 'OpaqueRef:missing'));
    expect(err).toBeInstanceOf(XapiError);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      name: 'XapiError',
      code: 'HANDLE_INVALID',
      params: ['VM', 'OpaqueRef:missing'],
      method: 'VM.get_record',
    });
    expect(err.stack!.split('\n')[1]).toContain('errors.test.ts');
  });

  test('generic dispatch errors: count mismatch, unknown method', async () => {
    const c = await connect(s, { mirror: false });
    expect(await rejection(c.call('VM.get_record'))).toMatchObject({
      code: 'MESSAGE_PARAMETER_COUNT_MISMATCH',
      params: ['VM.get_record', '1', '0'],
    });
    expect(await rejection(c.call('VM.no_such_thing', 'x'))).toMatchObject({
      code: 'MESSAGE_METHOD_UNKNOWN',
      params: ['VM.no_such_thing'],
    });
  });

  test('injected failures keep every parameter', async () => {
    const c = await connect(s, { mirror: false });
    s.faults.add('fail:pool.get_all:1:SR_BACKEND_FAILURE_44,,insufficient space,');
    expect(await rejection(c.call('pool.get_all'))).toMatchObject({
      code: 'SR_BACKEND_FAILURE_44',
      params: ['', 'insufficient space', ''],
    });
  });
});

describe('TransportError', () => {
  test('calls in flight when the client closes fail with ECANCELED; later calls with CLOSED', async () => {
    const c = await connect(s, { mirror: false });
    // Stalled far beyond the test's timeout: a close that waited for the call fails the test.
    s.faults.add('latency:pool.get_all:120000');
    const pending = rejection(c.call('pool.get_all'));
    await new Promise((r) => setTimeout(r, 100));
    await c.close();
    const err = await pending;
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('ECANCELED');
    s.faults.clear();
    expect(await rejection(c.call('pool.get_all'))).toMatchObject({
      name: 'TransportError',
      code: 'CLOSED',
    });
    expect(await rejection(c.callAsync('VM.clone', ['x', 'y']))).toMatchObject({ code: 'CLOSED' });
  });

  test('close is not queued behind more stalled calls than the client has threads', async () => {
    const c = await connect(s, { mirror: false });
    // Stalled far beyond the test's timeout: a close queued behind them fails the test.
    s.faults.add('latency:pool.get_all:120000');
    try {
      const pending = Array.from({ length: 20 }, () => rejection(c.call('pool.get_all')));
      await new Promise((r) => setTimeout(r, 100));
      await c.close();
      const errs = await Promise.all(pending);
      for (const err of errs)
        expect(err).toMatchObject({ name: 'TransportError', code: 'ECANCELED' });
    } finally {
      s.faults.clear();
    }
  });

  const idleRunningVm = (c: XapiClient): string =>
    c.mirror
      .query('VM', { where: { power_state: 'Running', is_control_domain: false } })
      .find((r) => Object.keys(r.current_operations).length === 0)!.$ref;

  test('a task destroyed after the client saw it pending is TASK_LOST', async () => {
    const c = await connect(s, { mirror: ['VM', 'task'] });
    const vmRef = idleRunningVm(c);
    const p = rejection(c.callAsync('VM.clean_shutdown', [vmRef]));
    let taskRef = '';
    await until(() => {
      for (const t of c.mirror.query('task', { where: { status: 'pending' } }))
        if (t.name_label === 'Async.VM.clean_shutdown') taskRef = t.$ref;
      return taskRef !== '';
    });
    s.store.destroy('task', taskRef);
    expect(await p).toMatchObject({
      name: 'TransportError',
      code: 'TASK_LOST',
      method: 'VM.clean_shutdown',
    });
  });

  // xapi sends no event for a task created and destroyed between two event.from calls.
  test('TASK_LOST: a task destroyed as soon as it exists (no event) is decided by one event.from', async () => {
    const c = await connect(s, { mirror: ['VM'] });
    const vmRef = c.mirror
      .query('VM', { where: { power_state: 'Halted', is_a_template: false } })
      .find((r) => Object.keys(r.current_operations).length === 0)!.$ref;
    const stop = s.store.onChange((ch) => {
      if (ch.cls === 'task' && ch.op === 'add') {
        stop();
        queueMicrotask(() => s.store.destroy('task', ch.ref));
      }
    });
    expect(await rejection(c.callAsync('VM.clone', [vmRef, 'lost-clone']))).toMatchObject({
      name: 'TransportError',
      code: 'TASK_LOST',
      method: 'VM.clone',
    });
  });

  test('pending tasks fail with CLOSED when the client closes', async () => {
    const c = await connect(s, { mirror: ['VM'] });
    const vmRef = idleRunningVm(c); // the TASK_LOST tests' operations may still run
    const p = rejection(c.callAsync('VM.clean_shutdown', [vmRef]));
    await new Promise((r) => setTimeout(r, 50));
    await c.close();
    expect(await p).toMatchObject({ name: 'TransportError', code: 'CLOSED' });
  });
});
