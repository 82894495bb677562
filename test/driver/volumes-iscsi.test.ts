// Volumes by connection through the driver: an iSCSI LUN of a simulated target attached from
// Cinder's connection_info to running and halted instances (SR introduced, PBDs plugged on every
// live host, the LUN's VDI found, a VBD), listed with its volume id, detached with everything
// undone; the SR shared by LUNs of one target and forgotten with the last; each bad connection
// answered with its code and the pool left as it was; another namespace neither sees nor
// detaches it; the CHAP password in no answer or operation record.
import { done, setState, spawnInstance, until } from './instance-helpers';
import { alice, bob, startDriverStack, type DriverStack } from './stack';
import {
  ISCSI_IQN,
  ISCSI_PORTAL,
  SECRET,
  connection,
  registerTarget,
  storageSnapshot,
} from './iscsi-helpers';

describe('volumes by iSCSI connection', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    registerTarget(stack.sim);
    vmRef = await spawnInstance(stack, 'iscsi-1');
    await spawnInstance(stack, 'bob-1', {}, bob);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const iscsiSrs = (): any[] =>
    [...stack.sim.store.all('SR').values()].filter((sr: any) => sr.type === 'iscsi');

  it.each(['Running', 'Halted'] as const)(
    'attaches a LUN to a %s instance and detaches it, leaving the pool as it was',
    async (state) => {
      await setState(stack, vmRef, state);
      const before = storageSnapshot(stack.sim);
      const op = stack.driver.attachVolume(alice, 'iscsi-1', 'vol-a', {
        connection: connection(0),
        device: '4',
      });
      expect(op).toMatchObject({ kind: 'attach-volume', status: 'running' });
      expect(JSON.stringify(op)).not.toContain(SECRET);
      const final = await done(stack, op);
      expect(final.error).toBeNull();
      expect(JSON.stringify(final)).not.toContain(SECRET);

      // One SR of type iscsi, tagged, with an attached PBD on every host.
      const [sr] = iscsiSrs();
      expect(sr).toMatchObject({
        shared: true,
        other_config: {
          xcd_role: 'iscsi-sr',
          xcd_state: 'active',
          xcd_iscsi_portal: ISCSI_PORTAL,
          xcd_iscsi_iqn: ISCSI_IQN,
        },
      });
      expect(sr.sm_config).toEqual({
        'backend-kind': 'vbd',
        target: '10.0.0.5',
        port: '3260',
        targetIQN: ISCSI_IQN,
      });
      expect(JSON.stringify(sr.other_config)).not.toContain(SECRET);
      const pbds = sr.PBDs.map((r: string) => stack.sim.store.get('PBD', r) as any);
      expect(pbds).toHaveLength(stack.sim.store.count('host'));
      expect(pbds.every((p: any) => p.currently_attached)).toBe(true);
      expect(pbds[0].device_config).toMatchObject({ target: '10.0.0.5', targetIQN: ISCSI_IQN });
      // xapi keeps the password in a secret object, one per PBD.
      expect(pbds[0].device_config.chappassword).toBeUndefined();
      expect(stack.sim.secrets()).toContain(pbds[0].device_config.chappassword_secret);
      expect(stack.sim.secrets()).toHaveLength(before.secret!.length + pbds.length);

      const vols = stack.driver.listVolumes(alice, 'iscsi-1');
      expect(vols).toEqual([
        expect.objectContaining({
          volume_id: 'vol-a',
          device: '4',
          attached: state === 'Running',
          size_gb: 2,
          iscsi: { target_portal: ISCSI_PORTAL, target_iqn: ISCSI_IQN, target_lun: 0 },
        }),
      ]);
      const vdi = stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', vols[0]!.uuid)!) as any;
      expect(vdi.sm_config.LUNid).toBe('0');
      expect(vdi.other_config).toMatchObject({ xcd_volume_id: 'vol-a', xcd_namespace: 'alice' });

      // A retry by the same volume id answers at once.
      const again = stack.driver.attachVolume(alice, 'iscsi-1', 'vol-a', {
        connection: connection(0),
      });
      expect(again.status).toBe('succeeded');

      // The instance starts (on any host: each has the SR plugged) with the volume in it.
      if (state === 'Halted') {
        await setState(stack, vmRef, 'Running');
        await until(() => stack.driver.listVolumes(alice, 'iscsi-1')[0]?.attached === true);
        await setState(stack, vmRef, 'Halted');
      }

      const detached = await done(stack, stack.driver.detachVolume(alice, 'iscsi-1', 'vol-a')!);
      expect(detached.error).toBeNull();
      await until(() => iscsiSrs().length === 0);
      expect(storageSnapshot(stack.sim)).toEqual(before);
      expect(stack.driver.listVolumes(alice, 'iscsi-1')).toEqual([]);
      expect(stack.driver.detachVolume(alice, 'iscsi-1', 'vol-a')).toBeNull();
    },
  );

  it('shares the SR between LUNs of one target and forgets it with the last detach', async () => {
    await setState(stack, vmRef, 'Running');
    const other = await spawnInstance(stack, 'iscsi-2');
    const before = storageSnapshot(stack.sim);
    const a = await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-1', 'vol-a', { connection: connection(0) }),
    );
    expect(a.error).toBeNull();
    const b = await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-2', 'vol-b', { connection: connection(1) }),
    );
    expect(b.error).toBeNull();
    expect(iscsiSrs()).toHaveLength(1);
    expect(stack.driver.listVolumes(alice, 'iscsi-2')).toEqual([
      expect.objectContaining({ volume_id: 'vol-b', size_gb: 3 }),
    ]);
    // The target's SR holds its LUNs only: no new disk goes there, nor is it listed.
    const srUuid = iscsiSrs()[0].uuid as string;
    expect(() => stack.driver.addDisk(alice, 'iscsi-2', '6', { size_gb: 1, sr: srUuid })).toThrow(
      expect.objectContaining({ status: 404, code: 'sr_not_found' }),
    );
    expect(stack.driver.srs().map((x) => x.uuid)).not.toContain(srUuid);
    const vbdOn = (vm: string): any[] =>
      (stack.sim.store.get('VM', vm) as any).VBDs.map((r: string) => stack.sim.store.get('VBD', r));
    expect(vbdOn(other).some((v) => v.other_config.xcd_volume_id === 'vol-b')).toBe(true);

    // The first detach keeps the SR (the other LUN still uses it); the second forgets it.
    await done(stack, stack.driver.detachVolume(alice, 'iscsi-1', 'vol-a')!);
    expect(iscsiSrs()).toHaveLength(1);
    expect(stack.driver.listVolumes(alice, 'iscsi-2')).toHaveLength(1);
    await done(stack, stack.driver.detachVolume(alice, 'iscsi-2', 'vol-b')!);
    await until(() => iscsiSrs().length === 0);
    expect(storageSnapshot(stack.sim)).toEqual(before);
  });

  it('takes attaches and detaches of one target on two instances in turns', async () => {
    await setState(stack, vmRef, 'Running');
    const before = storageSnapshot(stack.sim);
    // At the same moment: one SR is introduced, and both LUNs end up attached.
    const [a, b] = await Promise.all([
      done(
        stack,
        stack.driver.attachVolume(alice, 'iscsi-1', 'par-a', { connection: connection(0) }),
      ),
      done(
        stack,
        stack.driver.attachVolume(alice, 'iscsi-2', 'par-b', { connection: connection(1) }),
      ),
    ]);
    expect([a.error, b.error]).toEqual([null, null]);
    expect(iscsiSrs()).toHaveLength(1);
    expect(stack.sim.store.count('PBD')).toBe(before.PBD.length + stack.sim.store.count('host'));
    // And both detached at once: the SR goes with the last of them.
    const [c, d] = await Promise.all([
      done(stack, stack.driver.detachVolume(alice, 'iscsi-1', 'par-a')),
      done(stack, stack.driver.detachVolume(alice, 'iscsi-2', 'par-b')),
    ]);
    expect([c.error, d.error]).toEqual([null, null]);
    await until(() => iscsiSrs().length === 0);
    expect(storageSnapshot(stack.sim)).toEqual(before);
  });

  it('detaches by the VDI uuid the volume list shows, as by the volume id', async () => {
    const before = storageSnapshot(stack.sim);
    await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-1', 'vol-u', { connection: connection(1) }),
    );
    const [vol] = stack.driver.listVolumes(alice, 'iscsi-1');
    expect(vol).toMatchObject({ volume_id: 'vol-u' });
    const op = await done(stack, stack.driver.detachVolume(alice, 'iscsi-1', vol!.uuid));
    expect(op).toMatchObject({ kind: 'detach-volume', status: 'succeeded' });
    await until(() => iscsiSrs().length === 0);
    expect(storageSnapshot(stack.sim)).toEqual(before);
  });

  it('releases the volumes of an instance destroyed with them attached, as a detach does', async () => {
    await spawnInstance(stack, 'iscsi-gone');
    const before = storageSnapshot(stack.sim);
    await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-gone', 'vol-g', { connection: connection(0) }),
    );
    // A sweep leaves an SR in use alone.
    await stack.driver.reconcilePass();
    expect(iscsiSrs()).toHaveLength(1);
    const destroyed = await done(stack, stack.driver.destroy(alice, 'iscsi-gone', {}));
    expect(destroyed.status).toBe('succeeded');
    // Nothing else used the target: its SR is forgotten with the instance. Only the instance's
    // own disks went with it: the LUN's data is the target's.
    expect(iscsiSrs()).toHaveLength(0);
    const after = storageSnapshot(stack.sim);
    expect(after.SR).toEqual(before.SR);
    expect(after.PBD).toEqual(before.PBD);
  });

  it('forgets the SR of volumes whose VM went outside the service', async () => {
    const vmRef = await spawnInstance(stack, 'iscsi-lost');
    await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-lost', 'vol-l', { connection: connection(0) }),
    );
    const [vol] = stack.driver.listVolumes(alice, 'iscsi-lost');
    // The VM removed behind the service's back (or by a service killed before the release).
    await stack.xapi.call('VM.hard_shutdown', vmRef).catch(() => undefined);
    for (const vbd of await stack.xapi.call<string[]>('VM.get_VBDs', vmRef))
      await stack.xapi.call('VBD.destroy', vbd);
    await stack.xapi.call('VM.destroy', vmRef);
    await until(() => stack.xapi.mirror.getByUuid('VDI', vol!.uuid)?.VBDs.length === 0);
    expect(iscsiSrs()).toHaveLength(1);
    await stack.driver.reconcilePass();
    expect(stack.driver.lastReconcile?.iscsiSrs).toHaveLength(1);
    await until(() => iscsiSrs().length === 0);
  });

  it('refuses a LUN attached to another instance with 409 volume_in_use', async () => {
    const first = await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-1', 'vol-a', { connection: connection(2) }),
    );
    expect(first.error).toBeNull();
    const before = storageSnapshot(stack.sim);
    // The same LUN under another volume id, from another instance.
    const op = await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-2', 'vol-z', { connection: connection(2) }),
    );
    expect(op.status).toBe('failed');
    expect(op.error).toMatchObject({ status: 409, code: 'volume_in_use' });
    // The same volume id from another instance is refused before any XAPI call.
    expect(() =>
      stack.driver.attachVolume(alice, 'iscsi-2', 'vol-a', { connection: connection(2) }),
    ).toThrow(expect.objectContaining({ status: 409, code: 'volume_in_use' }));
    expect(storageSnapshot(stack.sim)).toEqual(before);
    await done(stack, stack.driver.detachVolume(alice, 'iscsi-1', 'vol-a')!);
    await until(() => iscsiSrs().length === 0);
  });

  it('answers each bad connection with its code and leaves the pool as it was', async () => {
    const before = storageSnapshot(stack.sim);
    const cases: Array<[string, any, number, string, string]> = [
      [
        'unreachable portal',
        connection(0, { target_portal: '10.9.9.9:3260' }),
        502,
        'iscsi_target_unreachable',
        'SR_BACKEND_FAILURE_141',
      ],
      [
        'unknown IQN',
        connection(0, { target_iqn: 'iqn.2010-10.org.example:nothing' }),
        422,
        'iscsi_target_not_found',
        'SR_BACKEND_FAILURE_83',
      ],
      [
        'wrong CHAP password',
        connection(0, { auth_password: 'wrong' }),
        422,
        'iscsi_login_failed',
        'SR_BACKEND_FAILURE_68',
      ],
      [
        'no CHAP at all',
        connection(0, { auth_method: undefined }),
        422,
        'iscsi_login_failed',
        'SR_BACKEND_FAILURE_68',
      ],
      ['missing LUN', connection(7), 404, 'iscsi_lun_not_found', ''],
    ];
    for (const [what, conn, status, code, xapiCode] of cases) {
      const op = await done(
        stack,
        stack.driver.attachVolume(alice, 'iscsi-1', `bad-${code}`, { connection: conn }),
      );
      expect({ what, status: op.status, error: op.error }).toMatchObject({
        what,
        status: 'failed',
        error: { status, code, ...(xapiCode ? { xapi_error: { code: xapiCode } } : {}) },
      });
      expect(JSON.stringify(op)).not.toContain(SECRET);
      expect(storageSnapshot(stack.sim)).toEqual(before);
    }
  });

  it('refuses credentials that differ from those the target is attached with', async () => {
    await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-1', 'vol-a', { connection: connection(0) }),
    );
    const before = storageSnapshot(stack.sim);
    const srBefore = JSON.stringify(iscsiSrs()[0].other_config);
    // The target is plugged already: a caller without the right password is still refused.
    const op = await done(
      stack,
      stack.driver.attachVolume(bob, 'bob-1', 'vol-b', {
        connection: connection(1, { auth_password: 'guess' }),
      }),
      bob,
    );
    expect(op.error).toMatchObject({ status: 422, code: 'iscsi_login_failed' });
    expect(storageSnapshot(stack.sim)).toEqual(before);
    expect(JSON.stringify(iscsiSrs()[0].other_config)).toBe(srBefore);
    await done(stack, stack.driver.detachVolume(alice, 'iscsi-1', 'vol-a')!);
    await until(() => iscsiSrs().length === 0);
  });

  it('keeps the volume out of another namespace: not listed, not detached, not attachable by uuid', async () => {
    await done(
      stack,
      stack.driver.attachVolume(alice, 'iscsi-1', 'vol-a', { connection: connection(0) }),
    );
    const [vol] = stack.driver.listVolumes(alice, 'iscsi-1');
    expect(() => stack.driver.listVolumes(bob, 'iscsi-1')).toThrow(
      expect.objectContaining({ status: 404, code: 'instance_not_found' }),
    );
    expect(() => stack.driver.detachVolume(bob, 'iscsi-1', 'vol-a')).toThrow(
      expect.objectContaining({ status: 404 }),
    );
    // On bob's own instance the id names nothing of his.
    expect(stack.driver.detachVolume(bob, 'bob-1', 'vol-a')).toBeNull();
    // The LUN's VDI is never a volume by uuid, for bob or for alice.
    for (const caller of [bob, alice])
      expect(() =>
        stack.driver.attachVolume(caller, caller === bob ? 'bob-1' : 'iscsi-2', vol!.uuid, {}),
      ).toThrow(expect.objectContaining({ status: 404, code: 'volume_not_found' }));
    expect(stack.driver.listVolumes(alice, 'iscsi-1')).toHaveLength(1);
    await done(stack, stack.driver.detachVolume(alice, 'iscsi-1', 'vol-a')!);
    await until(() => iscsiSrs().length === 0);
  });
});
