// Behaviour of resize through the driver: halted instances changed in place; running ones
// changed live where XAPI allows (fewer vCPUs, less memory, bigger disks) without a power
// cycle; otherwise 409 power_cycle_required unless the caller asked for one (then the instance
// is halted, changed and started); paused/suspended 409; shrinking a disk 422; undo on failure.
import { done, setState, simVm, spawnInstance } from './instance-helpers';
import { alice, startDriverStack, type DriverStack } from './stack';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('resize', () => {
  let stack: DriverStack;
  let vmRef: string;
  beforeAll(async () => {
    stack = await startDriverStack();
    vmRef = await spawnInstance(stack, 'rs-1', {
      vcpus: 2,
      memory_mb: 1024,
      disks: [{ size_gb: 1 }],
      power_on: false,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const disk1 = (): number =>
    stack.driver
      .getInstance(alice, 'rs-1')
      .disks.find((d) => d.type === 'disk' && d.device !== '0')!.size_gb;
  const dataDevice = (): string =>
    stack.driver
      .getInstance(alice, 'rs-1')
      .disks.find((d) => d.type === 'disk' && d.device !== '0')!.device;

  it('changes a halted instance in place: vCPUs up, memory, disk grown', async () => {
    await setState(stack, vmRef, 'Halted');
    const op = stack.driver.action(alice, 'rs-1', {
      action: 'resize',
      vcpus: 4,
      memory_mb: 2048,
      disks: [{ device: dataDevice(), size_gb: 2 }],
    });
    const final = await done(stack, op);
    expect(final.error).toBeNull();
    expect(final.result).toMatchObject({ vcpus: 4, memory_mb: 2048, xapi_power_state: 'Halted' });
    expect(disk1()).toBe(2);
    const vm = simVm(stack, vmRef);
    expect([vm.VCPUs_max, vm.VCPUs_at_startup, vm.memory_dynamic_max]).toEqual([4, 4, 2048 * MiB]);
  });

  it('changes a running instance live where XAPI allows: fewer vCPUs, less memory, a bigger disk', async () => {
    await setState(stack, vmRef, 'Running');
    stack.calls.length = 0;
    const final = await done(
      stack,
      stack.driver.action(alice, 'rs-1', {
        action: 'resize',
        vcpus: 3,
        memory_mb: 1536,
        disks: [{ device: dataDevice(), size_gb: 3 }],
      }),
    );
    expect(final.error).toBeNull();
    expect(stack.calls).toEqual(
      expect.arrayContaining([
        'VM.set_VCPUs_number_live',
        'VM.set_memory_dynamic_range',
        'VDI.resize_online',
      ]),
    );
    expect(stack.calls).not.toEqual(expect.arrayContaining(['VM.hard_shutdown']));
    expect(stack.calls).not.toEqual(expect.arrayContaining(['VM.clean_shutdown']));
    const vm = simVm(stack, vmRef);
    expect([vm.power_state, vm.VCPUs_at_startup, vm.memory_dynamic_max]).toEqual([
      'Running',
      3,
      1536 * MiB,
    ]);
    expect(disk1()).toBe(3);
  });

  it('answers power_cycle_required when a running instance needs halting and no power cycle was asked', async () => {
    await setState(stack, vmRef, 'Running');
    let err: any;
    try {
      stack.driver.action(alice, 'rs-1', { action: 'resize', vcpus: 8 });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 409, code: 'power_cycle_required' });
    expect(err.toJSON()).toMatchObject({ max_vcpus: 4, max_memory_mb: 2048 });
    expect(simVm(stack, vmRef)).toMatchObject({ power_state: 'Running', VCPUs_max: 4 });
    // Queued behind another operation the check is XAPI's turn: the operation fails the same way.
    const first = stack.driver.action(alice, 'rs-1', { action: 'pause' });
    const queued = stack.driver.action(alice, 'rs-1', { action: 'unpause' });
    const second = stack.driver.action(alice, 'rs-1', { action: 'resize', memory_mb: 4096 });
    await done(stack, first);
    await done(stack, queued);
    expect(await done(stack, second)).toMatchObject({
      status: 'failed',
      error: { status: 409, code: 'power_cycle_required' },
    });
  });

  it.each(['hard', 'clean'] as const)(
    'power-cycles a running instance when asked (%s)',
    async (how) => {
      await setState(stack, vmRef, 'Running');
      const vcpus = how === 'hard' ? 6 : 8;
      stack.calls.length = 0;
      const final = await done(
        stack,
        stack.driver.action(alice, 'rs-1', {
          action: 'resize',
          vcpus,
          memory_mb: 4096,
          power_cycle: how,
          timeout: 5,
        }),
      );
      expect(final.error).toBeNull();
      expect(stack.calls).toContain(how === 'hard' ? 'VM.hard_shutdown' : 'VM.clean_shutdown');
      expect(stack.calls).toContain('VM.start');
      expect(final.result).toMatchObject({ vcpus, memory_mb: 4096, xapi_power_state: 'Running' });
    },
  );

  it('resize with power_cycle hard of a running 2-vCPU instance to 1 vCPU and 256 MiB does not fail invalid_power_state (live vCPU call on the halted VM)', async () => {
    const ref = await spawnInstance(stack, 'rs-2', { vcpus: 2, memory_mb: 1024 });
    await setState(stack, ref, 'Running');
    stack.calls.length = 0;
    const final = await done(
      stack,
      stack.driver.action(alice, 'rs-2', {
        action: 'resize',
        vcpus: 1,
        memory_mb: 256,
        power_cycle: 'hard',
      }),
    );
    expect(final.error).toBeNull();
    expect(final.result).toMatchObject({ vcpus: 1, memory_mb: 256, xapi_power_state: 'Running' });
    // One classification: everything is changed on the halted VM with the halted-state calls.
    expect(stack.calls).toContain('VM.hard_shutdown');
    expect(stack.calls).toContain('VM.set_VCPUs_at_startup');
    expect(stack.calls).not.toContain('VM.set_VCPUs_number_live');
    expect(stack.calls).not.toContain('VM.set_memory_dynamic_range');
    const vm = simVm(stack, ref);
    expect([vm.power_state, vm.VCPUs_at_startup, vm.memory_dynamic_max]).toEqual([
      'Running',
      1,
      256 * MiB,
    ]);
  });

  it('rolls back when a step fails after the shutdown: settings restored, instance started again', async () => {
    await setState(stack, vmRef, 'Running');
    const before = simVm(stack, vmRef);
    const [vcpus, memory] = [before.VCPUs_at_startup, before.memory_static_max];
    stack.sim.faults.add('fail:VM.set_memory_limits:1:MEMORY_CONSTRAINT_VIOLATION_ORDER');
    const final = await done(
      stack,
      stack.driver.action(alice, 'rs-1', {
        action: 'resize',
        vcpus: 10,
        memory_mb: 8192,
        power_cycle: 'hard',
      }),
    );
    stack.sim.faults.clear();
    expect(final).toMatchObject({
      status: 'failed',
      error: { status: 422, code: 'invalid_value' },
    });
    const vm = simVm(stack, vmRef);
    expect([vm.power_state, vm.VCPUs_at_startup, vm.memory_static_max]).toEqual([
      'Running',
      vcpus,
      memory,
    ]);
  });

  it('refuses to shrink a disk (422) and unknown devices (422)', async () => {
    await setState(stack, vmRef, 'Halted');
    const shrink = await done(
      stack,
      stack.driver.action(alice, 'rs-1', {
        action: 'resize',
        disks: [{ device: dataDevice(), size_gb: 1 }],
      }),
    );
    expect(shrink).toMatchObject({
      status: 'failed',
      error: { status: 422, code: 'invalid_value' },
    });
    const missing = await done(
      stack,
      stack.driver.action(alice, 'rs-1', {
        action: 'resize',
        disks: [{ device: '9', size_gb: 5 }],
      }),
    );
    expect(missing).toMatchObject({
      status: 'failed',
      error: { status: 422, code: 'invalid_value' },
    });
    expect(disk1() * GiB).toBe(3 * GiB);
  });

  it.each(['Paused', 'Suspended'] as const)(
    'answers 409 invalid_power_state when %s',
    async (state) => {
      await setState(stack, vmRef, state);
      expect(() => stack.driver.action(alice, 'rs-1', { action: 'resize', vcpus: 1 })).toThrow(
        expect.objectContaining({ status: 409, code: 'invalid_power_state' }),
      );
    },
  );
});
