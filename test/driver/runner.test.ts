// Many operations at once on one driver (the runner): 20 concurrent pauses, unpauses and snapshots all
// succeed and emit no MaxListenersExceededWarning (the regression: each operation's wait for the
// mirror added its own change listener to the mirror's one emitter).
import { EventEmitter } from 'node:events';
import { runInThisContext } from 'node:vm';
import { done, spawnInstance } from './instance-helpers';
import { alice, startDriverStack, type DriverStack } from './stack';

const N = 20;
// Node emits warnings on the real process object; jest's global `process` is a copy of it.
const realProcess = runInThisContext('process') as NodeJS.Process;

describe('runner concurrency', () => {
  let stack: DriverStack;
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  beforeAll(async () => {
    stack = await startDriverStack({ driver: { concurrency: N } });
    for (let i = 0; i < N; i += 5)
      await Promise.all(
        Array.from({ length: 5 }, (_, j) => spawnInstance(stack, `cc-${i + j}`, { vcpus: 1 })),
      );
    realProcess.on('warning', onWarning);
  });
  afterAll(async () => {
    realProcess.off('warning', onWarning);
    await stack?.close();
  });

  it('MaxListenersExceededWarning is not emitted by ~20 concurrent operations', async () => {
    // The capture sees such a warning when one is made (so an empty list means something).
    const leaky = new EventEmitter();
    for (let i = 0; i <= EventEmitter.defaultMaxListeners; i++) leaky.on('change', () => undefined);
    await new Promise((r) => setImmediate(r));
    expect(warnings.map((w) => w.name)).toEqual(['MaxListenersExceededWarning']);
    warnings.length = 0;

    const ids = Array.from({ length: N }, (_, i) => `cc-${i}`);
    for (const action of [{ action: 'pause' }, { action: 'unpause' }] as const) {
      const finals = await Promise.all(
        ids.map((id) => done(stack, stack.driver.action(alice, id, action))),
      );
      expect(finals.map((f) => f.status)).toEqual(ids.map(() => 'succeeded'));
    }
    const snaps = await Promise.all(
      ids.map((id) => done(stack, stack.driver.createSnapshot(alice, id, 's1', {}))),
    );
    expect(snaps.map((f) => f.status)).toEqual(ids.map(() => 'succeeded'));
    await new Promise((r) => setImmediate(r));
    expect(warnings.map((w) => `${w.name}: ${w.message}\n${w.stack}`)).toEqual([]);
  });
});
