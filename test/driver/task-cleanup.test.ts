// XAPI tasks are left behind by nothing the driver does: after spawns (one failed, one cancelled),
// power and lifecycle actions (one cancelled), snapshots, resizes, volumes and destroys, the pool's
// task count returns to its baseline. Against the simulator, with tasks that take time.
import { done, spawnInstance, until } from './instance-helpers';
import { alice, provisioningTemplate, startDriverStack, type DriverStack } from './stack';

describe('XAPI tasks after driver operations', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack({ sim: { timeScale: 1 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const tasks = (): string[] =>
    [...stack.sim.store.all('task').values()].map((t: any) => `${t.name_label} ${t.status}`);

  async function backToBaseline(baseline: string[]): Promise<void> {
    const deadline = Date.now() + 5000;
    while (tasks().length !== baseline.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(tasks()).toEqual(baseline);
  }

  it('XAPI tasks are left behind: after spawns and actions the task count returns to its baseline', async () => {
    const baseline = tasks();
    const template = provisioningTemplate(stack);
    await spawnInstance(stack, 'tk-1', { disks: [{ size_gb: 1 }] });
    await done(stack, stack.driver.action(alice, 'tk-1', { action: 'reboot' }));
    await done(stack, stack.driver.action(alice, 'tk-1', { action: 'suspend' }));
    await done(stack, stack.driver.action(alice, 'tk-1', { action: 'resume' }));
    await done(stack, stack.driver.createSnapshot(alice, 'tk-1', 's-1', { memory: true }));
    await done(stack, stack.driver.deleteSnapshot(alice, 'tk-1', 's-1'));
    const grown = await done(
      stack,
      stack.driver.action(alice, 'tk-1', {
        action: 'resize',
        disks: [{ device: '1', size_gb: 2 }],
      }),
    );
    expect(grown.error).toBeNull();

    // A power action cancelled while its task runs.
    const off = stack.driver.action(alice, 'tk-1', { action: 'power-off', type: 'clean' });
    await until(() => tasks().some((t) => t.includes('pending')));
    stack.driver.cancelOperation(alice, off.id);
    expect((await done(stack, off)).status).toBe('cancelled');

    // A spawn whose VM.start fails, and one cancelled while it runs: both undone.
    stack.sim.faults.add('fail:VM.start:1:INTERNAL_ERROR');
    const failed = stack.driver.spawn(alice, 'tk-2', { template });
    expect((await done(stack, failed.operation)).status).toBe('failed');
    const cancelled = stack.driver.spawn(alice, 'tk-3', { template });
    await until(() => tasks().some((t) => t.includes('pending')));
    stack.driver.cancelOperation(alice, cancelled.operation.id);
    expect((await done(stack, cancelled.operation)).status).toBe('cancelled');

    await done(stack, stack.driver.destroy(alice, 'tk-1', {}));
    await backToBaseline(baseline);
  });
});
