// Regression tests for the driver's recovery defects: the instance index after a XAPI restart,
// duplicate VMs of one instance, undo that meets transient errors, the periodic sweep, a retried
// DELETE, spawn replays during a destroy, bounded per-instance queues, and two services sharing
// one pool through leases. Each runs the real stack on the simulator.
import { LEASE_PREFIX } from '../../src/driver/lease';
import { TAG } from '../../src/driver/tags';
import type { Operation } from '../../src/driver/types';
import {
  alice,
  poolSnapshot,
  provisioningTemplate,
  settle,
  someNetwork,
  startDriverStack,
  type DriverStack,
} from './stack';

function body(stack: DriverStack, extra: Record<string, unknown> = {}): any {
  return {
    template: provisioningTemplate(stack),
    vcpus: 1,
    memory_mb: 512,
    disks: [{ size_gb: 1 }],
    nics: [{ network: someNetwork(stack).uuid }],
    ...extra,
  };
}

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function tagged(stack: DriverStack, cls: 'VM' | 'VDI' | 'VIF', id: string): string[] {
  return [...stack.sim.store.all(cls).entries()]
    .filter(([, r]) => (r as any).other_config?.[TAG.instanceId] === id)
    .map(([ref]) => ref);
}

async function spawned(stack: DriverStack, id: string, extra = {}): Promise<Operation> {
  const { operation } = stack.driver.spawn(alice, id, body(stack, extra));
  const done = await settle(stack, alice, operation);
  expect(done.status).toBe('succeeded');
  return done;
}

