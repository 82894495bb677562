// No XAPI task outlives the Async.* call that started it: the client destroys each task once it
// has its result (success, failure, cancel), and the tasks of calls it gives up (a timeout, or
// close() while they run) as well, which XAPI carries out when they end. Against the simulator.
import type { SimulatorHandle } from '../../src/simulator';
import type { XapiClient } from '../../src/xapi';
import { closeAll, connect, rejection, sim, until } from './fixtures';

let s: SimulatorHandle;
beforeAll(async () => {
  s = await sim({ timeScale: 25 }); // a clean shutdown takes about a second, in five steps
});
afterAll(async () => {
  await closeAll();
  await s.close();
});

function runningVm(c: XapiClient): string {
  const vm = c.mirror.query('VM', {
    where: { is_a_template: false, is_control_domain: false, power_state: 'Running' },
    fields: ['uuid'],
  })[0];
  if (!vm) throw new Error('no running VM left in the seed');
  return vm.$ref;
}

const tasks = (status?: string): number =>
  [...s.store.all('task').values()].filter((t) => !status || t.status === status).length;

test('tasks are destroyed after success, failure and cancel: the count returns to its baseline', async () => {
  const c = await connect(s);
  const baseline = tasks();
  const vmRef = runningVm(c);
  await c.callAsync('VM.clean_shutdown', [vmRef]);
  expect((await rejection(c.callAsync('VM.clean_shutdown', [vmRef]))).code).toBe(
    'VM_BAD_POWER_STATE',
  );
  await c.callAsync('VM.start', [vmRef, false, false]);
  const ac = new AbortController();
  const cancelled = c.callAsync('VM.clean_shutdown', [vmRef], {
    signal: ac.signal,
    onProgress: (p) => p > 0 && ac.abort(),
  });
  expect((await rejection(cancelled)).code).toBe('TASK_CANCELLED');
  await until(() => tasks() === baseline, 5000, 'the tasks to be destroyed');
  await c.close();
});

test('XAPI tasks are left behind by a client closed while they run (now destroyed when they end)', async () => {
  const c = await connect(s);
  const baseline = tasks();
  const vmRef = runningVm(c);
  const call = c.callAsync('VM.clean_shutdown', [vmRef]);
  await until(() => tasks('pending') > 0, 5000, 'the task to start');
  await c.close();
  expect((await rejection(call)).code).toBe('CLOSED');
  // The shutdown goes on without the client; its task goes once it ends.
  await until(() => s.store.get('VM', vmRef).power_state === 'Halted', 10_000, 'the shutdown');
  await until(() => tasks() === baseline, 5000, 'the task to be destroyed');
});

test('XAPI tasks are left behind by a timed-out call whose client closes before the task ends (now destroyed)', async () => {
  const c = await connect(s);
  const baseline = tasks();
  const vmRef = runningVm(c);
  const err = await rejection(c.callAsync('VM.clean_shutdown', [vmRef], { timeoutMs: 50 }));
  expect(err.code).toBe('ETIMEDOUT');
  await c.close();
  // Cancelled at the simulator's next step, then gone.
  await until(() => tasks() === baseline, 10_000, 'the task to be destroyed');
});
