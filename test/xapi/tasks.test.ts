// Async.* calls: the task is followed through the event stream's task records (progress
// callbacks, result decoding, failures as XapiError), cancelled with task.cancel when the signal
// aborts, and destroyed once settled.
import type { SimulatorHandle } from '../../src/simulator';
import { XapiError, type XapiClient } from '../../src/xapi';
import { PROTOCOLS, closeAll, connect, rejection, sim, until } from './fixtures';

let s: SimulatorHandle;
beforeAll(async () => {
  s = await sim({ timeScale: 10 });
});
afterAll(async () => {
  await closeAll();
  await s.close();
});

function vmIn(c: XapiClient, power_state: string): string {
  const vms = c.mirror.query('VM', {
    where: { is_a_template: false, is_control_domain: false, power_state },
    fields: ['uuid'],
  });
  if (!vms.length) throw new Error(`no ${power_state} VM in the seed`);
  return vms[0].$ref;
}

function tasksLeft(): number {
  let n = 0;
  for (const t of s.store.all('task').values()) if (t.status !== 'pending') n++;
  return n;
}

describe.each(PROTOCOLS)('tasks over %s', (protocol) => {
  let c: XapiClient;
  beforeAll(async () => {
    c = await connect(s, { protocol });
  });

  test('resolves with the typed result, reports progress and destroys the task', async () => {
    const vmRef = vmIn(c, 'Halted');
    const progress: number[] = [];
    const cloneRef = await c.callAsync<string>('VM.clone', [vmRef, `clone-${protocol}`], {
      onProgress: (p) => progress.push(p),
    });
    expect(cloneRef).toMatch(/^OpaqueRef:/);
    await until(() => c.mirror.get('VM', cloneRef) !== undefined, 3000, 'clone in mirror');
    expect(c.mirror.get('VM', cloneRef)!.name_label).toBe(`clone-${protocol}`);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toBe(1);
    await until(() => tasksLeft() === 0, 3000, 'task.destroy');
  });

  test('progress moves during a long operation; void results resolve to ""', async () => {
    const vmRef = vmIn(c, 'Running');
    const progress: number[] = [];
    const result = await c.callAsync('VM.clean_shutdown', [vmRef], {
      onProgress: (p) => progress.push(p),
    });
    expect(result).toBe('');
    expect(progress.some((p) => p > 0 && p < 1)).toBe(true);
    expect(c.mirror.get('VM', vmRef)!.power_state).toBe('Halted');
    await c.callAsync('VM.start', [vmRef, false, false]);
  });

  test('a failing task rejects with the XAPI error verbatim', async () => {
    const vmRef = vmIn(c, 'Running');
    const err = await rejection(c.callAsync('VM.start', [vmRef, false, false]));
    expect(err).toBeInstanceOf(XapiError);
    expect(err.code).toBe('VM_BAD_POWER_STATE');
    expect(err.params![0]).toBe(vmRef);
    expect(err.method).toBe('VM.start');
    expect(err.stack).toContain('tasks.test.ts');
  });

  test('aborting the signal cancels the task (TASK_CANCELLED)', async () => {
    const vmRef = vmIn(c, 'Running');
    const ac = new AbortController();
    const p = c.callAsync('VM.clean_shutdown', [vmRef], {
      signal: ac.signal,
      onProgress: (x) => {
        if (x > 0) ac.abort();
      },
    });
    const err = await rejection(p);
    expect(err).toBeInstanceOf(XapiError);
    expect(err.code).toBe('TASK_CANCELLED');
    await until(() => tasksLeft() === 0, 3000, 'task.destroy');
  });

  test('an abort while Async.<method> is in flight still cancels the task once its ref arrives', async () => {
    const vmRef = vmIn(c, 'Running');
    const ac = new AbortController();
    const p = c.callAsync('VM.clean_shutdown', [vmRef], { signal: ac.signal });
    ac.abort(); // before the task ref has come back
    const err = await rejection(p);
    expect(err).toBeInstanceOf(XapiError);
    expect(err.code).toBe('TASK_CANCELLED');
    await until(() => tasksLeft() === 0, 3000, 'task.destroy');
    if (c.mirror.get('VM', vmRef)!.power_state !== 'Running') {
      await c.callAsync('VM.start', [vmRef, false, false]);
    }
  });

  test('an already aborted signal never starts the task', async () => {
    const ac = new AbortController();
    ac.abort();
    const before = s.store.count('task');
    await expect(
      c.callAsync('VM.clean_shutdown', [vmIn(c, 'Running')], { signal: ac.signal }),
    ).rejects.toMatchObject({
      code: 'TASK_CANCELLED',
    });
    expect(s.store.count('task')).toBe(before);
  });
});

test('tasks are tracked even when the caller mirrors no class', async () => {
  const c = await connect(s, { mirror: false });
  const vmRef = [...s.store.all('VM').entries()].find(
    ([, r]) => !r.is_a_template && r.power_state === 'Halted',
  )![0];
  await expect(c.callAsync('VM.clone', [vmRef, 'clone-nomirror'])).resolves.toMatch(/^OpaqueRef:/);
  expect(() => c.mirror.count('VM')).toThrow(/mirrored/);
});

test('a task that does not settle in time is cancelled and fails with ETIMEDOUT', async () => {
  const slow = await sim({ timeScale: 1000 }); // a clean shutdown takes minutes
  try {
    const c = await connect(slow, { taskTimeoutMs: 60_000 });
    const vmRef = vmIn(c, 'Running');
    const t0 = Date.now();
    const err = await rejection(c.callAsync('VM.clean_shutdown', [vmRef], { timeoutMs: 200 }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(err).toMatchObject({
      name: 'TransportError',
      code: 'ETIMEDOUT',
      method: 'VM.clean_shutdown',
    });
    expect(err.message).toMatch(/200 ms/);
    expect(err.stack).toContain('tasks.test.ts');
    // The task was asked to cancel (the simulator notices at its next step).
    await until(
      () => [...slow.store.all('task').values()].some((t) => t.status === 'cancelling'),
      3000,
      'task.cancel',
    );
    await expect(c.callAsync('VM.clean_shutdown', [vmRef], { timeoutMs: 0 })).rejects.toThrow(
      /timeoutMs/,
    );
  } finally {
    await closeAll();
    await slow.close();
  }
});