describe('driver recovery', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack({ driver: { sweepIntervalMs: 3_600_000 } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => stack.sim.faults.clear());

  it('after a XAPI restart the index follows the new refs: reads, DELETE and spawn retries', async () => {
    await spawned(stack, 'xr-1');
    const xr2 = body(stack, { power_on: false });
    await settle(stack, alice, stack.driver.spawn(alice, 'xr-2', xr2).operation);
    const before = stack.driver.getInstance(alice, 'xr-1');
    const resyncs = stack.xapi.connection.resyncs;
    const events: string[] = [];
    const sub = stack.driver.events.subscribe('alice', undefined, (e) =>
      events.push(`${e.type} ${e.instance_id}`),
    );
    await stack.sim.restart();
    // The mirror reloads with new refs; the index is rebuilt from it.
    await until(() => {
      try {
        return (
          stack.xapi.connection.resyncs > resyncs &&
          stack.driver.ready() &&
          stack.driver.listInstances(alice, { limit: 100, offset: 0 }).total >= 2
        );
      } catch {
        return false;
      }
    });
    const after = stack.driver.getInstance(alice, 'xr-1');
    expect(after.uuid).toBe(before.uuid);
    // New refs for the same VMs are no lifecycle event (no 'deleted', 'created', 'migrated').
    sub.close();
    expect(events).toEqual([]);
    const ids = stack.driver.listInstances(alice, { limit: 100, offset: 0 }).items.map((i) => i.id);
    expect(ids).toEqual(expect.arrayContaining(['xr-1', 'xr-2']));
    // A spawn retry replays; it builds no second VM.
    const vms = tagged(stack, 'VM', 'xr-2').length;
    const replay = stack.driver.spawn(alice, 'xr-2', xr2);
    expect(replay.replayed).toBe(true);
    expect(tagged(stack, 'VM', 'xr-2')).toHaveLength(vms);
    // DELETE removes the VM.
    const del = stack.driver.destroy(alice, 'xr-1', {});
    expect(del).not.toBeNull();
    expect((await settle(stack, alice, del!)).status).toBe('succeeded');
    expect(tagged(stack, 'VM', 'xr-1')).toHaveLength(0);
    await settle(stack, alice, stack.driver.destroy(alice, 'xr-2', {})!);
  });

  it('a duplicate VM with one instance tags stays visible and a destroy removes both', async () => {
    await spawned(stack, 'dup-1', { power_on: false });
    const [vmRef] = tagged(stack, 'VM', 'dup-1');
    // VM.clone keeps other_config: two VMs carry the instance's tags.
    await stack.xapi.callAsync('VM.clone', [vmRef, 'dup-1 copy']);
    await until(() => tagged(stack, 'VM', 'dup-1').length === 2);
    await new Promise((r) => setTimeout(r, 200));
    // The first VM goes (as a half-failed destroy would leave it); the copy stays visible.
    await stack.xapi.call('VM.destroy', vmRef);
    await until(() => {
      try {
        return stack.driver.getInstance(alice, 'dup-1').uuid !== '';
      } catch {
        return false;
      }
    });
    await stack.xapi.callAsync('VM.clone', [tagged(stack, 'VM', 'dup-1')[0], 'dup-1 copy 2']);
    await until(() => tagged(stack, 'VM', 'dup-1').length === 2);
    const del = stack.driver.destroy(alice, 'dup-1', {});
    expect((await settle(stack, alice, del!)).status).toBe('succeeded');
    expect(tagged(stack, 'VM', 'dup-1')).toHaveLength(0);
  });

  it('a failed spawn whose undo meets a transient VDI.destroy error leaves no disk', async () => {
    const before = poolSnapshot(stack.sim);
    stack.sim.faults.add('fail:VM.start:1:HOST_NOT_ENOUGH_FREE_MEMORY,8589934592,1073741824');
    stack.sim.faults.add('fail:VDI.destroy:1:INTERNAL_ERROR,transient');
    const { operation } = stack.driver.spawn(alice, 'undo-transient', body(stack));
    expect((await settle(stack, alice, operation)).status).toBe('failed');
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('a dropped VM.start leaves no instance building while its VM runs', async () => {
    const before = poolSnapshot(stack.sim);
    stack.sim.faults.add('drop:VM.start:1');
    const { operation } = stack.driver.spawn(alice, 'drop-start', body(stack));
    const done = await settle(stack, alice, operation, 60_000);
    if (done.status === 'succeeded') {
      expect(stack.driver.getInstance(alice, 'drop-start').state).toBe('active');
      await settle(stack, alice, stack.driver.destroy(alice, 'drop-start', {})!);
    }
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('a retried DELETE removes the disks a failed destroy left', async () => {
    const before = poolSnapshot(stack.sim);
    await spawned(stack, 'retry-del', { power_on: false });
    stack.sim.faults.add('fail:VDI.destroy:*:INTERNAL_ERROR,transient');
    const first = await settle(stack, alice, stack.driver.destroy(alice, 'retry-del', {})!);
    expect(first.status).toBe('failed');
    stack.sim.faults.clear();
    await until(() => tagged(stack, 'VM', 'retry-del').length === 0);
    expect(tagged(stack, 'VDI', 'retry-del').length).toBeGreaterThan(0);
    const again = stack.driver.destroy(alice, 'retry-del', {});
    expect(again).not.toBeNull();
    expect((await settle(stack, alice, again!)).status).toBe('succeeded');
    expect(poolSnapshot(stack.sim)).toEqual(before);
    // Nothing is left: a third DELETE has nothing to do.
    expect(stack.driver.destroy(alice, 'retry-del', {})).toBeNull();
  });

  it('an identical spawn replayed while a destroy runs answers instance_busy', async () => {
    const b = body(stack, { power_on: false });
    const { operation } = stack.driver.spawn(alice, 'replay-del', b);
    await settle(stack, alice, operation);
    stack.sim.faults.add('latency:VM.destroy:500');
    const del = stack.driver.destroy(alice, 'replay-del', {});
    expect(() => stack.driver.spawn(alice, 'replay-del', b)).toThrow(
      expect.objectContaining({ status: 409, code: 'instance_busy' }),
    );
    expect((await settle(stack, alice, del!)).status).toBe('succeeded');
  });

  it('the per-instance queue is bounded and a destroy cancels the operations queued behind', async () => {
    const local = await startDriverStack({ driver: { queueLimit: 4 } });
    try {
      const { operation } = local.driver.spawn(alice, 'q-1', body(local));
      await settle(local, alice, operation);
      await new Promise((r) => setTimeout(r, 100));
      local.sim.faults.add('latency:VM.clean_reboot:400');
      const reboots = [1, 2, 3, 4].map(() =>
        local.driver.action(alice, 'q-1', { action: 'reboot', type: 'soft' } as any),
      );
      expect(() =>
        local.driver.action(alice, 'q-1', { action: 'reboot', type: 'soft' } as any),
      ).toThrow(expect.objectContaining({ status: 429, code: 'instance_queue_full' }));
      const del = local.driver.destroy(alice, 'q-1', {});
      // Those not started are cancelled at once; the destroy does not wait for them.
      const states = reboots.map((r) => local.driver.getOperation(alice, r.id).status);
      expect(states.filter((s) => s === 'cancelled').length).toBeGreaterThanOrEqual(3);
      expect((await settle(local, alice, del!)).status).toBe('succeeded');
      expect(tagged(local, 'VM', 'q-1')).toHaveLength(0);
    } finally {
      await local.close();
    }
  });
});

describe('driver recovery without a retry', () => {
  it('the periodic sweep removes the disks a transient failure left in a destroy', async () => {
    const local = await startDriverStack({ driver: { sweepIntervalMs: 200 } });
    try {
      const before = poolSnapshot(local.sim);
      const { operation } = local.driver.spawn(alice, 'swept', body(local, { power_on: false }));
      await settle(local, alice, operation);
      local.sim.faults.add('fail:VDI.destroy:*:INTERNAL_ERROR,transient');
      const del = await settle(local, alice, local.driver.destroy(alice, 'swept', {})!);
      expect(del.status).toBe('failed');
      expect(tagged(local, 'VDI', 'swept').length).toBeGreaterThan(0);
      local.sim.faults.clear();
      await until(() => tagged(local, 'VDI', 'swept').length === 0);
      expect(poolSnapshot(local.sim)).toEqual(before);
    } finally {
      await local.close();
    }
  });

  it('ready() is false until start-up reconcile is over, and while the mirror reloads', async () => {
    const local = await startDriverStack();
    try {
      const { ComputeDriver } = await import('../../src/driver');
      const pino = (await import('pino')).default;
      const second = new ComputeDriver(local.xapi, {
        logger: pino({ level: 'silent' }),
        sweepIntervalMs: 3_600_000,
      });
      expect(second.ready()).toBe(false);
      await second.start();
      expect(second.ready()).toBe(true);
      // A XAPI restart: the stream reloads every class (held back here) with new refs.
      local.sim.faults.add('latency:VM.get_all_records:1000');
      const resyncs = local.xapi.connection.resyncs;
      await local.sim.restart();
      let sawNotReady = false;
      await until(() => {
        if (!second.ready()) sawNotReady = true;
        return local.xapi.connection.resyncs > resyncs && second.ready();
      });
      expect(sawNotReady).toBe(true);
      await second.close();
    } finally {
      await local.close();
    }
  });
});

describe('two services on one pool', () => {
  it('never undo each other: a reconcile pass leaves a live service spawn alone', async () => {
    const a = await startDriverStack({ driver: { serviceId: 'svc-a' } });
    try {
      const { ComputeDriver } = await import('../../src/driver');
      const pino = (await import('pino')).default;
      const b = new ComputeDriver(a.xapi, {
        logger: pino({ level: 'silent' }),
        serviceId: 'svc-b',
        sweepIntervalMs: 3_600_000,
      });
      a.sim.faults.add('latency:VM.start:1500');
      const { operation } = a.driver.spawn(alice, 'shared-1', body(a));
      await until(() => tagged(a, 'VM', 'shared-1').length === 1);
      // B starts (its start-up pass) and sweeps while A's spawn is building.
      await b.start();
      await b.reconcilePass();
      expect((await settle(a, alice, operation)).status).toBe('succeeded');
      expect(tagged(a, 'VM', 'shared-1')).toHaveLength(1);
      expect(b.lastReconcile?.cleanedUp).toEqual([]);
      await b.close();
    } finally {
      await a.close();
    }
  });

  it('take over the work of a service whose lease ran out, and only then', async () => {
    const s = await startDriverStack({
      driver: { serviceId: 'svc-live', sweepIntervalMs: 3_600_000 },
    });
    try {
      await spawned(s, 'orphaned', { power_on: false });
      const [vmRef] = tagged(s, 'VM', 'orphaned');
      // Another service was destroying it, and holds a lease for a little longer.
      const poolRef = (await s.xapi.call<string[]>('pool.get_all'))[0]!;
      await s.xapi.call(
        'pool.add_to_other_config',
        poolRef,
        `${LEASE_PREFIX}svc-gone`,
        String(Date.now() + 1500),
      );
      await s.xapi.call('VM.remove_from_other_config', vmRef, TAG.state);
      await s.xapi.call('VM.add_to_other_config', vmRef, TAG.state, 'deleting');
      await s.xapi.call('VM.add_to_other_config', vmRef, TAG.owner, 'svc-gone');
      await until(() => s.xapi.mirror.get('VM', vmRef!)?.other_config[TAG.owner] === 'svc-gone');
      await until(
        () =>
          !!s.xapi.mirror.query('pool', { fields: ['other_config'] })[0]?.other_config[
            `${LEASE_PREFIX}svc-gone`
          ],
      );
      await s.driver.reconcilePass();
      expect(tagged(s, 'VM', 'orphaned')).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1600));
      await s.driver.reconcilePass();
      expect(tagged(s, 'VM', 'orphaned')).toHaveLength(0);
      expect(s.driver.lastReconcile?.destroyed).toEqual(['alice/orphaned']);
    } finally {
      await s.close();
    }
  });
});
