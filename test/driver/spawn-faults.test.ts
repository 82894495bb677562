// Fault injection at every XAPI call a full spawn makes: the simulator fails the Nth call of each
// method in turn, and the pool must then hold exactly the VMs, VDIs, VBDs and VIFs it held
// before (the undo of every step ran). Also cancellation in the middle of a spawn.
import {
  alice,
  poolSnapshot,
  provisioningTemplate,
  settle,
  someNetwork,
  startDriverStack,
  type DriverStack,
} from './stack';

describe('driver spawn undo', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  function fullBody(): any {
    const net = someNetwork(stack);
    return {
      template: provisioningTemplate(stack),
      vcpus: 2,
      memory_mb: 768,
      root_disk_gb: 12,
      disks: [{ size_gb: 2 }, { size_gb: 3 }],
      nics: [{ network: net.uuid }, { network: net.name_label, mac: '02:00:00:00:00:01' }],
      user_data: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
    };
  }

  it('leaves the pool exactly as before when any call of a spawn fails', async () => {
    // 1. A full spawn, recording every call it makes.
    stack.calls.length = 0;
    const ok = stack.driver.spawn(alice, 'probe', fullBody());
    expect((await settle(stack, alice, ok.operation)).status).toBe('succeeded');
    const made = [...stack.calls];
    const destroyed = stack.driver.destroy(alice, 'probe', {});
    await settle(stack, alice, destroyed!);

    const seen = new Map<string, number>();
    const points: Array<[string, number]> = [];
    for (const m of made) {
      const n = (seen.get(m) ?? 0) + 1;
      seen.set(m, n);
      points.push([m, n]);
    }
    expect(points.length).toBeGreaterThan(15);
    for (const step of [
      'VM.clone',
      'VM.provision',
      'VM.set_is_a_template',
      'VDI.create',
      'VBD.create',
      'VIF.create',
      'VM.start',
    ])
      expect(made).toContain(step);

    // 2. The same spawn with the Nth call of each method failing.
    const failures: string[] = [];
    for (const [i, [method, nth]] of points.entries()) {
      const before = poolSnapshot(stack.sim);
      stack.sim.faults.clear();
      stack.sim.faults.add(`fail:${method}:${nth}:INTERNAL_ERROR,injected`);
      const id = `fault-${i}`;
      const mark = stack.calls.length;
      const { operation } = stack.driver.spawn(alice, id, fullBody());
      const done = await settle(stack, alice, operation);
      stack.sim.faults.clear();
      const after = poolSnapshot(stack.sim);
      const where = `${method} #${nth}`;
      if (done.status !== 'failed') failures.push(`${where}: status ${done.status}`);
      else if (done.error?.xapi_error?.code !== 'INTERNAL_ERROR')
        failures.push(
          `${where}: error ${JSON.stringify(done.error)} after ${stack.calls.slice(mark).join(' ')}`,
        );
      for (const cls of ['VM', 'VDI', 'VBD', 'VIF'] as const) {
        if (JSON.stringify(after[cls]) !== JSON.stringify(before[cls]))
          failures.push(`${where}: ${cls} ${before[cls].length} -> ${after[cls].length}`);
      }
      try {
        stack.driver.getInstance(alice, id);
        failures.push(`${where}: the instance is still visible`);
      } catch (err) {
        if ((err as { status?: number }).status !== 404) failures.push(`${where}: ${String(err)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('rolls a cancelled spawn back and reports it cancelled', async () => {
    const before = poolSnapshot(stack.sim);
    stack.sim.faults.add('latency:VM.start:400');
    const { operation } = stack.driver.spawn(alice, 'cancelled', fullBody());
    // Cancel once the spawn has made objects (it is at or past the config drive).
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && poolSnapshot(stack.sim).VDI.length <= before.VDI.length + 2)
      await new Promise((r) => setTimeout(r, 5));
    const cancelling = stack.driver.cancelOperation(alice, operation.id);
    expect(cancelling.id).toBe(operation.id);
    const done = await settle(stack, alice, operation);
    stack.sim.faults.clear();
    expect(done.status).toBe('cancelled');
    expect(done.error).toMatchObject({ code: 'cancelled', status: 409 });
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect(() => stack.driver.cancelOperation(alice, operation.id)).toThrow(
      expect.objectContaining({ status: 409, code: 'operation_finished' }),
    );
  });

  it('reports XAPI refusals with their mapped codes (not enough memory to start)', async () => {
    const before = poolSnapshot(stack.sim);
    stack.sim.faults.add('fail:VM.start:1:HOST_NOT_ENOUGH_FREE_MEMORY,8589934592,1073741824');
    const { operation } = stack.driver.spawn(alice, 'no-memory', fullBody());
    const done = await settle(stack, alice, operation);
    stack.sim.faults.clear();
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({
      status: 409,
      code: 'insufficient_memory',
      needed_bytes: 8589934592,
      available_bytes: 1073741824,
      xapi_error: { code: 'HOST_NOT_ENOUGH_FREE_MEMORY', params: ['8589934592', '1073741824'] },
    });
    expect(poolSnapshot(stack.sim)).toEqual(before);
    // A failed spawn may be retried with the same id: it builds anew.
    const retry = stack.driver.spawn(alice, 'no-memory', fullBody());
    expect(retry.replayed).toBe(false);
    expect((await settle(stack, alice, retry.operation)).status).toBe('succeeded');
  });

  it('reports a full SR as 507 insufficient_storage with the figures, and undoes the spawn', async () => {
    const before = poolSnapshot(stack.sim);
    stack.sim.faults.add('fail:VDI.create:2:SR_FULL,3221225472,1073741824');
    const { operation } = stack.driver.spawn(alice, 'sr-full', fullBody());
    const done = await settle(stack, alice, operation);
    stack.sim.faults.clear();
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({
      status: 507,
      code: 'insufficient_storage',
      requested_bytes: 3221225472,
      maximum_bytes: 1073741824,
      xapi_error: { code: 'SR_FULL' },
    });
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });
});
