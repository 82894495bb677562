// Boot from volume through the driver on a simulated pool: a spawn whose root disk is an iSCSI
// LUN of a simulated target (attached at device 0, bootable, no root disk made, started), or a
// VDI the caller may attach; destroy detaches it, never destroys it, and forgets the target's SR
// when nothing else uses it; a failed spawn undoes everything; bad volumes answer their codes
// and leave the pool as it was.
import { done, spawnInstance, until } from './instance-helpers';
import { connection, registerTarget, storageSnapshot, SECRET } from './iscsi-helpers';
import { waitForMirror } from '../../src/driver/mirror-wait';
import { specHash } from '../../src/driver/tags';
import { alice, bob, poolSnapshot, startDriverStack, vmOf, type DriverStack } from './stack';

const GiB = 1024 ** 3;

describe('spawn from a root volume', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
    registerTarget(stack.sim);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const iscsiSrs = (): any[] =>
    [...stack.sim.store.all('SR').values()].filter((sr: any) => sr.type === 'iscsi');

  /** The VDIs outside the targets' SRs: the disks a spawn would make. */
  const poolDisks = (): string[] =>
    [...stack.sim.store.all('VDI').entries()]
      .filter(([, v]: [string, any]) => (stack.sim.store.get('SR', v.SR) as any).type !== 'iscsi')
      .map(([ref]) => ref)
      .sort();

  const vbdsOf = (id: string): any[] =>
    (vmOf(stack, stack.driver.getInstance(alice, id).uuid).VBDs as string[]).map(
      (r) => stack.sim.store.get('VBD', r) as any,
    );

  it('boots from an iSCSI LUN at device 0 and leaves the LUN when destroyed', async () => {
    const before = storageSnapshot(stack.sim);
    const disksBefore = poolDisks();
    const { operation } = stack.driver.spawn(alice, 'bfv-1', {
      root_volume: { volume_id: 'vol-root', connection: connection(1) },
      vcpus: 1,
      memory_mb: 256,
    } as never);
    expect(JSON.stringify(operation)).not.toContain(SECRET);
    const spawned = await done(stack, operation);
    expect(spawned.error).toBeNull();
    expect(JSON.stringify(spawned)).not.toContain(SECRET);
    expect(spawned.result).toMatchObject({
      power_state: 'running',
      template: 'volume:vol-root',
      vm_mode: 'hvm',
    });

    // Device 0 is the LUN, bootable; the service made no disk of its own.
    const vbds = vbdsOf('bfv-1');
    expect(vbds).toHaveLength(1);
    expect(vbds[0]).toMatchObject({ userdevice: '0', bootable: true, type: 'Disk', mode: 'RW' });
    const lun = stack.sim.store.get('VDI', vbds[0].VDI) as any;
    expect(lun.sm_config.LUNid).toBe('1');
    expect((stack.sim.store.get('SR', lun.SR) as any).type).toBe('iscsi');
    expect(iscsiSrs()).toHaveLength(1);
    expect(poolDisks()).toEqual(disksBefore);
    expect(stack.driver.listVolumes(alice, 'bfv-1')).toEqual([
      expect.objectContaining({ volume_id: 'vol-root', device: '0', size_gb: 3, attached: true }),
    ]);

    stack.calls.length = 0;
    const destroyed = await done(stack, stack.driver.destroy(alice, 'bfv-1', {}));
    expect(destroyed.error).toBeNull();
    expect(stack.calls).not.toContain('VDI.destroy'); // detached, never destroyed
    // The SR is forgotten with the instance, as a detach does; the LUN stays on the target.
    expect(iscsiSrs()).toHaveLength(0);
    expect(storageSnapshot(stack.sim)).toEqual(before);
    expect(stack.sim.iscsi.list().some((t: any) => t.luns.some((l: any) => l.lun === 1))).toBe(
      true,
    );
  });

  it('keeps the SR while another LUN of the target is attached, and boots from it again', async () => {
    await spawnInstance(stack, 'bfv-other');
    const base = storageSnapshot(stack.sim);
    const other = await done(
      stack,
      stack.driver.attachVolume(alice, 'bfv-other', 'vol-data', { connection: connection(0) }),
    );
    expect(other.error).toBeNull();
    const withData = storageSnapshot(stack.sim);
    const spawned = await done(
      stack,
      stack.driver.spawn(alice, 'bfv-2', {
        root_volume: { volume_id: 'vol-root', connection: connection(1) },
        power_on: false,
      } as never).operation,
    );
    expect(spawned.error).toBeNull();
    expect(iscsiSrs()).toHaveLength(1);
    await done(stack, stack.driver.destroy(alice, 'bfv-2', {}));
    // The shared SR stays for vol-data; the root LUN is no volume of anyone's any more.
    expect(iscsiSrs()).toHaveLength(1);
    expect(storageSnapshot(stack.sim)).toEqual(withData);
    await done(stack, stack.driver.detachVolume(alice, 'bfv-other', 'vol-data'));
    await until(() => iscsiSrs().length === 0);
    expect(storageSnapshot(stack.sim)).toEqual(base);
  });

  it('undoes the attach when the spawn fails later (no host can run it)', async () => {
    const before = storageSnapshot(stack.sim);
    const vms = poolSnapshot(stack.sim).VM;
    stack.calls.length = 0;
    const failed = await done(
      stack,
      stack.driver.spawn(alice, 'bfv-big', {
        root_volume: { volume_id: 'vol-big', connection: connection(2) },
        memory_mb: 16_000_000,
      } as never).operation,
    );
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'no_host_available' });
    expect(stack.calls).toContain('VBD.destroy');
    expect(stack.calls).not.toContain('VDI.destroy');
    await until(() => iscsiSrs().length === 0);
    expect(storageSnapshot(stack.sim)).toEqual(before);
    expect(poolSnapshot(stack.sim).VM).toEqual(vms);
  });

  it('answers bad root volumes with their codes, leaving the pool as it was', async () => {
    const before = storageSnapshot(stack.sim);
    // A LUN the target does not have: the attach fails in the spawn's turn, undone.
    const noLun = await done(
      stack,
      stack.driver.spawn(alice, 'bfv-nolun', {
        root_volume: { volume_id: 'vol-x', connection: connection(9) },
      } as never).operation,
    );
    expect(noLun.error).toMatchObject({ status: 404, code: 'iscsi_lun_not_found' });
    await until(() => iscsiSrs().length === 0);
    expect(storageSnapshot(stack.sim)).toEqual(before);
    // Refused before any XAPI call.
    const refused: Array<[Record<string, unknown>, number, string]> = [
      [{ volume_id: '00000000-0000-0000-0000-000000000000' }, 404, 'volume_not_found'],
      [
        { volume_id: 'vol-p', connection: connection(0, { target_portal: 'bad portal' }) },
        400,
        'invalid_request',
      ],
    ];
    for (const [rv, status, code] of refused)
      expect(() => stack.driver.spawn(alice, 'bfv-bad', { root_volume: rv } as never)).toThrow(
        expect.objectContaining({ status, code }),
      );
    expect(() =>
      stack.driver.spawn(alice, 'bfv-bad', {
        root_volume: { volume_id: 'vol-y', connection: connection(0) },
        root_disk_gb: 10,
      } as never),
    ).toThrow(expect.objectContaining({ status: 400, code: 'invalid_request' }));
    expect(storageSnapshot(stack.sim)).toEqual(before);
  });

  it('refuses a LUN attached to another instance with 409 volume_in_use', async () => {
    const first = await done(
      stack,
      stack.driver.spawn(alice, 'bfv-held', {
        root_volume: { volume_id: 'vol-held', connection: connection(0) },
        power_on: false,
      } as never).operation,
    );
    expect(first.error).toBeNull();
    const before = storageSnapshot(stack.sim);
    // The same volume id before any XAPI call; the same LUN under another id in the attach.
    expect(() =>
      stack.driver.spawn(alice, 'bfv-again', {
        root_volume: { volume_id: 'vol-held', connection: connection(0) },
      } as never),
    ).toThrow(expect.objectContaining({ status: 409, code: 'volume_in_use' }));
    const second = await done(
      stack,
      stack.driver.spawn(alice, 'bfv-again', {
        root_volume: { volume_id: 'vol-other', connection: connection(0) },
      } as never).operation,
    );
    expect(second.error).toMatchObject({ status: 409, code: 'volume_in_use' });
    expect(storageSnapshot(stack.sim)).toEqual(before);
    await done(stack, stack.driver.destroy(alice, 'bfv-held', {}));
    await until(() => iscsiSrs().length === 0);
  });

  it('a half-built instance reconcile removes leaves its root LUN', async () => {
    const before = storageSnapshot(stack.sim);
    const spawned = await done(
      stack,
      stack.driver.spawn(alice, 'bfv-half', {
        root_volume: { volume_id: 'vol-half', connection: connection(1) },
        power_on: false,
      } as never).operation,
    );
    expect(spawned.error).toBeNull();
    // As a service killed mid-spawn leaves it: 'building', owned by no live service.
    const vmRef = stack.sim.store.byUuid('VM', stack.driver.getInstance(alice, 'bfv-half').uuid)!;
    await stack.xapi.call('VM.remove_from_other_config', vmRef, 'xcd_state');
    await stack.xapi.call('VM.add_to_other_config', vmRef, 'xcd_state', 'building');
    await until(() => stack.xapi.mirror.get('VM', vmRef)?.other_config.xcd_state === 'building');
    stack.calls.length = 0;
    await stack.driver.reconcilePass();
    expect(stack.sim.store.has('VM', vmRef)).toBe(false);
    expect(stack.calls).not.toContain('VDI.destroy');
    // The next sweep forgets the SR no VBD uses any more.
    await stack.driver.reconcilePass();
    await until(() => iscsiSrs().length === 0);
    expect(storageSnapshot(stack.sim)).toEqual(before);
  });

  it("keeps the CHAP password out of the spawn's identity and its tags", async () => {
    const body = { root_volume: { volume_id: 'vol-id', connection: connection(2) } };
    const first = stack.driver.spawn(alice, 'bfv-id', body as never);
    const spawned = await done(stack, first.operation);
    expect(spawned.error).toBeNull();
    const vm = vmOf(stack, stack.driver.getInstance(alice, 'bfv-id').uuid);
    expect(JSON.stringify(vm.other_config)).not.toContain(SECRET);
    // The spec tag is no hash of the body with the password (which could be guessed at).
    expect(vm.other_config.xcd_spec).not.toBe(specHash(body));
    // A retry with other credentials is the same spawn.
    const again = stack.driver.spawn(alice, 'bfv-id', {
      root_volume: { volume_id: 'vol-id', connection: connection(2, { auth_password: 'other' }) },
    } as never);
    expect(again).toMatchObject({ replayed: true, operation: { id: first.operation.id } });
    await done(stack, stack.driver.destroy(alice, 'bfv-id', {}));
    await until(() => iscsiSrs().length === 0);
  });

  it('boots from a VDI of the caller, detached (never destroyed) with the instance', async () => {
    const sr = stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0]!.default_SR;
    const vdiRef = await stack.xapi.call<string>('VDI.create', {
      SR: sr,
      virtual_size: 2 * GiB,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: { xcd_namespace: 'alice', xcd_instance_id: 'old-2', xcd_state: 'kept' },
      name_label: 'kept root',
    });
    await waitForMirror(stack.xapi.mirror, () => !!stack.xapi.mirror.get('VDI', vdiRef), 5000);
    const uuid = (stack.sim.store.get('VDI', vdiRef) as any).uuid;
    // Another namespace cannot name it: the same answer as an unknown uuid.
    expect(() =>
      stack.driver.spawn(bob, 'bfv-steal', { root_volume: { volume_id: uuid } } as never),
    ).toThrow(expect.objectContaining({ status: 404, code: 'volume_not_found' }));
    const before = poolSnapshot(stack.sim);
    const spawned = await done(
      stack,
      stack.driver.spawn(alice, 'bfv-vdi', { root_volume: { volume_id: uuid } } as never).operation,
    );
    expect(spawned.error).toBeNull();
    const vbds = vbdsOf('bfv-vdi');
    expect(vbds).toEqual([
      expect.objectContaining({ userdevice: '0', bootable: true, VDI: vdiRef }),
    ]);
    await done(stack, stack.driver.destroy(alice, 'bfv-vdi', {}));
    expect(stack.sim.store.has('VDI', vdiRef)).toBe(true);
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });
});
