// Resize ceilings through the driver: a spawn's max_vcpus / max_memory_mb become VCPUs_max and
// memory_static_max before the first start; a running instance then resizes live up to them
// (no shutdown or start among the XAPI calls) and the view shows the current figures and the
// maxima; above them 409 power_cycle_required carries the maxima; a halted resize keeps them.
import { done, setState, simVm, spawnInstance } from './instance-helpers';
import { alice, provisioningTemplate, startDriverStack, type DriverStack } from './stack';

const MiB = 1024 * 1024;
const POWER_CYCLE = ['VM.hard_shutdown', 'VM.clean_shutdown', 'VM.shutdown', 'VM.start'];

describe('resize ceilings', () => {
  let stack: DriverStack;
  beforeAll(async () => {
    stack = await startDriverStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('sets the maxima before the first start and shows current figures and maxima', async () => {
    stack.calls.length = 0;
    const vmRef = await spawnInstance(stack, 'rc-1', {
      vcpus: 1,
      max_vcpus: 4,
      memory_mb: 512,
      max_memory_mb: 2048,
    });
    const vm = simVm(stack, vmRef);
    expect([vm.VCPUs_at_startup, vm.VCPUs_max]).toEqual([1, 4]);
    expect([vm.memory_dynamic_max, vm.memory_static_max]).toEqual([512 * MiB, 2048 * MiB]);
    const start = stack.calls.indexOf('VM.start');
    expect(start).toBeGreaterThan(stack.calls.lastIndexOf('VM.set_VCPUs_max'));
    expect(start).toBeGreaterThan(stack.calls.lastIndexOf('VM.set_memory_limits'));
    expect(stack.driver.getInstance(alice, 'rc-1')).toMatchObject({
      power_state: 'running',
      vcpus: 1,
      memory_mb: 512,
      max_vcpus: 4,
      max_memory_mb: 2048,
    });
  });

  it('resizes a running instance live up to the maxima, with no power cycle', async () => {
    const vmRef = await spawnInstance(stack, 'rc-2', {
      vcpus: 1,
      max_vcpus: 4,
      memory_mb: 512,
      max_memory_mb: 2048,
    });
    const domid = simVm(stack, vmRef).domid;
    stack.calls.length = 0;
    const final = await done(
      stack,
      stack.driver.action(alice, 'rc-2', { action: 'resize', vcpus: 4, memory_mb: 2048 }),
    );
    expect(final.error).toBeNull();
    expect(stack.calls).toEqual(
      expect.arrayContaining(['VM.set_VCPUs_number_live', 'VM.set_memory_dynamic_range']),
    );
    for (const m of POWER_CYCLE) expect(stack.calls).not.toContain(m);
    expect(stack.calls).not.toContain('VM.set_VCPUs_max');
    expect(stack.calls).not.toContain('VM.set_memory_limits');
    const vm = simVm(stack, vmRef);
    expect(vm).toMatchObject({ power_state: 'Running', domid, VCPUs_at_startup: 4, VCPUs_max: 4 });
    expect([vm.memory_dynamic_max, vm.memory_static_max]).toEqual([2048 * MiB, 2048 * MiB]);
    expect(final.result).toMatchObject({
      vcpus: 4,
      memory_mb: 2048,
      max_vcpus: 4,
      max_memory_mb: 2048,
    });
    // and back down, live too
    stack.calls.length = 0;
    const down = await done(
      stack,
      stack.driver.action(alice, 'rc-2', { action: 'resize', vcpus: 2, memory_mb: 1024 }),
    );
    expect(down.result).toMatchObject({ vcpus: 2, memory_mb: 1024, max_vcpus: 4 });
    for (const m of POWER_CYCLE) expect(stack.calls).not.toContain(m);
  });

  it.each([
    ['vCPUs above the maximum', { vcpus: 5 }],
    ['memory above the maximum', { memory_mb: 4096 }],
    ['new maxima', { max_vcpus: 8 }],
  ])('answers 409 power_cycle_required with the maxima: %s', async (_what, change) => {
    const vmRef = await spawnInstance(stack, `rc-3-${Object.keys(change)[0]}`, {
      vcpus: 1,
      max_vcpus: 4,
      memory_mb: 512,
      max_memory_mb: 2048,
    });
    const id = `rc-3-${Object.keys(change)[0]}`;
    let err: any;
    try {
      stack.driver.action(alice, id, { action: 'resize', ...change });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 409, code: 'power_cycle_required' });
    expect(err.toJSON()).toMatchObject({ max_vcpus: 4, max_memory_mb: 2048 });
    expect(simVm(stack, vmRef)).toMatchObject({ power_state: 'Running', VCPUs_at_startup: 1 });
  });

  it('keeps the maxima on a halted resize, and raises them only when exceeded or asked', async () => {
    const vmRef = await spawnInstance(stack, 'rc-4', {
      vcpus: 2,
      max_vcpus: 4,
      memory_mb: 1024,
      max_memory_mb: 2048,
      power_on: false,
    });
    const down = await done(
      stack,
      stack.driver.action(alice, 'rc-4', { action: 'resize', vcpus: 1, memory_mb: 512 }),
    );
    expect(down.error).toBeNull();
    expect(down.result).toMatchObject({
      vcpus: 1,
      memory_mb: 512,
      max_vcpus: 4,
      max_memory_mb: 2048,
    });
    const up = await done(
      stack,
      stack.driver.action(alice, 'rc-4', { action: 'resize', vcpus: 6, memory_mb: 4096 }),
    );
    expect(up.result).toMatchObject({
      vcpus: 6,
      memory_mb: 4096,
      max_vcpus: 6,
      max_memory_mb: 4096,
    });
    const asked = await done(
      stack,
      stack.driver.action(alice, 'rc-4', { action: 'resize', max_vcpus: 8, max_memory_mb: 8192 }),
    );
    expect(asked.result).toMatchObject({
      vcpus: 6,
      memory_mb: 4096,
      max_vcpus: 8,
      max_memory_mb: 8192,
    });
    // then live up to the new maxima once running
    await setState(stack, vmRef, 'Running');
    stack.calls.length = 0;
    const live = await done(
      stack,
      stack.driver.action(alice, 'rc-4', { action: 'resize', vcpus: 8, memory_mb: 8192 }),
    );
    expect(live.result).toMatchObject({ vcpus: 8, memory_mb: 8192, xapi_power_state: 'Running' });
    for (const m of POWER_CYCLE) expect(stack.calls).not.toContain(m);
  });

  it('refuses maxima below the figures (422 invalid_value) and leaves the pool alone', () => {
    const template = provisioningTemplate(stack);
    const vms = stack.sim.store.count('VM');
    expect(() => stack.driver.spawn(alice, 'rc-5', { template, vcpus: 4, max_vcpus: 2 })).toThrow(
      expect.objectContaining({ status: 422, code: 'invalid_value' }),
    );
    expect(() =>
      stack.driver.spawn(alice, 'rc-5', { template, memory_mb: 1024, max_memory_mb: 512 }),
    ).toThrow(expect.objectContaining({ status: 422, code: 'invalid_value' }));
    expect(stack.sim.store.count('VM')).toBe(vms);
  });

  it('an instance without headroom: a halted resize moves its maxima with its figures', async () => {
    const vmRef = await spawnInstance(stack, 'rc-7', {
      vcpus: 2,
      memory_mb: 1024,
      power_on: false,
    });
    const down = await done(
      stack,
      stack.driver.action(alice, 'rc-7', { action: 'resize', vcpus: 1, memory_mb: 512 }),
    );
    expect(down.result).toMatchObject({
      vcpus: 1,
      memory_mb: 512,
      max_vcpus: 1,
      max_memory_mb: 512,
    });
    expect(simVm(stack, vmRef).memory_static_max).toBe(512 * MiB);
  });

  it('refuses a resize whose maxima are below its figures (422 invalid_value)', async () => {
    await spawnInstance(stack, 'rc-6', { vcpus: 2, memory_mb: 1024, power_on: false });
    expect(() =>
      stack.driver.action(alice, 'rc-6', { action: 'resize', vcpus: 4, max_vcpus: 2 }),
    ).toThrow(expect.objectContaining({ status: 422, code: 'invalid_value' }));
  });
});
