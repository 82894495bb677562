// Behaviour of volumes through the driver: an existing VDI attached by uuid at a device, hot on
// a running instance (plugged) and cold on a halted one; listed in the instance view and the
// volume list; detached (the VDI stays); retries, taken devices, foreign and unknown VDIs;
// paused/suspended 409; destroying the instance never destroys a volume. Which VDIs a caller may
// name at all is ownership.test.ts's subject.
import { done, setState, spawnInstance, until } from './instance-helpers';
import { alice, bob, startDriverStack, type DriverStack } from './stack';

describe('volumes', () => {
  let stack: DriverStack;
  let vmRef: string;
  let srRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'vol-1');
    srRef = stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0].default_SR;
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A disk alice may attach: one her namespace keeps (untagged disks need a volume source). */
  const KEPT = { xcd_namespace: 'alice', xcd_instance_id: 'gone-1', xcd_state: 'kept' };

  async function newVdi(name: string, otherConfig: Record<string, string> = KEPT): Promise<string> {
    const ref = await stack.xapi.call<string>('VDI.create', {
      SR: srRef,
      virtual_size: 2 * 1024 ** 3,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: otherConfig,
      name_label: name,
    });
    const uuid = (stack.sim.store.get('VDI', ref) as any).uuid as string;
    await until(() => !!stack.xapi.mirror.getByUuid('VDI', uuid));
    return uuid;
  }

  const vbdOf = (vdiUuid: string): any => {
    const vdi = stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', vdiUuid)!) as any;
    return vdi.VBDs.map((r: string) => stack.sim.store.get('VBD', r)).find(
      (v: any) => v.VM === vmRef,
    );
  };

  it.each(['Running', 'Halted'] as const)(
    'attaches a VDI by uuid to a %s instance and detaches it',
    async (state) => {
      await setState(stack, vmRef, state);
      const uuid = await newVdi(`data-${state}`);
      const op = stack.driver.attachVolume(alice, 'vol-1', uuid, { device: '5' });
      expect(op).toMatchObject({ kind: 'attach-volume', status: 'running' });
      const final = await done(stack, op);
      expect(final.error).toBeNull();
      expect(vbdOf(uuid)).toMatchObject({
        userdevice: '5',
        currently_attached: state === 'Running',
        mode: 'RW',
      });
      expect(stack.driver.listVolumes(alice, 'vol-1')).toEqual([
        expect.objectContaining({
          uuid,
          device: '5',
          attached: state === 'Running',
          size_gb: 2,
          name: `data-${state}`,
        }),
      ]);
      expect(stack.driver.getInstance(alice, 'vol-1').disks.map((d) => d.uuid)).toContain(uuid);

      // A retry answers at once; the same device for another VDI is taken.
      expect(stack.driver.attachVolume(alice, 'vol-1', uuid, {}).status).toBe('succeeded');
      const other = await newVdi(`other-${state}`);
      const taken = await done(
        stack,
        stack.driver.attachVolume(alice, 'vol-1', other, { device: '5' }),
      );
      expect(taken).toMatchObject({
        status: 'failed',
        error: { status: 409, code: 'device_in_use' },
      });

      const detach = await done(stack, stack.driver.detachVolume(alice, 'vol-1', uuid));
      expect(detach.error).toBeNull();
      expect(vbdOf(uuid)).toBeUndefined();
      expect(stack.sim.store.byUuid('VDI', uuid)).toBeDefined();
      expect(stack.driver.listVolumes(alice, 'vol-1')).toEqual([]);
      expect(stack.driver.detachVolume(alice, 'vol-1', uuid)).toBeNull();
    },
  );

  it('picks the lowest free device, skipping the CD position', async () => {
    await setState(stack, vmRef, 'Running');
    const uuid = await newVdi('auto');
    await done(stack, stack.driver.attachVolume(alice, 'vol-1', uuid, { mode: 'RO' }));
    const vbd = vbdOf(uuid);
    expect(vbd.userdevice).not.toBe('3');
    expect(vbd.mode).toBe('RO');
    await done(stack, stack.driver.detachVolume(alice, 'vol-1', uuid));
  });

  it.each(['Paused', 'Suspended'] as const)(
    'answers 409 invalid_power_state when %s',
    async (state) => {
      const uuid = await newVdi(`p-${state}`);
      await setState(stack, vmRef, state);
      expect(() => stack.driver.attachVolume(alice, 'vol-1', uuid, {})).toThrow(
        expect.objectContaining({ status: 409, code: 'invalid_power_state' }),
      );
    },
  );

  it("answers unknown VDIs, another namespace's disks and the instance's own disks", async () => {
    await setState(stack, vmRef, 'Halted');
    expect(() =>
      stack.driver.attachVolume(alice, 'vol-1', '00000000-0000-0000-0000-000000000000', {}),
    ).toThrow(expect.objectContaining({ status: 404, code: 'volume_not_found' }));
    const bobs = await newVdi('bobs', { xcd_namespace: 'bob', xcd_instance_id: 'b-1' });
    expect(() => stack.driver.attachVolume(alice, 'vol-1', bobs, {})).toThrow(
      expect.objectContaining({ status: 404, code: 'volume_not_found' }),
    );
    expect(() => stack.driver.listVolumes(bob, 'vol-1')).toThrow(
      expect.objectContaining({ status: 404 }),
    );
    const root = stack.driver.getInstance(alice, 'vol-1').disks.find((d) => d.device === '0')!.uuid;
    const refused = await done(
      stack,
      stack.driver.detachVolume(alice, 'vol-1', root) ?? null,
    ).catch(() => null);
    // The root disk is not a volume: it is not listed, so detaching it has nothing to do.
    expect(refused).toBeNull();
  });

  it("attaches a halted instance's disk to another of the namespace's instances (rescue)", async () => {
    const rescueRef = await spawnInstance(stack, 'vol-rescue');
    await setState(stack, vmRef, 'Running');
    await setState(stack, rescueRef, 'Running');
    const root = stack.driver.getInstance(alice, 'vol-1').disks.find((d) => d.device === '0')!.uuid;
    // While its instance runs, the disk is in use.
    const busy = await done(stack, stack.driver.attachVolume(alice, 'vol-rescue', root, {}));
    expect(busy).toMatchObject({ status: 'failed', error: { code: 'disk_in_use' } });
    // Halted, it goes on the rescue instance, plugged; the halted instance cannot start meanwhile.
    await setState(stack, vmRef, 'Halted');
    const on = await done(stack, stack.driver.attachVolume(alice, 'vol-rescue', root, {}));
    expect(on.status).toBe('succeeded');
    const onRescue = (
      (stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', root)!) as any).VBDs as string[]
    )
      .map((r) => stack.sim.store.get('VBD', r) as any)
      .find((v) => v.VM === rescueRef);
    expect(onRescue).toMatchObject({ currently_attached: true, mode: 'RW' });
    const start = await done(stack, stack.driver.action(alice, 'vol-1', { action: 'power-on' }));
    expect(start).toMatchObject({ status: 'failed', error: { code: 'disk_in_use' } });
    expect(stack.driver.getInstance(alice, 'vol-1').power_state).toBe('shutdown');
    // Detached again, the instance starts with its own disk; the rescue instance never owned it.
    await done(stack, stack.driver.detachVolume(alice, 'vol-rescue', root)!);
    const started = await done(stack, stack.driver.action(alice, 'vol-1', { action: 'power-on' }));
    expect(started.status).toBe('succeeded');
    await done(stack, stack.driver.destroy(alice, 'vol-rescue', {}));
    expect(stack.sim.store.byUuid('VDI', root)).toBeDefined();
  });

  it('destroying the instance detaches volumes and keeps their VDIs', async () => {
    await setState(stack, vmRef, 'Running');
    const uuid = await newVdi('kept');
    await done(stack, stack.driver.attachVolume(alice, 'vol-1', uuid, {}));
    await done(stack, stack.driver.destroy(alice, 'vol-1', {}));
    expect(stack.sim.store.byUuid('VDI', uuid)).toBeDefined();
    expect((stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', uuid)!) as any).VBDs).toEqual(
      [],
    );
  });
});
