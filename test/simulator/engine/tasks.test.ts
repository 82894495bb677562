// Async calls and their tasks: pending -> success with moving progress and the result serialized
// as XML-RPC text, failure with error_info, task.cancel (cancelled + TASK_CANCELLED), task.destroy
// (immediate or once finished) and expiry.
import {
  XDouble,
  XapiFault,
  defineMessage,
  startSimulator,
  type SimulatorHandle,
} from '../../../src/simulator';
import { jsonErr, jsonOk, login } from '../rpc';

let sim: SimulatorHandle;
let sid: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitTask(ref: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rec = (await jsonOk(sim.url, 'task.get_record', [sid, ref])) as Record<string, unknown>;
    if (rec.status !== 'pending' && rec.status !== 'cancelling') return rec;
    if (Date.now() > end) throw new Error(`task ${ref} still ${String(rec.status)}`);
    await sleep(20);
  }
}

beforeAll(async () => {
  defineMessage(
    'simtest.slow',
    async (ctx, [ms]) => {
      await ctx.work(Number(ms));
      return ctx.session.ref;
    },
    [[['ms', 'int', true]], 'session ref', false, true],
  );
  defineMessage(
    'simtest.fail',
    () => {
      throw new XapiFault('SR_FULL', ['100', '50']);
    },
    [[], 'void', false, true],
  );
  defineMessage('simtest.count', () => 42, [[], 'int', false, true]);
  sim = await startSimulator({ authFailureDelayMs: 10, taskTtlMs: 300 });
  sid = await login(sim.url);
});
afterAll(() => sim.close());

it('a task goes pending -> success with progress moving and the result as XML-RPC text', async () => {
  const task = (await jsonOk(sim.url, 'Async.simtest.slow', [sid, 400])) as string;
  const first = (await jsonOk(sim.url, 'task.get_record', [sid, task])) as Record<string, unknown>;
  expect(first.status).toBe('pending');
  expect(first.name_label).toBe('Async.simtest.slow');
  expect(first.allowed_operations).toEqual(['cancel']);
  expect(first.finished).toBe('19700101T00:00:00Z');
  await sleep(250);
  // floats arrive as XDouble from the simulator's own JSON parser (1.0 stays a float)
  const mid = ((await jsonOk(sim.url, 'task.get_progress', [sid, task])) as XDouble).value;
  expect(mid).toBeGreaterThan(0);
  expect(mid).toBeLessThan(1);
  const done = await waitTask(task);
  expect(done.status).toBe('success');
  expect(done.progress).toEqual(new XDouble(1));
  expect(done.result).toBe(`<value>${sid}</value>`);
  expect(done.error_info).toEqual([]);
  expect(done.finished).not.toBe('19700101T00:00:00Z');
});

it('void and int results are serialized as xapi does', async () => {
  const t1 = (await jsonOk(sim.url, 'Async.simtest.count', [sid])) as string;
  expect((await waitTask(t1)).result).toBe('<value>42</value>');
});

it('a failing task records error_info', async () => {
  const task = (await jsonOk(sim.url, 'Async.simtest.fail', [sid])) as string;
  const done = await waitTask(task);
  expect(done.status).toBe('failure');
  expect(done.error_info).toEqual(['SR_FULL', '100', '50']);
  expect(done.result).toBe('');
});

it('an error before the task exists is an ordinary failure', async () => {
  expect(await jsonErr(sim.url, 'Async.simtest.slow', ['OpaqueRef:bad', 1])).toEqual([
    'SESSION_INVALID',
    'OpaqueRef:bad',
  ]);
});

it('task.cancel ends a cancellable task as cancelled with TASK_CANCELLED', async () => {
  const task = (await jsonOk(sim.url, 'Async.simtest.slow', [sid, 2000])) as string;
  await sleep(50);
  await jsonOk(sim.url, 'task.cancel', [sid, task]);
  const done = await waitTask(task);
  expect(done.status).toBe('cancelled');
  expect(done.error_info).toEqual(['TASK_CANCELLED', task]);
  const e = await jsonErr(sim.url, 'task.cancel', [sid, task]);
  expect(e[0]).toBe('OPERATION_NOT_ALLOWED');
});

it('task.destroy removes a finished task, and a pending one once it finishes', async () => {
  const t1 = (await jsonOk(sim.url, 'Async.simtest.count', [sid])) as string;
  await waitTask(t1);
  await jsonOk(sim.url, 'task.destroy', [sid, t1]);
  expect(await jsonErr(sim.url, 'task.get_status', [sid, t1])).toEqual([
    'HANDLE_INVALID',
    'task',
    t1,
  ]);
  const t2 = (await jsonOk(sim.url, 'Async.simtest.slow', [sid, 150])) as string;
  await jsonOk(sim.url, 'task.destroy', [sid, t2]);
  expect(await jsonOk(sim.url, 'task.get_status', [sid, t2])).toBe('pending');
  // Gone once it has finished (however long a loaded machine takes to get there).
  for (let i = 0; i < 600 && sim.store.has('task', t2); i++) await sleep(25);
  expect(sim.store.has('task', t2)).toBe(false);
});

it('finished tasks expire', async () => {
  const t = (await jsonOk(sim.url, 'Async.simtest.count', [sid])) as string;
  await waitTask(t);
  await sleep(450);
  expect(sim.store.has('task', t)).toBe(false);
});

it('task.create makes a pending task owned by the client', async () => {
  const t = (await jsonOk(sim.url, 'task.create', [sid, 'mine', 'desc'])) as string;
  const rec = (await jsonOk(sim.url, 'task.get_record', [sid, t])) as Record<string, unknown>;
  expect(rec.name_label).toBe('mine');
  expect(rec.status).toBe('pending');
});
