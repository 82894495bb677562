// Behaviour of live migration within the pool: to a host named by uuid or name_label, to the
// host the driver chooses (most free memory, never the current one, never an offline one),
// 409 no_host_available when none can take it, 404 host_not_found, 409 when not running.
import { POWER_STATES, done, setState, simVm, spawnInstance, until } from './instance-helpers';
import { alice, startDriverStack, type DriverStack } from './stack';

describe('live migration', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack({ sim: { hosts: 3 } });
    vmRef = await spawnInstance(stack, 'mig-1', { memory_mb: 512 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const hosts = (): Array<{ ref: string; uuid: string; name_label: string }> =>
    [...stack.sim.store.all('host').entries()].map(([ref, h]: [string, any]) => ({
      ref,
      uuid: h.uuid,
      name_label: h.name_label,
    }));

  it('migrates to a host named by uuid, then by name_label', async () => {
    await setState(stack, vmRef, 'Running');
    const from = simVm(stack, vmRef).resident_on;
    const target = hosts().find((h) => h.ref !== from)!;
    const op = stack.driver.action(alice, 'mig-1', { action: 'migrate', host: target.uuid });
    expect(op).toMatchObject({ kind: 'migrate', status: 'running' });
    const final = await done(stack, op);
    expect(final.error).toBeNull();
    expect(simVm(stack, vmRef)).toMatchObject({ resident_on: target.ref, power_state: 'Running' });
    expect(final.result && 'host' in final.result ? final.result.host : null).toMatchObject({ uuid: target.uuid });

    const next = hosts().find((h) => h.ref !== target.ref)!;
    expect(
      (
        await done(
          stack,
          stack.driver.action(alice, 'mig-1', { action: 'migrate', host: next.name_label }),
        )
      ).error,
    ).toBeNull();
    expect(simVm(stack, vmRef).resident_on).toBe(next.ref);
  });

  it('chooses the live host with most free memory other than the current one', async () => {
    await setState(stack, vmRef, 'Running');
    const from = simVm(stack, vmRef).resident_on;
    const free = new Map<string, number>();
    for (const h of hosts())
      if (h.ref !== from)
        free.set(h.ref, await stack.xapi.call<number>('host.compute_free_memory', h.ref));
    const best = [...free.entries()].sort((a, b) => b[1] - a[1])[0][0];
    expect(
      (await done(stack, stack.driver.action(alice, 'mig-1', { action: 'migrate' }))).error,
    ).toBeNull();
    expect(simVm(stack, vmRef).resident_on).toBe(best);
  });

  it('answers no_host_available when every other host is offline, host_not_found for unknown hosts', async () => {
    await setState(stack, vmRef, 'Running');
    // Put it on the master (which the client talks to), then take every other host offline.
    const master = hosts()[0];
    if (simVm(stack, vmRef).resident_on !== master.ref)
      await stack.xapi.call('VM.pool_migrate', vmRef, master.ref, { live: 'true' });
    const others = hosts().filter((h) => h.ref !== master.ref);
    for (const h of others) stack.sim.setHostOnline(h.uuid, false);
    try {
      await until(() =>
        others.every(
          (h) =>
            stack.xapi.mirror.get('host_metrics', stack.xapi.mirror.get('host', h.ref)!.metrics)
              ?.live === false,
        ),
      );
      const final = await done(stack, stack.driver.action(alice, 'mig-1', { action: 'migrate' }));
      expect(final).toMatchObject({
        status: 'failed',
        error: { status: 409, code: 'no_host_available' },
      });
    } finally {
      for (const h of others) stack.sim.setHostOnline(h.uuid, true);
    }
    const unknown = await done(
      stack,
      stack.driver.action(alice, 'mig-1', { action: 'migrate', host: 'no-such-host' }),
    );
    expect(unknown).toMatchObject({
      status: 'failed',
      error: { status: 404, code: 'host_not_found' },
    });
  });

  it.each(POWER_STATES.filter((s) => s !== 'Running'))(
    'answers 409 invalid_power_state when %s',
    async (state) => {
      await setState(stack, vmRef, state);
      expect(() => stack.driver.action(alice, 'mig-1', { action: 'migrate' })).toThrow(
        expect.objectContaining({ status: 409, code: 'invalid_power_state' }),
      );
    },
  );
});
