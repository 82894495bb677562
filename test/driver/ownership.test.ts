// Ownership of every VDI a request names (src/driver/ownership.ts), through the driver's public
// surface on a simulated pool: a spawn's image_vdi, a volume to attach and a disk to grow are
// the caller's namespace's, or unused plain disks of an operator-configured volume SR; any other
// VDI (another namespace's live or kept disk, an unmanaged VM's disk or suspend image, a
// snapshot's disk, system disks) answers exactly as an absent uuid does, and the pool is untouched.
import { ApiError } from '../../src/driver/errors';
import { usableVdi } from '../../src/driver/ownership';
import { planSpawn } from '../../src/driver/spawn/plan';
import { done, setState, spawnInstance, until } from './instance-helpers';
import { alice, bob, poolSnapshot, startDriverStack, type DriverStack } from './stack';

const GiB = 1024 ** 3;
const ABSENT = '00000000-0000-4000-8000-000000000000';

describe('VDI ownership', () => {
  let stack: DriverStack;
  let aliceVm: string;
  let defaultSr: string;
  let defaultSrUuid: string;
  /** name -> uuid of VDIs alice must not be able to name */
  const foreign: Record<string, string> = {};

  const vdiRec = (uuid: string): any =>
    stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', uuid)!);

  async function newVdi(
    name: string,
    otherConfig: Record<string, string> = {},
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const ref = await stack.xapi.call<string>('VDI.create', {
      SR: defaultSr,
      virtual_size: GiB,
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: otherConfig,
      name_label: name,
      ...extra,
    });
    const uuid = (stack.sim.store.get('VDI', ref) as any).uuid as string;
    await until(() => !!stack.xapi.mirror.getByUuid('VDI', uuid));
    return uuid;
  }

  const unmanagedVm = (power: string): any =>
    [...stack.sim.store.all('VM').entries()]
      .map(([ref, r]) => ({ ref, ...(r as any) }))
      .find(
        (r) =>
          !r.is_a_template &&
          !r.is_a_snapshot &&
          !r.is_control_domain &&
          r.power_state === power &&
          !r.other_config?.xcd_namespace,
      );

  /** The answer of a failed call, with the uuid it names replaced: equal answers = same shape. */
  function answer(fn: () => unknown, uuid: string): unknown {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      return JSON.parse(JSON.stringify(err.toJSON()).split(uuid).join('<uuid>'));
    }
    return 'accepted';
  }

  beforeAll(async () => {
    stack = await startDriverStack();
    aliceVm = await spawnInstance(stack, 'own-1');
    defaultSr = stack.xapi.mirror.query('pool', { fields: ['default_SR'] })[0].default_SR;
    defaultSrUuid = stack.xapi.mirror.get('SR', defaultSr)!.uuid;

    await spawnInstance(stack, 'bob-1', {}, bob);
    foreign["another namespace's live root disk"] = stack.driver
      .getInstance(bob, 'bob-1')
      .disks.find((d) => d.device === '0')!.uuid;
    await spawnInstance(stack, 'bob-2', {}, bob);
    const bobKept = stack.driver.getInstance(bob, 'bob-2').disks.find((d) => d.device === '0')!;
    await done(stack, stack.driver.destroy(bob, 'bob-2', { keep_disks: true }), bob);
    expect(vdiRec(bobKept.uuid).other_config).toMatchObject({ xcd_state: 'kept' });
    foreign["another namespace's kept disk"] = bobKept.uuid;

    const suspended = unmanagedVm('Suspended');
    foreign["an unmanaged VM's suspend image"] = (
      stack.sim.store.get('VDI', suspended.suspend_VDI) as any
    ).uuid;
    // A suspend image typed 'user' still counts as one (VM.suspend_VDI of any VM).
    const userTyped = await newVdi('suspend image typed user');
    const halted = unmanagedVm('Halted');
    stack.sim.store.update('VM', halted.ref, {
      suspend_VDI: stack.sim.store.byUuid('VDI', userTyped),
    });
    await until(() => stack.xapi.mirror.get('VM', halted.ref)?.suspend_VDI !== 'OpaqueRef:NULL');
    foreign["a VM's suspend image typed user"] = userTyped;

    const running = unmanagedVm('Running');
    const diskVbd = (running.VBDs as string[])
      .map((r) => stack.sim.store.get('VBD', r) as any)
      .find((v) => v.type === 'Disk');
    foreign["an unmanaged VM's disk"] = (stack.sim.store.get('VDI', diskVbd.VDI) as any).uuid;

    await done(stack, stack.driver.createSnapshot(alice, 'own-1', 'snap-1', {}));
    const snapVdi = [...stack.sim.store.all('VDI').values()].find(
      (v: any) => v.is_a_snapshot && v.other_config?.xcd_namespace === 'alice',
    ) as any;
    expect(snapVdi).toBeDefined();
    foreign["a snapshot's disk (of the caller's own instance)"] = snapVdi.uuid;

    foreign['a crashdump disk tagged with the caller'] = await newVdi(
      'crashdump',
      { xcd_namespace: 'alice', xcd_instance_id: 'own-1' },
      { type: 'crashdump' },
    );
    foreign['an untagged disk outside any volume source'] = await newVdi('stray');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("spawn image_vdi copies any VDI of the pool: another namespace's root or kept disk, an unmanaged VM's suspend image (now refused as absent)", () => {
    const before = poolSnapshot(stack.sim);
    const absent = answer(
      () => stack.driver.spawn(alice, 'img-absent', { image_vdi: ABSENT, power_on: false }),
      ABSENT,
    );
    expect(absent).toMatchObject({ status: 404, code: 'image_not_found' });
    for (const [what, uuid] of Object.entries(foreign)) {
      const got = answer(
        () => stack.driver.spawn(alice, 'img-foreign', { image_vdi: uuid, power_on: false }),
        uuid,
      );
      expect({ what, got }).toEqual({ what, got: absent });
    }
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('attach of untagged VDIs of unmanaged VMs (read-write) and the 404/409/200 answers that revealed which uuids exist (now refused as absent)', async () => {
    await setState(stack, aliceVm, 'Running');
    const before = poolSnapshot(stack.sim);
    const absent = answer(
      () => stack.driver.attachVolume(alice, 'own-1', ABSENT, { mode: 'RW' }),
      ABSENT,
    );
    expect(absent).toMatchObject({ status: 404, code: 'volume_not_found' });
    for (const [what, uuid] of Object.entries(foreign)) {
      const got = answer(
        () => stack.driver.attachVolume(alice, 'own-1', uuid, { mode: 'RW' }),
        uuid,
      );
      expect({ what, got }).toEqual({ what, got: absent });
    }
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it("resize grows a disk the caller does not own that sits on its instance (a suspend image attached behind the service's back): answered as a device without a disk", async () => {
    await setState(stack, aliceVm, 'Halted');
    const image = foreign["an unmanaged VM's suspend image"];
    const size = vdiRec(image).virtual_size;
    // Attached through XAPI directly (as an admin, or an attach from before the check, did).
    const vbd = await stack.xapi.call<string>('VBD.create', {
      VM: aliceVm,
      VDI: stack.sim.store.byUuid('VDI', image),
      userdevice: '5',
      bootable: false,
      mode: 'RW',
      type: 'Disk',
      empty: false,
      unpluggable: true,
      other_config: {},
      qos_algorithm_type: '',
      qos_algorithm_params: {},
    });
    await until(() => !!stack.xapi.mirror.get('VBD', vbd));
    const grow = async (device: string): Promise<unknown> => {
      const op = await done(
        stack,
        stack.driver.action(alice, 'own-1', {
          action: 'resize',
          disks: [{ device, size_gb: 64 }],
        }),
      );
      expect(op.status).toBe('failed');
      return JSON.parse(JSON.stringify(op.error).split(`device ${device}`).join('device <d>'));
    };
    const noDisk = await grow('9');
    expect(noDisk).toMatchObject({ status: 422, code: 'invalid_value' });
    expect(await grow('5')).toEqual(noDisk);
    expect(vdiRec(image).virtual_size).toBe(size);
    await stack.xapi.call('VBD.destroy', vbd);
  });

  it("uses the caller's namespace's disks: a kept disk attaches and is an image", async () => {
    const kept = await newVdi('alice-kept', {
      xcd_namespace: 'alice',
      xcd_instance_id: 'gone-1',
      xcd_state: 'kept',
    });
    const plan = planSpawn(stack.xapi.mirror, { namespace: 'alice', instanceId: 'x' }, 'h', {
      image_vdi: kept,
    });
    expect(plan.imageVdiRef).toBe(stack.sim.store.byUuid('VDI', kept));
    const op = await done(stack, stack.driver.attachVolume(alice, 'own-1', kept, {}));
    expect(op.error).toBeNull();
    const own = stack.driver.getInstance(alice, 'own-1').disks.find((d) => d.uuid === kept);
    expect(own).toBeDefined();
    // Grown through the instance it sits on.
    const grown = await done(
      stack,
      stack.driver.action(alice, 'own-1', {
        action: 'resize',
        disks: [{ device: own!.device, size_gb: 2 }],
      }),
    );
    expect(grown.error).toBeNull();
    expect(vdiRec(kept).virtual_size).toBe(2 * GiB);
    await done(stack, stack.driver.detachVolume(alice, 'own-1', kept));
    // Bob may not.
    expect(() => stack.driver.attachVolume(bob, 'bob-1', kept, {})).toThrow(
      expect.objectContaining({ status: 404, code: 'volume_not_found' }),
    );
  });

  it("an operator's volume SR lends its untagged, unused plain disks to every namespace, and nothing else", async () => {
    const policy = { namespace: 'alice', volumeSrs: [defaultSrUuid] };
    const image = { kind: 'image' } as const;
    const here = { kind: 'device', vmRef: aliceVm } as const;
    const stray = foreign['an untagged disk outside any volume source'];
    expect(usableVdi(stack.xapi.mirror, { namespace: 'alice' }, { uuid: stray }, image)).toBe(
      undefined,
    );
    expect(usableVdi(stack.xapi.mirror, policy, { uuid: stray }, image)?.uuid).toBe(stray);
    expect(usableVdi(stack.xapi.mirror, policy, { uuid: stray }, here)?.uuid).toBe(stray);
    expect(
      planSpawn(
        stack.xapi.mirror,
        { namespace: 'alice', instanceId: 'x' },
        'h',
        {
          image_vdi: stray,
        },
        [defaultSrUuid],
      ).imageVdiRef,
    ).toBe(stack.sim.store.byUuid('VDI', stray));

    // Every other refused VDI stays refused when its SR is a volume source.
    const srs = Object.values(foreign).map((u) => stack.xapi.mirror.get('SR', vdiRec(u).SR)!.uuid);
    const everywhere = { namespace: 'alice', volumeSrs: srs };
    for (const [what, uuid] of Object.entries(foreign)) {
      if (uuid === stray) continue;
      for (const use of [image, here])
        expect({
          what,
          use,
          ok: !!usableVdi(stack.xapi.mirror, everywhere, { uuid }, use),
        }).toEqual({ what, use, ok: false });
    }

    // Attached to another VM, a source disk is that VM's; attached here, only this instance's.
    const lent = await newVdi('lent');
    const other = unmanagedVm('Halted');
    const vbdRecord = (vm: string): Record<string, unknown> => ({
      VM: vm,
      VDI: stack.sim.store.byUuid('VDI', lent),
      userdevice: '7',
      bootable: false,
      mode: 'RW',
      type: 'Disk',
      empty: false,
      unpluggable: true,
      other_config: {},
      qos_algorithm_type: '',
      qos_algorithm_params: {},
    });
    const there = await stack.xapi.call<string>('VBD.create', vbdRecord(other.ref));
    await until(() => !!stack.xapi.mirror.get('VBD', there));
    expect(usableVdi(stack.xapi.mirror, policy, { uuid: lent }, here)).toBeUndefined();
    expect(usableVdi(stack.xapi.mirror, policy, { uuid: lent }, image)).toBeUndefined();
    await stack.xapi.call('VBD.destroy', there);
    const mine = await stack.xapi.call<string>('VBD.create', vbdRecord(aliceVm));
    await until(() => !!stack.xapi.mirror.get('VBD', mine));
    expect(usableVdi(stack.xapi.mirror, policy, { uuid: lent }, here)?.uuid).toBe(lent);
    expect(usableVdi(stack.xapi.mirror, policy, { uuid: lent }, image)).toBeUndefined();
    await stack.xapi.call('VBD.destroy', mine);
  });
});
