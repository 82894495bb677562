// Behaviour of snapshots through the driver: disk-only and memory snapshots named by the
// orchestrator's id (idempotent), listing, revert restoring the disks and settings (and a
// checkpoint's suspended state), delete removing exactly what the snapshot made, and errors.
import { done, setState, simVm, spawnInstance, until } from './instance-helpers';
import { alice, aliceViewer, poolSnapshot, startDriverStack, type DriverStack } from './stack';

describe('snapshots', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'snap-1', { vcpus: 1, memory_mb: 512 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const rootDisk = (): { uuid: string; size_gb: number } =>
    stack.driver.getInstance(alice, 'snap-1').disks.find((d) => d.device === '0')!;

  it('takes a disk-only snapshot under the orchestrator id, once', async () => {
    const before = poolSnapshot(stack.sim);
    const op = stack.driver.createSnapshot(alice, 'snap-1', 's-disk', {});
    expect(op).toMatchObject({ kind: 'snapshot', status: 'running', instance_id: 'snap-1' });
    expect((await done(stack, op)).status).toBe('succeeded');
    const list = stack.driver.listSnapshots(alice, 'snap-1');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      id: 's-disk',
      instance_id: 'snap-1',
      memory: false,
      power_state_at_snapshot: 'running',
      vcpus: 1,
      memory_mb: 512,
    });
    expect(list[0].disks.find((d) => d.device === '0')?.size_gb).toBe(rootDisk().size_gb);
    expect(stack.driver.getSnapshot(alice, 'snap-1', 's-disk').uuid).toBe(list[0].uuid);
    const after = poolSnapshot(stack.sim);
    expect(after.VM.length).toBe(before.VM.length + 1);

    // The same id again: succeeded at once, no second snapshot.
    const replay = stack.driver.createSnapshot(alice, 'snap-1', 's-disk', {});
    expect(replay.status).toBe('succeeded');
    expect(poolSnapshot(stack.sim)).toEqual(after);
    // The instance list does not show snapshots as instances.
    expect(
      stack.driver.listInstances(alice, { limit: 100, offset: 0 }).items.map((i) => i.id),
    ).toEqual(['snap-1']);
  });

  it('reverts to the snapshot: disks, vCPUs and memory come back, the instance halted', async () => {
    const snapDisk = rootDisk();
    await setState(stack, vmRef, 'Halted');
    const grown = await done(
      stack,
      stack.driver.action(alice, 'snap-1', {
        action: 'resize',
        vcpus: 2,
        memory_mb: 768,
        disks: [{ device: '0', size_gb: Math.ceil(snapDisk.size_gb) + 2 }],
      }),
    );
    expect(grown.status).toBe('succeeded');
    expect(stack.driver.getInstance(alice, 'snap-1')).toMatchObject({ vcpus: 2, memory_mb: 768 });
    await setState(stack, vmRef, 'Running');

    const op = stack.driver.revertSnapshot(alice, 'snap-1', 's-disk', {});
    const final = await done(stack, op);
    expect(final.error).toBeNull();
    const inst = stack.driver.getInstance(alice, 'snap-1');
    expect(inst).toMatchObject({ vcpus: 1, memory_mb: 512, xapi_power_state: 'Halted' });
    const root = inst.disks.find((d) => d.device === '0')!;
    expect(root.size_gb).toBe(snapDisk.size_gb);
    expect(root.uuid).not.toBe(snapDisk.uuid);
    // The reverted disk belongs to the instance (destroy will remove it).
    const vdi = stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', root.uuid)!) as any;
    expect(vdi.other_config).toMatchObject({ xcd_instance_id: 'snap-1', xcd_namespace: 'alice' });
  });

  it('takes a checkpoint with memory of a running instance; revert brings it back suspended, or running', async () => {
    await setState(stack, vmRef, 'Running');
    expect(
      (await done(stack, stack.driver.createSnapshot(alice, 'snap-1', 's-mem', { memory: true })))
        .status,
    ).toBe('succeeded');
    expect(stack.driver.getSnapshot(alice, 'snap-1', 's-mem')).toMatchObject({
      memory: true,
      power_state_at_snapshot: 'running',
    });
    expect(
      (await done(stack, stack.driver.revertSnapshot(alice, 'snap-1', 's-mem', {}))).status,
    ).toBe('succeeded');
    expect(simVm(stack, vmRef).power_state).toBe('Suspended');
    expect(
      (await done(stack, stack.driver.revertSnapshot(alice, 'snap-1', 's-mem', { power_on: true })))
        .status,
    ).toBe('succeeded');
    expect(stack.driver.getInstance(alice, 'snap-1').xapi_power_state).toBe('Running');
  });

  it('refuses a memory snapshot of an instance that is not running (409 with the states)', async () => {
    await setState(stack, vmRef, 'Halted');
    expect(() => stack.driver.createSnapshot(alice, 'snap-1', 's-x', { memory: true })).toThrow(
      expect.objectContaining({ status: 409, code: 'invalid_power_state' }),
    );
  });

  it('takes disk-only snapshots in every power state', async () => {
    for (const [i, state] of (['Halted', 'Paused', 'Suspended'] as const).entries()) {
      await setState(stack, vmRef, state);
      const final = await done(
        stack,
        stack.driver.createSnapshot(alice, 'snap-1', `s-any-${i}`, {}),
      );
      expect([state, final.status]).toEqual([state, 'succeeded']);
      expect(stack.driver.getSnapshot(alice, 'snap-1', `s-any-${i}`).power_state_at_snapshot).toBe(
        state === 'Halted' ? 'shutdown' : state.toLowerCase(),
      );
    }
  });

  it('deletes a snapshot with the disks only it used; a second delete has nothing to do', async () => {
    await setState(stack, vmRef, 'Halted');
    const before = poolSnapshot(stack.sim);
    await done(stack, stack.driver.createSnapshot(alice, 'snap-1', 's-del', {}));
    expect(poolSnapshot(stack.sim)).not.toEqual(before);
    const op = stack.driver.deleteSnapshot(alice, 'snap-1', 's-del');
    expect((await done(stack, op)).status).toBe('succeeded');
    await until(() => !stack.driver.listSnapshots(alice, 'snap-1').some((s) => s.id === 's-del'));
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect(stack.driver.deleteSnapshot(alice, 'snap-1', 's-del')).toBeNull();
  });

  it('adopts the snapshot a create interrupted before tagging it, when the same id is retried', async () => {
    await setState(stack, vmRef, 'Halted');
    // What a crash between VM.snapshot and the tag step leaves: an untagged snapshot carrying
    // the pending mark the instance had while VM.snapshot ran.
    await stack.xapi.call('VM.add_to_other_config', vmRef, 'xcd_snapshot_pending', 's-crash');
    const orphan = await stack.xapi.call<string>('VM.snapshot', vmRef, 'interrupted');
    await stack.xapi.call('VM.remove_from_other_config', vmRef, 'xcd_snapshot_pending');
    await until(() => stack.xapi.mirror.get('VM', orphan)?.is_a_snapshot === true);
    expect(
      stack.driver
        .listSnapshots(alice, 'snap-1')
        .some((s) => s.uuid === (simVm(stack, orphan) as any).uuid),
    ).toBe(false);
    const before = poolSnapshot(stack.sim);
    const final = await done(stack, stack.driver.createSnapshot(alice, 'snap-1', 's-crash', {}));
    expect(final.status).toBe('succeeded');
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect(stack.driver.getSnapshot(alice, 'snap-1', 's-crash').uuid).toBe(
      simVm(stack, orphan).uuid,
    );
    expect(simVm(stack, orphan).other_config.xcd_snapshot_pending).toBeUndefined();
    expect(simVm(stack, vmRef).other_config.xcd_snapshot_pending).toBeUndefined();
  });

  it('answers unknown snapshots 404 and hides them from other namespaces', () => {
    expect(() => stack.driver.getSnapshot(alice, 'snap-1', 'nope')).toThrow(
      expect.objectContaining({ status: 404, code: 'snapshot_not_found' }),
    );
    expect(() => stack.driver.revertSnapshot(alice, 'snap-1', 'nope', {})).toThrow(
      expect.objectContaining({ status: 404, code: 'snapshot_not_found' }),
    );
    for (const mutate of [
      () => stack.driver.createSnapshot(aliceViewer, 'snap-1', 's-disk', {}),
      () => stack.driver.revertSnapshot(aliceViewer, 'snap-1', 's-disk', {}),
      () => stack.driver.deleteSnapshot(aliceViewer, 'snap-1', 's-disk'),
    ])
      expect(mutate).toThrow(expect.objectContaining({ status: 403, code: 'forbidden' }));
    expect(() => stack.driver.listSnapshots({ ...alice, namespace: 'bob' }, 'snap-1')).toThrow(
      expect.objectContaining({ status: 404, code: 'instance_not_found' }),
    );
  });

  it('destroying the instance removes its snapshots and every disk they made', async () => {
    const before = poolSnapshot(stack.sim);
    await spawnInstance(stack, 'snap-2', { disks: [{ size_gb: 1 }] });
    const spawned = poolSnapshot(stack.sim);
    await done(stack, stack.driver.createSnapshot(alice, 'snap-2', 'a', {}));
    await done(stack, stack.driver.createSnapshot(alice, 'snap-2', 'b', { memory: true }));
    expect(poolSnapshot(stack.sim).VDI.length).toBeGreaterThan(spawned.VDI.length);
    await done(stack, stack.driver.destroy(alice, 'snap-2', {}));
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });
});
