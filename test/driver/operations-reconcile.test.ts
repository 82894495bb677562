// Operations (progress that follows the XAPI task, waiting, cancelling a power action) and
// start-up reconciliation after simulated crash states: a VM left building, one left deleting,
// an operation left running, orphan disks and NICs. Also the catalogue and host views.
import { TAG } from '../../src/driver/tags';
import {
  alice,
  bob,
  poolSnapshot,
  provisioningTemplate,
  settle,
  startDriverStack,
  vmOf,
  type DriverStack,
} from './stack';

describe('driver operations', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack({ sim: { timeScale: 4 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('reports progress and the running step while a spawn runs', async () => {
    const { operation } = stack.driver.spawn(alice, 'o-progress', {
      template: provisioningTemplate(stack),
      disks: [{ size_gb: 1 }],
      metadata: { a: 1 },
    });
    const seen: Array<{ progress: number; step?: string }> = [];
    while (true) {
      const op = stack.driver.getOperation(alice, operation.id);
      seen.push({ progress: op.progress, ...(op.step ? { step: op.step } : {}) });
      if (op.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const progress = seen.map((s) => s.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(1);
    expect(progress.some((p) => p > 0 && p < 1)).toBe(true);
    const steps = new Set(seen.map((s) => s.step).filter(Boolean));
    expect(steps.size).toBeGreaterThan(2);
    expect(stack.driver.getOperation(alice, operation.id).step).toBeUndefined();
  });

  it('waits for an operation up to a timeout', async () => {
    const { operation } = stack.driver.spawn(alice, 'o-wait', {
      template: provisioningTemplate(stack),
    });
    const early = await stack.driver.waitOperation(alice, operation.id, 1);
    expect(early.status).toBe('running');
    const done = await stack.driver.waitOperation(alice, operation.id, 15_000);
    expect(done.status).toBe('succeeded');
    await expect(stack.driver.waitOperation(alice, 'no-such-op', 10)).rejects.toMatchObject({
      status: 404,
      code: 'operation_not_found',
    });
  });

  it('cancels a power action through its XAPI task', async () => {
    const { operation } = stack.driver.spawn(alice, 'o-cancel', {
      template: provisioningTemplate(stack),
      power_on: false,
    });
    await settle(stack, alice, operation);
    // VM.start takes 40 ms x 4 here: cancel once its task reports progress (the client then
    // follows the task, so the cancel reaches XAPI as task.cancel).
    const vm = vmOf(stack, stack.driver.getInstance(alice, 'o-cancel').uuid);
    const op = stack.driver.action(alice, 'o-cancel', { action: 'power-on' });
    const deadline = Date.now() + 3000;
    while (stack.driver.getOperation(alice, op.id).progress === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 1));
    stack.driver.cancelOperation(alice, op.id);
    const done = await settle(stack, alice, op);
    expect(vmOf(stack, vm.uuid).power_state).toBe('Halted');
    expect(done.status).toBe('cancelled');
    expect(done.error).toMatchObject({ code: 'cancelled' });
    // Operations on one instance run in order: a later power-on still works.
    const again = await settle(
      stack,
      alice,
      stack.driver.action(alice, 'o-cancel', { action: 'power-on' }),
    );
    expect(again.status).toBe('succeeded');
  });

  it('runs operations of different instances in parallel, of one instance in turn', async () => {
    const t = provisioningTemplate(stack);
    const a = stack.driver.spawn(alice, 'o-par-a', { template: t }).operation;
    const b = stack.driver.spawn(alice, 'o-par-b', { template: t }).operation;
    let overlapped = false;
    while (true) {
      const [oa, ob] = [
        stack.driver.getOperation(alice, a.id),
        stack.driver.getOperation(alice, b.id),
      ];
      if (oa.status !== 'running' || ob.status !== 'running') break;
      if (oa.step !== 'queued' && ob.step !== 'queued') overlapped = true;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(overlapped).toBe(true);
    await Promise.all([settle(stack, alice, a), settle(stack, alice, b)]);
    // Two actions on one instance: the second waits in the queue, and they end in order.
    const first = stack.driver.action(alice, 'o-par-a', { action: 'reboot', type: 'hard' });
    const second = stack.driver.action(alice, 'o-par-a', { action: 'power-off', type: 'hard' });
    await new Promise((r) => setTimeout(r, 20));
    expect(stack.driver.getOperation(alice, second.id).step).toBe('queued');
    const [d1, d2] = await Promise.all([settle(stack, alice, first), settle(stack, alice, second)]);
    expect([d1.status, d2.status]).toEqual(['succeeded', 'succeeded']);
    expect(new Date(d2.finished_at!).getTime()).toBeGreaterThanOrEqual(
      new Date(d1.finished_at!).getTime(),
    );
    expect(stack.driver.getInstance(alice, 'o-par-a').power_state).toBe('shutdown');
  });

  it('serializes operations on one instance and answers them in order', async () => {
    const { operation } = stack.driver.spawn(alice, 'o-serial', {
      template: provisioningTemplate(stack),
    });
    const ops = [operation, stack.driver.destroy(alice, 'o-serial', {})!];
    const [spawned, destroyed] = await Promise.all(ops.map((o) => settle(stack, alice, o)));
    expect(spawned!.status).toBe('cancelled');
    expect(destroyed!.status).toBe('succeeded');
    expect(new Date(destroyed!.finished_at!).getTime()).toBeGreaterThanOrEqual(
      new Date(spawned!.finished_at!).getTime(),
    );
  });
});

describe('driver reconcile at start', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function spawnHalted(id: string): Promise<string> {
    const { operation } = stack.driver.spawn(alice, id, {
      template: provisioningTemplate(stack),
      power_on: false,
      disks: [{ size_gb: 1 }],
      user_data: Buffer.from('x').toString('base64'),
    });
    expect((await settle(stack, alice, operation)).status).toBe('succeeded');
    return operation.id;
  }

  async function setTags(vmUuid: string, tags: Record<string, string>): Promise<void> {
    const ref = stack.sim.store.byUuid('VM', vmUuid)!;
    for (const [k, v] of Object.entries(tags)) {
      await stack.xapi.call('VM.remove_from_other_config', ref, k);
      await stack.xapi.call('VM.add_to_other_config', ref, k, v);
    }
  }

  it('answers a spawn retried after a restart from the tags: same body replays, another 409', async () => {
    const opId = await spawnHalted('r-replay');
    await stack.restartDriver();
    const body = {
      template: provisioningTemplate(stack),
      power_on: false,
      disks: [{ size_gb: 1 }],
      user_data: Buffer.from('x').toString('base64'),
    };
    const before = poolSnapshot(stack.sim);
    const again = stack.driver.spawn(alice, 'r-replay', body);
    expect(again).toMatchObject({ replayed: true, operation: { id: opId, status: 'succeeded' } });
    expect(again.operation.result).toMatchObject({ id: 'r-replay', state: 'active' });
    expect(() => stack.driver.spawn(alice, 'r-replay', { ...body, vcpus: 3 })).toThrow(
      expect.objectContaining({ status: 409, code: 'conflict_spawn_mismatch' }),
    );
    expect(poolSnapshot(stack.sim)).toEqual(before);
    await settle(stack, alice, stack.driver.destroy(alice, 'r-replay', {})!);
  });

  it('removes a VM left building, with its disks, and says so in its operation', async () => {
    const before = poolSnapshot(stack.sim);
    await spawnHalted('r-building');
    const inst = stack.driver.getInstance(alice, 'r-building');
    const op = JSON.parse(vmOf(stack, inst.uuid).other_config[TAG.operation]);
    // A spawn the service stopped during: its own id (the journal holds the finished one's).
    const opId = 'spawn-op-before-crash';
    await setTags(inst.uuid, {
      [TAG.state]: 'building',
      [TAG.operation]: JSON.stringify({
        ...op,
        id: opId,
        status: 'running',
        finished_at: null,
        step: 'config-drive',
      }),
    });
    await stack.restartDriver();
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect(stack.driver.lastReconcile?.cleanedUp).toEqual(['alice/r-building']);
    const after = stack.driver.getOperation(alice, opId);
    expect(after).toMatchObject({
      id: opId,
      kind: 'spawn',
      status: 'cancelled',
      error: { code: 'cancelled' },
    });
    expect(after.error?.detail).toMatch(/restart/);
    expect(() => stack.driver.getInstance(alice, 'r-building')).toThrow(
      expect.objectContaining({ status: 404 }),
    );
  });

  it('finishes a destroy left deleting', async () => {
    const before = poolSnapshot(stack.sim);
    await spawnHalted('r-deleting');
    const inst = stack.driver.getInstance(alice, 'r-deleting');
    const opId = 'destroy-op-before-crash';
    await setTags(inst.uuid, {
      [TAG.state]: 'deleting',
      [TAG.operation]: JSON.stringify({
        id: opId,
        kind: 'destroy',
        instance_id: 'r-deleting',
        status: 'running',
        progress: 0.2,
        created_at: new Date().toISOString(),
        finished_at: null,
        error: null,
        args: { keep_disks: false },
      }),
    });
    await stack.restartDriver();
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect(stack.driver.lastReconcile?.destroyed).toEqual(['alice/r-deleting']);
    expect(stack.driver.getOperation(alice, opId)).toMatchObject({
      status: 'succeeded',
      kind: 'destroy',
      result: null,
    });
  });

  it('records an operation left running on a surviving instance as interrupted', async () => {
    await spawnHalted('r-interrupted');
    const inst = stack.driver.getInstance(alice, 'r-interrupted');
    await setTags(inst.uuid, {
      [TAG.operation]: JSON.stringify({
        id: 'reboot-before-crash',
        kind: 'reboot',
        instance_id: 'r-interrupted',
        status: 'running',
        progress: 0.5,
        created_at: new Date().toISOString(),
        finished_at: null,
        error: null,
      }),
    });
    await stack.restartDriver();
    expect(stack.driver.getInstance(alice, 'r-interrupted').state).toBe('active');
    expect(stack.driver.getOperation(alice, 'reboot-before-crash')).toMatchObject({
      status: 'cancelled',
      error: { code: 'cancelled' },
    });
    expect(JSON.parse(vmOf(stack, inst.uuid).other_config[TAG.operation]).status).toBe('cancelled');
  });

  it('removes tagged disks and NICs whose instance is gone, and nothing else', async () => {
    const before = poolSnapshot(stack.sim);
    const sr = stack.driver.srs().find((s) => s.default)!;
    const srRef = stack.sim.store.byUuid('SR', sr.uuid)!;
    const mkVdi = (oc: Record<string, string>): Promise<string> =>
      stack.xapi.call<string>('VDI.create', {
        name_label: 'orphan?',
        name_description: '',
        SR: srRef,
        virtual_size: 1024 * 1024,
        type: 'user',
        sharable: false,
        read_only: false,
        other_config: oc,
        xenstore_data: {},
        sm_config: {},
        tags: [],
      });
    await mkVdi({ [TAG.instanceId]: 'gone', [TAG.namespace]: 'alice' });
    const kept = await mkVdi({
      [TAG.instanceId]: 'gone',
      [TAG.namespace]: 'alice',
      [TAG.state]: 'kept',
    });
    const untagged = await mkVdi({});
    // A NIC tagged for an instance that no longer exists, on another instance's VM.
    await spawnHalted('r-host-vm');
    const hostVm = stack.sim.store.byUuid('VM', stack.driver.getInstance(alice, 'r-host-vm').uuid)!;
    const net = stack.driver.networks()[0]!;
    const vif = await stack.xapi.call<string>('VIF.create', {
      device: '5',
      network: stack.sim.store.byUuid('network', net.uuid)!,
      VM: hostVm,
      MAC: '',
      MTU: 1500,
      other_config: { [TAG.instanceId]: 'gone', [TAG.namespace]: 'alice' },
      qos_algorithm_type: '',
      qos_algorithm_params: {},
    });
    const withExtras = poolSnapshot(stack.sim);
    await stack.restartDriver();
    const after = poolSnapshot(stack.sim);
    expect(stack.driver.lastReconcile).toMatchObject({ orphanVdis: 1, orphanVifs: 1 });
    expect(after.VDI.length).toBe(withExtras.VDI.length - 1);
    expect(after.VDI).toContain(kept);
    expect(after.VDI).toContain(untagged);
    expect(after.VIF).not.toContain(vif);
    // Clean up what the test made by hand.
    await stack.xapi.call('VDI.destroy', kept);
    await stack.xapi.call('VDI.destroy', untagged);
    await settle(stack, alice, stack.driver.destroy(alice, 'r-host-vm', {})!);
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('removes a clone a service killed during VM.clone left untagged under its reserved name (it leaked before)', async () => {
    // A template with disks of its own, made from an instance: its clones carry that instance's tags.
    await spawnHalted('r-golden-base');
    const baseRef = stack.sim.store.byUuid(
      'VM',
      stack.driver.getInstance(alice, 'r-golden-base').uuid,
    )!;
    const golden = await stack.xapi.call<string>('VM.clone', baseRef, 'r-golden');
    await stack.xapi.call('VM.set_is_a_template', golden, true);
    const plainTpl = stack.sim.store.byUuid('VM', provisioningTemplate(stack))!;
    const before = poolSnapshot(stack.sim);
    // What a killed service leaves: the task's clone under the reserved name, not tagged by it.
    await stack.xapi.callAsync<string>('VM.clone', [golden, 'xcd-building/alice/r-killed']);
    await stack.xapi.callAsync<string>('VM.clone', [plainTpl, 'xcd-building/bob/r-killed-2']);
    expect(poolSnapshot(stack.sim).VDI.length).toBeGreaterThan(before.VDI.length);
    await stack.restartDriver();
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect([...stack.driver.lastReconcile!.cleanedUp].sort()).toEqual([
      'alice/r-killed',
      'bob/r-killed-2',
    ]);
    // A spawn that runs through shows the real name only.
    const { operation } = stack.driver.spawn(alice, 'r-golden-child', {
      template: 'r-golden',
      power_on: false,
    });
    expect((await settle(stack, alice, operation)).status).toBe('succeeded');
    const child = stack.driver.getInstance(alice, 'r-golden-child');
    expect(vmOf(stack, child.uuid).name_label).not.toMatch(/^xcd-building\//);
    for (const cls of ['VM', 'VDI'] as const)
      for (const rec of stack.sim.store.all(cls).values())
        expect(String(rec.name_label)).not.toMatch(/^xcd-building\//);
  });
});

describe('driver catalogue and host views', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('lists templates, networks and SRs from the mirror', () => {
    const templates = stack.driver.templates();
    expect(templates.length).toBeGreaterThan(0);
    const prov = templates.find((t) => t.uuid === provisioningTemplate(stack))!;
    expect(prov.disk_gb).toBeGreaterThan(0);
    expect(templates.every((t) => t.uuid && t.name_label)).toBe(true);
    const nets = stack.driver.networks();
    expect(nets.length).toBeGreaterThan(0);
    expect(nets.every((n) => typeof n.bridge === 'string')).toBe(true);
    const srs = stack.driver.srs();
    expect(srs.filter((s) => s.default)).toHaveLength(1);
    for (const s of srs) expect(s.free_gb).toBe(Math.max(0, s.size_gb - s.used_gb));
  });

  it('sums the live hosts and breaks the pool down per host', async () => {
    const { operation } = stack.driver.spawn(bob, 'h-1', {
      template: provisioningTemplate(stack),
      vcpus: 3,
    });
    await settle(stack, bob, operation);
    const h = stack.driver.host();
    expect(h.hypervisor_type).toBe('xen');
    expect(Number.isInteger(h.hypervisor_version)).toBe(true);
    expect(h.hypervisor_version).toBeGreaterThan(0);
    const live = h.hosts.filter((x) => x.live);
    expect(h.vcpus.total).toBe(live.reduce((s, x) => s + x.vcpus.total, 0));
    expect(h.vcpus.used).toBe(live.reduce((s, x) => s + x.vcpus.used, 0));
    expect(h.vcpus.used).toBeGreaterThanOrEqual(3);
    expect(h.memory_mb.total).toBe(live.reduce((s, x) => s + x.memory_mb.total, 0));
    expect(h.hosts.filter((x) => x.master)).toHaveLength(1);
    expect(h.hostname.length).toBeGreaterThan(0);
    expect(h.disk_gb.total).toBeGreaterThan(0);
  });
});
