// Snapshots of one disk of an instance, through the driver: VDI.snapshot of that disk alone,
// tagged with the instance, device and id (a retry answered at once), listed per device and never
// among the whole-instance snapshots; revert brings the disk's bytes back (halted: any owned
// disk; running: a data disk swapped hot, the root disk 409); delete; refusals (volumes, the
// config drive, an empty device, another namespace); a fault at every XAPI call of a create and a
// revert leaving the disk as it was; removing the disk or destroying the instance destroys its
// disk snapshots.
import { openSync, readSync, closeSync } from 'node:fs';
import type { Instance } from '../../src/driver/types';
import { done, setState, simVbdAt, simVm, spawnInstance, until } from './instance-helpers';
import { alice, bob, poolSnapshot, settle, startDriverStack, type DriverStack } from './stack';

describe('snapshots of one disk', () => {
  let stack: DriverStack;
  let vmRef: string;
  let dataDevice: string;
  let cdDevice: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'ds-1', {
      vcpus: 1,
      memory_mb: 256,
      disks: [{ size_gb: 1 }],
      user_data: Buffer.from('hi').toString('base64'),
    });
    const inst = stack.driver.getInstance(alice, 'ds-1');
    dataDevice = inst.disks.find((d) => d.type === 'disk' && d.device !== '0')!.device;
    cdDevice = inst.disks.find((d) => d.type === 'cdrom' && d.uuid)!.device;
  });
  afterAll(async () => {
    await stack?.close();
  });

  const vbdAt = (device: string): Record<string, any> | undefined => simVbdAt(stack, vmRef, device);
  const vdiOf = (device: string): Record<string, any> =>
    stack.sim.store.get('VDI', vbdAt(device)!.VDI) as Record<string, any>;
  /** Writes `text` at the start of the disk at `device`, through XAPI's /import_raw_vdi. */
  const write = async (device: string, text: string): Promise<void> => {
    await stack.xapi.httpPut('/import_raw_vdi', { vdi: vbdAt(device)!.VDI }, Buffer.from(text));
  };
  /** The first `n` bytes of the disk at `device`, as the simulator holds them. */
  const read = (device: string, n: number): string => {
    const fd = openSync(stack.sim.vdiContent(vdiOf(device).uuid as string), 'r');
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    closeSync(fd);
    return buf.toString();
  };
  const snapVdi = (device: string, id: string): Record<string, any> | undefined =>
    [...stack.sim.store.all('VDI').values()].find(
      (v: any) =>
        v.other_config.xcd_disk_snapshot_id === id && v.other_config.xcd_device === device,
    ) as Record<string, any> | undefined;

  it('snapshots the one disk, tagged with the instance, device and id (running)', async () => {
    await setState(stack, vmRef, 'Running');
    await write(dataDevice, 'before');
    const diskRef = vbdAt(dataDevice)!.VDI as string;
    stack.calls.length = 0;
    const op = stack.driver.createDiskSnapshot(alice, 'ds-1', dataDevice, 's1', {});
    const final = await done(stack, op);
    expect(final).toMatchObject({ status: 'succeeded', kind: 'disk-snapshot' });
    expect(stack.calls).toContain('VDI.snapshot');
    expect(stack.calls).not.toContain('VM.snapshot');
    const snap = snapVdi(dataDevice, 's1')!;
    expect(snap).toMatchObject({ is_a_snapshot: true, snapshot_of: diskRef });
    expect(snap.other_config).toEqual({
      xcd_namespace: 'alice',
      xcd_instance_id: 'ds-1',
      xcd_role: 'disk-snapshot',
      xcd_device: dataDevice,
      xcd_disk_snapshot_id: 's1',
    });
    // The disk itself carries no mark once done.
    expect(vdiOf(dataDevice).other_config.xcd_disk_snapshot_pending).toBeUndefined();
    const list = stack.driver.listDiskSnapshots(alice, 'ds-1', dataDevice);
    expect(list).toEqual([
      expect.objectContaining({ id: 's1', device: dataDevice, uuid: snap.uuid, size_gb: 1 }),
    ]);
    expect(stack.driver.listSnapshots(alice, 'ds-1')).toEqual([]);
    expect(stack.driver.listDiskSnapshots(alice, 'ds-1', '0')).toEqual([]);
  });

  it('answers a retry of an existing id at once, without a second snapshot', () => {
    const vdis = stack.sim.store.count('VDI');
    stack.calls.length = 0;
    const again = stack.driver.createDiskSnapshot(alice, 'ds-1', dataDevice, 's1', {});
    expect(again).toMatchObject({ status: 'succeeded', kind: 'disk-snapshot' });
    expect(stack.calls).toEqual([]);
    expect(stack.sim.store.count('VDI')).toBe(vdis);
  });

  it('reverts a data disk of a running instance hot: the bytes come back', async () => {
    await write(dataDevice, 'after!');
    expect(read(dataDevice, 6)).toBe('after!');
    const oldRef = vbdAt(dataDevice)!.VDI as string;
    const oldTags = { ...vdiOf(dataDevice).other_config };
    stack.calls.length = 0;
    const final = await done(
      stack,
      stack.driver.revertDiskSnapshot(alice, 'ds-1', dataDevice, 's1'),
    );
    expect(final).toMatchObject({ status: 'succeeded', kind: 'revert-disk-snapshot' });
    expect(stack.calls).toEqual(expect.arrayContaining(['VDI.clone', 'VBD.unplug', 'VBD.plug']));
    expect(stack.sim.store.has('VDI', oldRef)).toBe(false);
    const vbd = vbdAt(dataDevice)!;
    expect(vbd.currently_attached).toBe(true);
    expect(read(dataDevice, 6)).toBe('before');
    expect(vdiOf(dataDevice).other_config).toEqual(oldTags);
    expect(simVm(stack, vmRef).power_state).toBe('Running');
    // The snapshot stays, and can be reverted to again.
    expect(stack.driver.listDiskSnapshots(alice, 'ds-1', dataDevice).map((s) => s.id)).toEqual([
      's1',
    ]);
    expect((final.result as Instance).disks).toContainEqual(
      expect.objectContaining({ device: dataDevice, uuid: vdiOf(dataDevice).uuid }),
    );
  });

  it('refuses a root disk revert while running (409 invalid_power_state), halted it reverts', async () => {
    await write('0', 'root-1');
    await done(stack, stack.driver.createDiskSnapshot(alice, 'ds-1', '0', 'r1', {}));
    await write('0', 'root-2');
    const before = poolSnapshot(stack.sim);
    expect(() => stack.driver.revertDiskSnapshot(alice, 'ds-1', '0', 'r1')).toThrow(
      expect.objectContaining({ status: 409, code: 'invalid_power_state' }),
    );
    expect(poolSnapshot(stack.sim)).toEqual(before);
    await setState(stack, vmRef, 'Halted');
    const final = await done(stack, stack.driver.revertDiskSnapshot(alice, 'ds-1', '0', 'r1'));
    expect(final.status).toBe('succeeded');
    expect(read('0', 6)).toBe('root-1');
    expect(vbdAt('0')!.bootable).toBe(true);
    expect(simVm(stack, vmRef).power_state).toBe('Halted');
  });

  it('refuses what is not a disk the instance owns (a volume, the config drive), unknown ids', async () => {
    // a volume: a disk alice's namespace keeps, attached at device 6 (it stays hers, not ds-1's)
    const volRef = await stack.xapi.call<string>('VDI.create', {
      SR: vdiOf('0').SR,
      virtual_size: 1024 ** 3,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: { xcd_namespace: 'alice', xcd_instance_id: 'gone-1', xcd_state: 'kept' },
      name_label: 'volume',
    });
    const volUuid = (stack.sim.store.get('VDI', volRef) as any).uuid as string;
    await until(() => !!stack.xapi.mirror.getByUuid('VDI', volUuid));
    const att = await done(
      stack,
      stack.driver.attachVolume(alice, 'ds-1', volUuid, { device: '6' }),
    );
    expect(att.status).toBe('succeeded');
    const before = poolSnapshot(stack.sim);
    stack.calls.length = 0;
    for (const device of [cdDevice, '9', '6'])
      expect(() => stack.driver.createDiskSnapshot(alice, 'ds-1', device, 'x', {})).toThrow(
        expect.objectContaining({ status: 409, code: 'operation_not_allowed' }),
      );
    expect(() => stack.driver.revertDiskSnapshot(alice, 'ds-1', dataDevice, 'nope')).toThrow(
      expect.objectContaining({ status: 404, code: 'snapshot_not_found' }),
    );
    for (const call of [
      () => stack.driver.createDiskSnapshot(bob, 'ds-1', dataDevice, 'x', {}),
      () => stack.driver.listDiskSnapshots(bob, 'ds-1', dataDevice),
      () => stack.driver.revertDiskSnapshot(bob, 'ds-1', dataDevice, 's1'),
      () => stack.driver.deleteDiskSnapshot(bob, 'ds-1', dataDevice, 's1'),
    ])
      expect(call).toThrow(expect.objectContaining({ status: 404, code: 'instance_not_found' }));
    expect(stack.driver.deleteDiskSnapshot(alice, 'ds-1', dataDevice, 'nope')).toBeNull();
    expect(stack.calls).toEqual([]);
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('leaves the pool as it was when any XAPI call of a create fails', async () => {
    await setState(stack, vmRef, 'Running');
    stack.calls.length = 0;
    const ok = await done(
      stack,
      stack.driver.createDiskSnapshot(alice, 'ds-1', dataDevice, 'f', {}),
    );
    expect(ok.status).toBe('succeeded');
    const made = stack.calls.filter((m) => !/^VM\.(add_to|remove_from)_other_config$/.test(m));
    await done(stack, stack.driver.deleteDiskSnapshot(alice, 'ds-1', dataDevice, 'f'));
    expect(snapVdi(dataDevice, 'f')).toBeUndefined();
    const failures = await eachFault(made, () =>
      stack.driver.createDiskSnapshot(alice, 'ds-1', dataDevice, 'f', {}),
    );
    expect(failures).toEqual([]);
    expect(vdiOf(dataDevice).other_config.xcd_disk_snapshot_pending).toBeUndefined();
  });

  it('puts the disk back when any XAPI call of a revert fails (running)', async () => {
    await write(dataDevice, 'third!');
    stack.calls.length = 0;
    const ok = await done(stack, stack.driver.revertDiskSnapshot(alice, 'ds-1', dataDevice, 's1'));
    expect(ok.status).toBe('succeeded');
    const made = stack.calls.filter((m) => !/^VM\.(add_to|remove_from)_other_config$/.test(m));
    expect(made).toEqual(expect.arrayContaining(['VDI.clone', 'VBD.destroy', 'VDI.destroy']));
    await write(dataDevice, 'fourth');
    // The VBD an undo makes again is a new object: what must hold is the disk (VDI), its tags,
    // its device and plug state, and no VDI or VBD more or less than before.
    const failures = await eachFault(
      made.filter((m) => m !== 'VDI.destroy'),
      () => stack.driver.revertDiskSnapshot(alice, 'ds-1', dataDevice, 's1'),
      () => ({
        vdi: vbdAt(dataDevice)?.VDI,
        attached: vbdAt(dataDevice)?.currently_attached,
        tags: vdiOf(dataDevice).other_config,
        bytes: read(dataDevice, 6),
        vdis: poolSnapshot(stack.sim).VDI,
        vbds: poolSnapshot(stack.sim).VBD.length,
      }),
    );
    expect(failures).toEqual([]);
    expect(read(dataDevice, 6)).toBe('fourth');
  });

  /** Runs `start` with the Nth call of each method of `calls` failing; returns what differed. */
  async function eachFault(
    calls: string[],
    start: () => ReturnType<typeof stack.driver.createDiskSnapshot>,
    state: () => unknown = () => poolSnapshot(stack.sim),
  ): Promise<string[]> {
    const seen = new Map<string, number>();
    const failures: string[] = [];
    for (const method of calls) {
      const nth = (seen.get(method) ?? 0) + 1;
      seen.set(method, nth);
      const before = JSON.stringify(state());
      stack.sim.faults.add(`fail:${method}:${nth}:INTERNAL_ERROR,injected`);
      const final = await settle(stack, alice, start());
      stack.sim.faults.clear();
      const where = `${method} #${nth}`;
      if (final.status !== 'failed') failures.push(`${where}: ${final.status}`);
      else if (final.error?.xapi_error?.code !== 'INTERNAL_ERROR')
        failures.push(`${where}: ${JSON.stringify(final.error)}`);
      const after = JSON.stringify(state());
      if (after !== before) failures.push(`${where}: ${before} -> ${after}`);
    }
    return failures;
  }

  it('adopts the snapshot a create interrupted before its tag step left', async () => {
    // What a service stopped right after VDI.snapshot leaves: the disk marked with the id, and
    // a snapshot carrying the disk's own tags and that mark.
    const diskRef = vbdAt(dataDevice)!.VDI as string;
    await stack.xapi.call(
      'VDI.add_to_other_config',
      diskRef,
      'xcd_disk_snapshot_pending',
      `${dataDevice}/i1`,
    );
    const leftRef = await stack.xapi.call<string>('VDI.snapshot', diskRef, {});
    await until(() => !!stack.xapi.mirror.get('VDI', leftRef));
    expect((stack.sim.store.get('VDI', leftRef) as any).other_config).toMatchObject({
      xcd_role: 'disk',
      xcd_disk_snapshot_pending: `${dataDevice}/i1`,
    });
    const vdis = stack.sim.store.count('VDI');
    stack.calls.length = 0;
    const final = await done(
      stack,
      stack.driver.createDiskSnapshot(alice, 'ds-1', dataDevice, 'i1', {}),
    );
    expect(final.status).toBe('succeeded');
    expect(stack.calls).not.toContain('VDI.snapshot');
    expect(stack.sim.store.count('VDI')).toBe(vdis);
    expect(snapVdi(dataDevice, 'i1')!.uuid).toBe((stack.sim.store.get('VDI', leftRef) as any).uuid);
    expect(vdiOf(dataDevice).other_config.xcd_disk_snapshot_pending).toBeUndefined();
    await done(stack, stack.driver.deleteDiskSnapshot(alice, 'ds-1', dataDevice, 'i1'));
    expect(stack.sim.store.has('VDI', leftRef)).toBe(false);
  });

  it('deletes a snapshot (VDI.destroy); a second delete answers null', async () => {
    const ref = stack.sim.store.byUuid('VDI', snapVdi('0', 'r1')!.uuid as string)!;
    const final = await done(stack, stack.driver.deleteDiskSnapshot(alice, 'ds-1', '0', 'r1'));
    expect(final).toMatchObject({ status: 'succeeded', kind: 'delete-disk-snapshot' });
    expect(stack.sim.store.has('VDI', ref)).toBe(false);
    expect(stack.driver.listDiskSnapshots(alice, 'ds-1', '0')).toEqual([]);
    expect(stack.driver.deleteDiskSnapshot(alice, 'ds-1', '0', 'r1')).toBeNull();
  });

  it('removing a disk destroys its snapshots: a new disk at the device starts without', async () => {
    const added = await done(stack, stack.driver.addDisk(alice, 'ds-1', '8', { size_gb: 1 }));
    expect(added.status).toBe('succeeded');
    await done(stack, stack.driver.createDiskSnapshot(alice, 'ds-1', '8', '0', {}));
    const ref = stack.sim.store.byUuid('VDI', snapVdi('8', '0')!.uuid as string)!;
    await done(stack, stack.driver.removeDisk(alice, 'ds-1', '8'));
    expect(stack.sim.store.has('VDI', ref)).toBe(false);
    await done(stack, stack.driver.addDisk(alice, 'ds-1', '8', { size_gb: 1 }));
    expect(stack.driver.listDiskSnapshots(alice, 'ds-1', '8')).toEqual([]);
    const again = await done(stack, stack.driver.createDiskSnapshot(alice, 'ds-1', '8', '0', {}));
    expect(again.status).toBe('succeeded');
    expect(snapVdi('8', '0')!.snapshot_of).toBe(vbdAt('8')!.VDI);
  });

  it('a destroy keeping the disks leaves their snapshots to reconcile, which removes them', async () => {
    await spawnInstance(stack, 'ds-2', { vcpus: 1, memory_mb: 256, disks: [{ size_gb: 1 }] });
    const dev = stack.driver
      .getInstance(alice, 'ds-2')
      .disks.find((d) => d.type === 'disk' && d.device !== '0')!.device;
    await done(stack, stack.driver.createDiskSnapshot(alice, 'ds-2', dev, 'k', {}));
    const ref = stack.sim.store.byUuid('VDI', snapVdi(dev, 'k')!.uuid as string)!;
    await done(stack, stack.driver.destroy(alice, 'ds-2', { keep_disks: true }));
    const kept = [...stack.sim.store.all('VDI').entries()]
      .filter(
        ([, v]: [string, any]) =>
          v.other_config.xcd_instance_id === 'ds-2' && v.other_config.xcd_state === 'kept',
      )
      .map(([r]) => r);
    expect(kept.length).toBeGreaterThan(0);
    expect(stack.sim.store.has('VDI', ref)).toBe(true);
    await stack.driver.reconcilePass();
    expect(stack.sim.store.has('VDI', ref)).toBe(false);
    for (const r of kept) expect(stack.sim.store.has('VDI', r)).toBe(true); // kept disks stay
  });

  it('destroying the instance destroys its disk snapshots', async () => {
    const ref = stack.sim.store.byUuid('VDI', snapVdi(dataDevice, 's1')!.uuid as string)!;
    expect(ref).toBeDefined();
    await done(stack, stack.driver.destroy(alice, 'ds-1', {}));
    expect(stack.sim.store.has('VDI', ref)).toBe(false);
    const left = [...stack.sim.store.all('VDI').values()].filter(
      (v: any) => v.other_config.xcd_instance_id === 'ds-1',
    );
    expect(left).toEqual([]);
  });
});
