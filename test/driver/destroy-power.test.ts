// Behaviour of destroy and of the power actions through the driver's public surface: destroy
// with and without keep_disks, with snapshots, of an instance already gone or still building;
// every power action in every XAPI power state (409 with XAPI's states where XAPI refuses), and
// a soft reboot that times out falling back to a hard one.
import type { InstanceAction } from '../../src/driver/types';
import {
  alice,
  poolSnapshot,
  provisioningTemplate,
  settle,
  startDriverStack,
  vmOf,
  type DriverStack,
} from './stack';

type PowerState = 'Halted' | 'Running' | 'Paused' | 'Suspended';

describe('driver destroy', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function spawn(id: string, extra: Record<string, unknown> = {}): Promise<void> {
    const { operation } = stack.driver.spawn(alice, id, {
      template: provisioningTemplate(stack),
      disks: [{ size_gb: 1 }],
      user_data: Buffer.from('hi').toString('base64'),
      ...extra,
    } as any);
    const done = await settle(stack, alice, operation);
    expect(done.error).toBeNull();
  }

  it('removes the VM, its disks, config drive, VBDs and VIFs, leaving the pool as before', async () => {
    const before = poolSnapshot(stack.sim);
    await spawn('d-all');
    expect(poolSnapshot(stack.sim).VDI.length).toBeGreaterThan(before.VDI.length);
    const op = stack.driver.destroy(alice, 'd-all', {});
    expect(op).toMatchObject({ kind: 'destroy', instance_id: 'd-all' });
    const done = await settle(stack, alice, op!);
    expect(done).toMatchObject({ status: 'succeeded', result: null, error: null });
    expect(poolSnapshot(stack.sim)).toEqual(before);
    expect(() => stack.driver.getInstance(alice, 'd-all')).toThrow(
      expect.objectContaining({ status: 404 }),
    );
  });

  it('keeps the data disks with keep_disks, marked kept, and drops the rest', async () => {
    const before = poolSnapshot(stack.sim);
    await spawn('d-keep');
    const inst = stack.driver.getInstance(alice, 'd-keep');
    const dataDisks = inst.disks.filter((d) => d.type === 'disk').map((d) => d.uuid);
    const configDrive = inst.disks.find((d) => d.type === 'cdrom' && d.uuid)!.uuid;
    await settle(stack, alice, stack.driver.destroy(alice, 'd-keep', { keep_disks: true })!);
    const after = poolSnapshot(stack.sim);
    expect(after.VM).toEqual(before.VM);
    expect(after.VBD).toEqual(before.VBD);
    expect(after.VIF).toEqual(before.VIF);
    expect(after.VDI.length).toBe(before.VDI.length + dataDisks.length);
    for (const uuid of dataDisks) {
      const vdi = stack.sim.store.get('VDI', stack.sim.store.byUuid('VDI', uuid)!) as any;
      expect(vdi.other_config).toMatchObject({ xcd_instance_id: 'd-keep', xcd_state: 'kept' });
    }
    expect(stack.sim.store.byUuid('VDI', configDrive)).toBeUndefined();
    // Kept disks survive a restart's reconcile (they are not orphans).
    await stack.restartDriver();
    for (const uuid of dataDisks) expect(stack.sim.store.byUuid('VDI', uuid)).toBeDefined();
    for (const uuid of dataDisks)
      await stack.xapi.call('VDI.destroy', stack.sim.store.byUuid('VDI', uuid)!);
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('destroys a running instance with its snapshots', async () => {
    const before = poolSnapshot(stack.sim);
    await spawn('d-snap');
    const inst = stack.driver.getInstance(alice, 'd-snap');
    expect(inst.power_state).toBe('running');
    const vmRef = stack.sim.store.byUuid('VM', inst.uuid)!;
    await stack.xapi.call('VM.snapshot', vmRef, 'before-upgrade');
    expect(vmOf(stack, inst.uuid).snapshots).toHaveLength(1);
    await settle(stack, alice, stack.driver.destroy(alice, 'd-snap', {})!);
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });

  it('succeeds when the instance is already gone', async () => {
    expect(stack.driver.destroy(alice, 'never-existed', {})).toBeNull();
    await spawn('d-twice', { power_on: false, disks: [], user_data: undefined });
    const first = stack.driver.destroy(alice, 'd-twice', {});
    const second = stack.driver.destroy(alice, 'd-twice', {});
    expect(second!.id).toBe(first!.id);
    await settle(stack, alice, first!);
    expect(stack.driver.destroy(alice, 'd-twice', {})).toBeNull();
  });

  it('finishes when the VM vanished behind its back', async () => {
    await spawn('d-vanish', { power_on: false, disks: [], user_data: undefined });
    const inst = stack.driver.getInstance(alice, 'd-vanish');
    const op = stack.driver.destroy(alice, 'd-vanish', {});
    await stack.xapi
      .call('VM.destroy', stack.sim.store.byUuid('VM', inst.uuid)!)
      .catch(() => undefined);
    expect((await settle(stack, alice, op!)).status).toBe('succeeded');
  });

  it('cancels a spawn still building and leaves nothing of it', async () => {
    const before = poolSnapshot(stack.sim);
    stack.sim.faults.add('latency:VM.provision:300');
    const { operation } = stack.driver.spawn(alice, 'd-building', {
      template: provisioningTemplate(stack),
    });
    await new Promise((r) => setTimeout(r, 50));
    const destroy = stack.driver.destroy(alice, 'd-building', {});
    expect(destroy).not.toBeNull();
    const spawnDone = await settle(stack, alice, operation);
    const destroyDone = await settle(stack, alice, destroy!);
    stack.sim.faults.clear();
    expect(spawnDone.status).toBe('cancelled');
    expect(destroyDone.status).toBe('succeeded');
    expect(poolSnapshot(stack.sim)).toEqual(before);
  });
});

describe('driver power actions', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    const { operation } = stack.driver.spawn(alice, 'p-1', {
      template: provisioningTemplate(stack),
      power_on: false,
    });
    expect((await settle(stack, alice, operation)).status).toBe('succeeded');
    vmRef = stack.sim.store.byUuid('VM', stack.driver.getInstance(alice, 'p-1').uuid)!;
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Puts the VM into a power state through XAPI directly (test setup, not the driver). */
  async function setState(target: PowerState): Promise<void> {
    const state = (): PowerState =>
      vmOf(stack, stack.driver.getInstance(alice, 'p-1').uuid).power_state;
    if (state() !== 'Halted') await stack.xapi.call('VM.hard_shutdown', vmRef);
    if (target !== 'Halted') await stack.xapi.call('VM.start', vmRef, false, false);
    if (target === 'Paused') await stack.xapi.call('VM.pause', vmRef);
    if (target === 'Suspended') await stack.xapi.call('VM.suspend', vmRef);
    expect(state()).toBe(target);
    // The mirror must show it before the driver is asked (the driver reads the mirror).
    const deadline = Date.now() + 3000;
    while (
      stack.driver.getInstance(alice, 'p-1').xapi_power_state !== target &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 5));
  }

  const actions: Array<[string, InstanceAction, PowerState[], 'Running' | 'Halted']> = [
    // As the contract says: power-on resumes a suspended instance and unpauses a paused one.
    ['power-on', { action: 'power-on' }, ['Halted', 'Paused', 'Suspended'], 'Running'],
    [
      'power-off hard',
      { action: 'power-off', type: 'hard' },
      ['Running', 'Paused', 'Suspended'],
      'Halted',
    ],
    ['power-off clean', { action: 'power-off', type: 'clean', timeout: 5 }, ['Running'], 'Halted'],
    ['reboot hard', { action: 'reboot', type: 'hard' }, ['Running', 'Paused'], 'Running'],
    ['reboot soft', { action: 'reboot', type: 'soft', timeout: 5 }, ['Running'], 'Running'],
  ];
  const states: PowerState[] = ['Halted', 'Running', 'Paused', 'Suspended'];
  const cases = actions.flatMap(([name, body, allowed, end]) =>
    states.map((s) => [name, s, body, allowed.includes(s), end] as const),
  );

  it.each(cases)('%s from %s', async (_name, from, body, allowed, end) => {
    await setState(from);
    const op = stack.driver.action(alice, 'p-1', body);
    expect(op).toMatchObject({ kind: body.action, instance_id: 'p-1', status: 'running' });
    const done = await settle(stack, alice, op);
    if (allowed) {
      expect(done.error).toBeNull();
      expect(done.status).toBe('succeeded');
      expect(done.result).toMatchObject({
        xapi_power_state: end,
        power_state: end === 'Running' ? 'running' : 'shutdown',
      });
      expect(stack.driver.getInstance(alice, 'p-1').xapi_power_state).toBe(end);
    } else {
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({
        status: 409,
        code: 'invalid_power_state',
        actual_power_state: from.toLowerCase(),
        xapi_error: { code: 'VM_BAD_POWER_STATE' },
      });
      expect((done.error as any).expected_power_states.length).toBeGreaterThan(0);
      expect(vmOf(stack, stack.driver.getInstance(alice, 'p-1').uuid).power_state).toBe(from);
    }
  });

  it('answers actions on unknown instances 404 and on viewers 403', () => {
    expect(() => stack.driver.action(alice, 'nope', { action: 'power-on' })).toThrow(
      expect.objectContaining({ status: 404, code: 'instance_not_found' }),
    );
    expect(() =>
      stack.driver.action({ namespace: 'alice', role: 'viewer', tokenId: 'v' }, 'p-1', {
        action: 'power-on',
      }),
    ).toThrow(expect.objectContaining({ status: 403 }));
  });

  it('persists the last operation in the VM tag so a restarted driver answers GET', async () => {
    await setState('Halted');
    const op = stack.driver.action(alice, 'p-1', { action: 'power-on' });
    await settle(stack, alice, op);
    await stack.restartDriver();
    const again = stack.driver.getOperation(alice, op.id);
    expect(again).toMatchObject({
      id: op.id,
      kind: 'power-on',
      status: 'succeeded',
      instance_id: 'p-1',
    });
    expect(again.result).toMatchObject({ id: 'p-1', power_state: 'running' });
    expect(() => stack.driver.getOperation({ ...alice, namespace: 'bob' }, op.id)).toThrow(
      expect.objectContaining({ status: 404 }),
    );
  });
});

describe('driver soft reboot timeout', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    // Slow simulated operations: a clean reboot takes 50 ms x 25 = 1.25 s, longer than the timeout.
    stack = await startDriverStack({ sim: { timeScale: 25 } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('falls back to a hard reboot when the soft one outlasts its timeout', async () => {
    const { operation } = stack.driver.spawn(alice, 'slow', {
      template: provisioningTemplate(stack),
    });
    expect((await settle(stack, alice, operation)).status).toBe('succeeded');
    stack.calls.length = 0;
    const t0 = Date.now();
    const op = stack.driver.action(alice, 'slow', { action: 'reboot', type: 'soft', timeout: 1 });
    const done = await settle(stack, alice, op);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(stack.calls.filter((c) => /reboot/.test(c))).toEqual([
      'VM.clean_reboot',
      'VM.hard_reboot',
    ]);
    expect(stack.driver.getInstance(alice, 'slow').power_state).toBe('running');
  });
});
