// A fault at every XAPI call of an iSCSI attach: the simulator fails the Nth call of each method
// the attach makes, in turn, and the pool must then hold exactly the SRs, PBDs, VDIs and VBDs
// (and their tags) it held before. Both paths: the target's SR introduced by the attach, and the
// SR already there (another LUN of the target attached) reused.
import { done, setState, spawnInstance, until } from './instance-helpers';
import { callPoints, failEachCall, type CallPoint } from './fault-points';
import { alice, startDriverStack, type DriverStack } from './stack';
import { connection, registerTarget, storageSnapshot } from './iscsi-helpers';

describe('iSCSI attach undo', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
    registerTarget(stack.sim);
    const vmRef = await spawnInstance(stack, 'faults-1');
    await setState(stack, vmRef, 'Running');
    await spawnInstance(stack, 'faults-2');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const iscsiSrs = (): number =>
    [...stack.sim.store.all('SR').values()].filter((sr: any) => sr.type === 'iscsi').length;

  /** The calls an attach of LUN `lun` makes now, as [method, nth] points. */
  async function attachPoints(lun: number): Promise<CallPoint[]> {
    stack.calls.length = 0;
    const ok = await done(
      stack,
      stack.driver.attachVolume(alice, 'faults-1', 'probe', { connection: connection(lun) }),
    );
    expect(ok.error).toBeNull();
    const points = callPoints(stack.calls);
    await done(stack, stack.driver.detachVolume(alice, 'faults-1', 'probe'));
    return points;
  }

  function failEach(points: CallPoint[], lun: number): Promise<string[]> {
    return failEachCall(stack.sim, points, {
      attempt: (i) =>
        done(
          stack,
          stack.driver.attachVolume(alice, 'faults-1', `fault-${lun}-${i}`, {
            connection: connection(lun),
          }),
        ),
      snapshot: () => storageSnapshot(stack.sim),
      // Reads follow the mirror: the undone VBD leaves the volume list once it shows that.
      check: async (where) => {
        const listed = await until(() => stack.driver.listVolumes(alice, 'faults-1').length === 0)
          .then(() => true)
          .catch(() => false);
        return listed ? [] : [`${where}: a volume is still listed`];
      },
    });
  }

  it('leaves the pool as before when any call of an attach that introduces the SR fails', async () => {
    const points = await attachPoints(0);
    await until(() => iscsiSrs() === 0);
    const methods = points.map(([m]) => m);
    for (const m of ['SR.introduce', 'PBD.create', 'PBD.plug', 'SR.scan', 'VBD.create', 'VBD.plug'])
      expect(methods).toContain(m);
    // A PBD per host: three hosts, three creates and plugs.
    expect(methods.filter((m) => m === 'PBD.plug')).toHaveLength(stack.sim.store.count('host'));
    expect(await failEach(points, 0)).toEqual([]);
    expect(iscsiSrs()).toBe(0);
  });

  it('leaves the pool as before when any call of an attach that reuses the SR fails', async () => {
    const other = await done(
      stack,
      stack.driver.attachVolume(alice, 'faults-2', 'keeps-sr', { connection: connection(1) }),
    );
    expect(other.error).toBeNull();
    const points = await attachPoints(0);
    const methods = points.map(([m]) => m);
    expect(methods).not.toContain('SR.introduce');
    expect(methods).not.toContain('PBD.create');
    expect(await failEach(points, 0)).toEqual([]);
    expect(iscsiSrs()).toBe(1);
    await done(stack, stack.driver.detachVolume(alice, 'faults-2', 'keeps-sr'));
    await until(() => iscsiSrs() === 0);
  });

  it('rolls a cancelled attach back and reports it cancelled', async () => {
    const before = storageSnapshot(stack.sim);
    stack.sim.faults.add('latency:SR.scan:400');
    const op = stack.driver.attachVolume(alice, 'faults-1', 'cancelled', {
      connection: connection(2),
    });
    // Cancel once the SR is introduced and its PBDs are plugged (the attach waits in the scan).
    await until(() => {
      const sr: any = [...stack.sim.store.all('SR').values()].find((r: any) => r.type === 'iscsi');
      return !!sr && sr.PBDs.length === stack.sim.store.count('host');
    });
    stack.driver.cancelOperation(alice, op.id);
    const final = await done(stack, op);
    stack.sim.faults.clear();
    expect(final).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    expect(storageSnapshot(stack.sim)).toEqual(before);
  });

  it.each(['PBD.unplug', 'PBD.destroy', 'SR.forget'])(
    'finishes a detach that failed at %s when it is asked again',
    async (method) => {
      const before = storageSnapshot(stack.sim);
      const ok = await done(
        stack,
        stack.driver.attachVolume(alice, 'faults-1', 'half', { connection: connection(0) }),
      );
      expect(ok.error).toBeNull();
      stack.sim.faults.add(`fail:${method}:1:INTERNAL_ERROR,injected`);
      const failed = await done(stack, stack.driver.detachVolume(alice, 'faults-1', 'half'));
      stack.sim.faults.clear();
      expect(failed).toMatchObject({
        status: 'failed',
        error: { xapi_error: { code: 'INTERNAL_ERROR' } },
      });
      // The volume is off the instance, its SR still there: the same DELETE finishes the job.
      expect(iscsiSrs()).toBe(1);
      const again = await done(stack, stack.driver.detachVolume(alice, 'faults-1', 'half'));
      expect(again.error).toBeNull();
      await until(() => iscsiSrs() === 0);
      expect(storageSnapshot(stack.sim)).toEqual(before);
      expect(stack.driver.detachVolume(alice, 'faults-1', 'half')).toBeNull();
    },
  );
});
