// Disks an instance owns, through the driver: a blank disk added at a device on running
// (plugged) and halted instances, tagged as the instance's from VDI.create; a retry answered at
// once; each bad input (device taken, larger than the SR's free space, an SR that cannot hold
// disks) refused before any XAPI write; a fault at every XAPI call of an add leaving the pool as
// it was; removal destroys only disks the instance owns (volumes, root disk: 409).
import type { Instance } from '../../src/driver/types';
import { done, setState, simVbdAt, spawnInstance } from './instance-helpers';
import { callPoints, failEachCall } from './fault-points';
import { alice, poolSnapshot, settle, startDriverStack, type DriverStack } from './stack';

const GiB = 1024 ** 3;

describe('disks the instance owns', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'dk-1', { vcpus: 1, memory_mb: 256 });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const vbdAt = (ref: string, device: string): Record<string, any> | undefined =>
    simVbdAt(stack, ref, device);
  const defaultSr = (): string =>
    stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0]!.default_SR;

  it.each(['Running', 'Halted'] as const)(
    'adds a blank disk tagged as the instance own, plugged when running (%s)',
    async (power) => {
      await setState(stack, vmRef, power);
      const device = power === 'Running' ? '4' : '5';
      stack.calls.length = 0;
      const final = await done(stack, stack.driver.addDisk(alice, 'dk-1', device, { size_gb: 2 }));
      expect(final).toMatchObject({ status: 'succeeded', kind: 'add-disk' });
      expect((final.result as Instance).disks).toContainEqual(
        expect.objectContaining({ device, type: 'disk', size_gb: 2 }),
      );
      const vbd = vbdAt(vmRef, device)!;
      expect(vbd.currently_attached).toBe(power === 'Running');
      expect(stack.calls.includes('VBD.plug')).toBe(power === 'Running');
      const vdi = stack.sim.store.get('VDI', vbd.VDI) as Record<string, any>;
      expect(vdi.virtual_size).toBe(2 * GiB);
      expect(vdi.SR).toBe(defaultSr());
      expect(vdi.other_config).toMatchObject({
        xcd_namespace: 'alice',
        xcd_instance_id: 'dk-1',
        xcd_role: 'disk',
        xcd_device: device,
      });
      // Tagged at creation: no tag write after VDI.create.
      expect(stack.calls).not.toContain('VDI.set_other_config');
      expect(stack.calls).not.toContain('VDI.add_to_other_config');
      expect(stack.calls).not.toContain('VM.hard_shutdown');
    },
  );

  it('answers a retry of a disk already there at once, without a second VDI', async () => {
    const vdis = stack.sim.store.count('VDI');
    stack.calls.length = 0;
    const again = stack.driver.addDisk(alice, 'dk-1', '4', { size_gb: 2 });
    expect(again).toMatchObject({ status: 'succeeded', kind: 'add-disk' });
    expect(stack.calls).toEqual([]);
    expect(stack.sim.store.count('VDI')).toBe(vdis);
  });

  it('refuses a taken device (409 device_in_use) before any XAPI call', () => {
    const before = poolSnapshot(stack.sim);
    stack.calls.length = 0;
    for (const [device, size] of [
      ['0', 1], // the root disk
      ['4', 3], // the instance's own disk, of another size
    ] as const)
      expect(() => stack.driver.addDisk(alice, 'dk-1', device, { size_gb: size })).toThrow(
        expect.objectContaining({ status: 409, code: 'device_in_use' }),
      );
    expect(stack.calls).toEqual([]);
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('refuses a disk larger than the SR free space (507 insufficient_storage)', () => {
    const sr = stack.sim.store.get('SR', defaultSr()) as Record<string, any>;
    const free = sr.physical_size - sr.physical_utilisation;
    const sizeGb = Math.ceil(free / GiB) + 1;
    const before = poolSnapshot(stack.sim);
    let err: any;
    try {
      stack.driver.addDisk(alice, 'dk-1', '6', { size_gb: sizeGb });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 507, code: 'insufficient_storage' });
    expect(err.toJSON()).toMatchObject({ requested_bytes: sizeGb * GiB, maximum_bytes: free });
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('answers SR_FULL met in XAPI as 507 and leaves nothing behind', async () => {
    const before = poolSnapshot(stack.sim);
    stack.sim.faults.add('fail:VDI.create:1:SR_FULL,2147483648,1073741824');
    const final = await done(stack, stack.driver.addDisk(alice, 'dk-1', '6', { size_gb: 2 }));
    stack.sim.faults.clear();
    expect(final).toMatchObject({
      status: 'failed',
      error: { status: 507, code: 'insufficient_storage' },
    });
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('refuses an SR that does not exist or cannot hold disks (404 sr_not_found alike)', () => {
    const iso = stack.driver.srs().find((s) => s.content_type === 'iso')!;
    for (const sr of [iso.uuid, '00000000-0000-4000-8000-000000000000']) {
      let err: any;
      try {
        stack.driver.addDisk(alice, 'dk-1', '6', { size_gb: 1, sr });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ status: 404, code: 'sr_not_found' });
      expect(err.detail).toBe(`SR '${sr}' not found`);
    }
  });

  it('leaves the pool as it was when any XAPI call of an add fails (running instance)', async () => {
    await setState(stack, vmRef, 'Running');
    // 1. The calls of a successful add, then its removal.
    stack.calls.length = 0;
    const ok = await done(stack, stack.driver.addDisk(alice, 'dk-1', '7', { size_gb: 1 }));
    expect(ok.status).toBe('succeeded');
    const points = callPoints(stack.calls);
    expect(points.map(([m]) => m)).toEqual(
      expect.arrayContaining(['VDI.create', 'VBD.create', 'VBD.plug']),
    );
    await done(stack, stack.driver.removeDisk(alice, 'dk-1', '7'));
    // 2. The same add with the Nth call of each method failing.
    const failures = await failEachCall(stack.sim, points, {
      attempt: () => settle(stack, alice, stack.driver.addDisk(alice, 'dk-1', '7', { size_gb: 1 })),
      snapshot: () => {
        const { VDI, VBD } = poolSnapshot(stack.sim);
        return { VDI, VBD };
      },
    });
    expect(failures).toEqual([]);
    expect(vbdAt(vmRef, '7')).toBeUndefined();
  });

  it.each(['Running', 'Halted'] as const)(
    'removes a disk the instance owns: detached and destroyed (%s)',
    async (power) => {
      await setState(stack, vmRef, power);
      const device = power === 'Running' ? '4' : '5';
      const vdiRef = vbdAt(vmRef, device)!.VDI as string;
      const final = await done(stack, stack.driver.removeDisk(alice, 'dk-1', device));
      expect(final).toMatchObject({ status: 'succeeded', kind: 'remove-disk' });
      expect(vbdAt(vmRef, device)).toBeUndefined();
      expect(stack.sim.store.has('VDI', vdiRef)).toBe(false);
      expect((final.result as Instance).disks.map((d) => d.device)).not.toContain(device);
      // Gone already: nothing to do.
      expect(stack.driver.removeDisk(alice, 'dk-1', device)).toBeNull();
    },
  );

  it('never destroys what the instance does not own: volumes and the root disk answer 409', async () => {
    const vdiRef = await stack.xapi.call<string>('VDI.create', {
      SR: defaultSr(),
      virtual_size: GiB,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: { xcd_namespace: 'alice', xcd_instance_id: 'vol', xcd_state: 'kept' },
      name_label: 'vol',
    });
    const vdiUuid = (stack.sim.store.get('VDI', vdiRef) as { uuid: string }).uuid;
    for (let i = 0; i < 200 && !stack.xapi.mirror.getByUuid('VDI', vdiUuid); i++)
      await new Promise((r) => setTimeout(r, 5));
    const attached = await done(
      stack,
      stack.driver.attachVolume(alice, 'dk-1', vdiUuid, { device: '8' }),
    );
    expect(attached.status).toBe('succeeded');
    for (const device of ['8', '0'])
      expect(() => stack.driver.removeDisk(alice, 'dk-1', device)).toThrow(
        expect.objectContaining({ status: 409, code: 'operation_not_allowed' }),
      );
    expect(stack.sim.store.has('VDI', vdiRef)).toBe(true);
    expect(vbdAt(vmRef, '8')).toBeDefined();
  });

  const orphan = async (device: string, bytes: number): Promise<string> => {
    const ref = await stack.xapi.call<string>('VDI.create', {
      SR: defaultSr(),
      virtual_size: bytes,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: {
        xcd_namespace: 'alice',
        xcd_instance_id: 'dk-1',
        xcd_role: 'disk',
        xcd_device: device,
      },
      name_label: `left at ${device}`,
    });
    const uuid = (stack.sim.store.get('VDI', ref) as { uuid: string }).uuid;
    for (let i = 0; i < 200 && !stack.xapi.mirror.getByUuid('VDI', uuid); i++)
      await new Promise((r) => setTimeout(r, 5));
    return ref;
  };

  it('takes up the disk an add interrupted before VBD.create left, instead of a second one', async () => {
    const left = await orphan('9', GiB);
    const other = await orphan('9', 2 * GiB); // another size: not this request's disk
    stack.calls.length = 0;
    const final = await done(stack, stack.driver.addDisk(alice, 'dk-1', '9', { size_gb: 1 }));
    expect(final.status).toBe('succeeded');
    expect(stack.calls).not.toContain('VDI.create');
    expect(vbdAt(vmRef, '9')!.VDI).toBe(left);
    // Removing the disk also destroys what an interrupted add left for the device.
    await done(stack, stack.driver.removeDisk(alice, 'dk-1', '9'));
    expect([stack.sim.store.has('VDI', left), stack.sim.store.has('VDI', other)]).toEqual([
      false,
      false,
    ]);
  });

  it('a retried remove destroys the disk an interrupted remove left unattached', async () => {
    const left = await orphan('10', GiB);
    const op = stack.driver.removeDisk(alice, 'dk-1', '10');
    expect(op).not.toBeNull();
    expect((await done(stack, op)).status).toBe('succeeded');
    expect(stack.sim.store.has('VDI', left)).toBe(false);
    expect(stack.driver.removeDisk(alice, 'dk-1', '10')).toBeNull();
  });

  it('destroys the added disks with the instance', async () => {
    const ref = await spawnInstance(stack, 'dk-2', { power_on: false });
    await done(stack, stack.driver.addDisk(alice, 'dk-2', '4', { size_gb: 1 }));
    const vdiRef = vbdAt(ref, '4')!.VDI as string;
    await done(stack, stack.driver.destroy(alice, 'dk-2', {}));
    expect(stack.sim.store.has('VDI', vdiRef)).toBe(false);
  });
});
