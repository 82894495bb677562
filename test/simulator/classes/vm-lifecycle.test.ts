// The VM power-state machine and xapi's operation checks, over JSON-RPC against a running
// simulator: transitions and their side effects (host, devices, consoles, metrics), the check
// order (blocked, power state, concurrency, template, snapshot, dom0) and allowed_operations.
import { expectFault, openSim, type SimFixture } from '../../helpers/xapi-rpc';

const NULL = 'OpaqueRef:NULL';
let f: SimFixture;

beforeAll(async () => {
  f = await openSim();
});
afterAll(async () => {
  await f.sim.close();
});

async function freshVm(name: string): Promise<string> {
  const base = await f.rpc.byName('VM', 'build-01');
  return f.rpc.call('VM.clone', base, name);
}

describe('power transitions', () => {
  test('start brings a halted VM up on a host with devices, console and metrics', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-start');
    await rpc.call('VM.start', vm, false, false);
    const rec = await rpc.call('VM.get_record', vm);
    expect(rec.power_state).toBe('Running');
    expect(rec.resident_on).not.toBe(NULL);
    expect(rec.domid).toBeGreaterThan(0);
    expect(rec.memory_target).toBe(rec.memory_dynamic_max);
    const resident = await rpc.call('host.get_resident_VMs', rec.resident_on);
    expect(resident).toContain(vm);
    for (const vbd of rec.VBDs)
      expect(await rpc.call('VBD.get_currently_attached', vbd)).toBe(true);
    for (const vif of rec.VIFs)
      expect(await rpc.call('VIF.get_currently_attached', vif)).toBe(true);
    expect(rec.consoles).toHaveLength(1);
    const con = await rpc.call('console.get_record', rec.consoles[0]);
    const address = await rpc.call('host.get_address', rec.resident_on);
    expect(con.protocol).toBe('rfb');
    expect(con.location).toBe(`https://${address}/console?uuid=${con.uuid}`);
    expect(await rpc.call('console.get_location', rec.consoles[0])).toBe(con.location);
    const metrics = await rpc.call('VM_metrics.get_record', rec.metrics);
    expect(metrics.memory_actual).toBe(rec.memory_dynamic_max);
    expect(metrics.VCPUs_number).toBe(rec.VCPUs_at_startup);
    expect(metrics.start_time).not.toBe('19700101T00:00:00Z');
    expect(rec.guest_metrics).not.toBe(NULL);
    expect(rec.allowed_operations).toEqual(
      expect.arrayContaining([
        'clean_shutdown',
        'hard_shutdown',
        'suspend',
        'pause',
        'snapshot',
        'pool_migrate',
      ]),
    );
    expect(rec.allowed_operations).not.toContain('start');
  });

  test('clean_shutdown halts: resident_on, domid, devices, consoles and guest metrics are reset', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-halt');
    await rpc.call('VM.start', vm, false, false);
    const host = await rpc.call('VM.get_resident_on', vm);
    await rpc.call('VM.clean_shutdown', vm);
    const rec = await rpc.call('VM.get_record', vm);
    expect(rec.power_state).toBe('Halted');
    expect(rec.resident_on).toBe(NULL);
    expect(rec.scheduled_to_be_resident_on).toBe(NULL);
    expect(rec.domid).toBe(-1);
    expect(rec.consoles).toEqual([]);
    expect(rec.guest_metrics).toBe(NULL);
    for (const vbd of rec.VBDs)
      expect(await rpc.call('VBD.get_currently_attached', vbd)).toBe(false);
    for (const vif of rec.VIFs)
      expect(await rpc.call('VIF.get_currently_attached', vif)).toBe(false);
    expect(await rpc.call('host.get_resident_VMs', host)).not.toContain(vm);
    expect((await rpc.call('VM_metrics.get_record', rec.metrics)).memory_actual).toBe(0);
    expect(rec.allowed_operations).toEqual(
      expect.arrayContaining(['start', 'start_on', 'clone', 'copy', 'destroy', 'snapshot']),
    );
  });

  test('start_paused, unpause, pause, hard_reboot and clean_reboot', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-pause');
    await rpc.call('VM.start', vm, true, false);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Paused');
    await expectFault(rpc.call('VM.pause', vm), 'VM_BAD_POWER_STATE', [vm, 'running', 'paused']);
    await rpc.call('VM.unpause', vm);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
    await expectFault(rpc.call('VM.unpause', vm), 'VM_BAD_POWER_STATE', [vm, 'paused', 'running']);
    await rpc.call('VM.pause', vm);
    const domid = await rpc.call('VM.get_domid', vm);
    await rpc.call('VM.hard_reboot', vm);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
    const domid2 = await rpc.call('VM.get_domid', vm);
    expect(domid2).not.toBe(domid);
    await rpc.call('VM.clean_reboot', vm);
    expect(await rpc.call('VM.get_domid', vm)).not.toBe(domid2);
    await rpc.call('VM.hard_shutdown', vm);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Halted');
  });

  test('suspend writes a suspend VDI on the pool suspend SR; resume removes it', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-suspend');
    await rpc.call('VM.start', vm, false, false);
    const pool = (await rpc.call('pool.get_all'))[0];
    const sr = await rpc.call('pool.get_suspend_image_SR', pool);
    await rpc.call('VM.suspend', vm);
    const rec = await rpc.call('VM.get_record', vm);
    expect(rec.power_state).toBe('Suspended');
    expect(rec.resident_on).toBe(NULL);
    const vdi = await rpc.call('VDI.get_record', rec.suspend_VDI);
    expect(vdi.type).toBe('suspend');
    expect(vdi.SR).toBe(sr);
    expect(rec.allowed_operations).toEqual(
      expect.arrayContaining(['resume', 'resume_on', 'hard_shutdown']),
    );
    await expectFault(rpc.call('VM.start', vm, false, false), 'VM_BAD_POWER_STATE', [
      vm,
      'halted',
      'suspended',
    ]);
    await rpc.call('VM.resume', vm, false, false);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
    expect(await rpc.call('VM.get_suspend_VDI', vm)).toBe(NULL);
    await expectFault(rpc.call('VDI.get_record', rec.suspend_VDI), 'HANDLE_INVALID', [
      'VDI',
      rec.suspend_VDI,
    ]);
    await expectFault(rpc.call('VM.resume', vm, false, false), 'VM_BAD_POWER_STATE', [
      vm,
      'suspended',
      'running',
    ]);
  });

  test('resume_on a given host, and shutdown of a suspended VM drops its image', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-resume-on');
    const hosts = await rpc.call('host.get_all');
    await rpc.call('VM.start_on', vm, hosts[2], false, false);
    await rpc.call('VM.suspend', vm);
    await rpc.call('VM.resume_on', vm, hosts[1], false, false);
    expect(await rpc.call('VM.get_resident_on', vm)).toBe(hosts[1]);
    await rpc.call('VM.suspend', vm);
    const image = await rpc.call('VM.get_suspend_VDI', vm);
    await rpc.call('VM.shutdown', vm);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Halted');
    await expectFault(rpc.call('VDI.get_uuid', image), 'HANDLE_INVALID');
  });

  test('suspend without any suspend SR fails with VM_NO_SUSPEND_SR', async () => {
    const own = await openSim({ hosts: 1 });
    try {
      const { rpc } = own;
      const vm = await rpc.byName('VM', 'web-01');
      const pool = (await rpc.call('pool.get_all'))[0];
      await rpc.call('pool.set_suspend_image_SR', pool, NULL);
      await rpc.call('pool.set_default_SR', pool, NULL);
      await expectFault(rpc.call('VM.suspend', vm), 'VM_NO_SUSPEND_SR', [vm]);
      expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
    } finally {
      await own.sim.close();
    }
  });

  test('power_state_reset forces Halted from any state', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-reset');
    await rpc.call('VM.start', vm, false, false);
    await rpc.call('VM.power_state_reset', vm);
    const rec = await rpc.call('VM.get_record', vm);
    expect(rec.power_state).toBe('Halted');
    expect(rec.resident_on).toBe(NULL);
  });
});

describe('operation checks in order', () => {
  test('VM_BAD_POWER_STATE lists the expected states lowercase, comma-joined', async () => {
    const { rpc } = f;
    const web = await rpc.byName('VM', 'web-01');
    const build = await rpc.byName('VM', 'build-01');
    await expectFault(rpc.call('VM.start', web, false, false), 'VM_BAD_POWER_STATE', [
      web,
      'halted',
      'running',
    ]);
    await expectFault(rpc.call('VM.destroy', web), 'VM_BAD_POWER_STATE', [
      web,
      'halted, suspended',
      'running',
    ]);
    await expectFault(rpc.call('VM.clean_shutdown', build), 'VM_BAD_POWER_STATE', [
      build,
      'running',
      'halted',
    ]);
    await expectFault(rpc.call('VM.hard_shutdown', build), 'VM_BAD_POWER_STATE', [
      build,
      'paused, suspended, running',
      'halted',
    ]);
    await expectFault(rpc.call('VM.hard_reboot', build), 'VM_BAD_POWER_STATE', [
      build,
      'paused, running',
      'halted',
    ]);
    await expectFault(rpc.call('VM.clone', web, 'x'), 'VM_BAD_POWER_STATE', [
      web,
      'halted',
      'running',
    ]);
  });

  test('blocked_operations wins over every other check and shows in allowed_operations', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-blocked');
    await rpc.call('VM.add_to_blocked_operations', vm, 'start', 'maintenance window');
    expect(await rpc.call('VM.get_allowed_operations', vm)).not.toContain('start');
    await expectFault(rpc.call('VM.start', vm, false, false), 'OPERATION_BLOCKED', [
      vm,
      'maintenance window',
    ]);
    await rpc.call('VM.add_to_blocked_operations', vm, 'clean_shutdown', 'no');
    await expectFault(rpc.call('VM.clean_shutdown', vm), 'OPERATION_BLOCKED', [vm, 'no']);
    await expectFault(
      rpc.call('VM.add_to_blocked_operations', vm, 'start', 'again'),
      'MAP_DUPLICATE_KEY',
      ['VM', 'blocked_operations', vm, 'start'],
    );
    await rpc.call('VM.remove_from_blocked_operations', vm, 'start');
    expect(await rpc.call('VM.get_allowed_operations', vm)).toContain('start');
    await rpc.call('VM.set_blocked_operations', vm, { destroy: 'keep' });
    await expectFault(rpc.call('VM.destroy', vm), 'OPERATION_BLOCKED', [vm, 'keep']);
    await rpc.call('VM.start', vm, false, false);
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('templates answer VM_IS_TEMPLATE [vm, op] after the power-state check', async () => {
    const { rpc } = f;
    const tpl = await rpc.byName('VM', 'Debian Bookworm 12');
    await expectFault(rpc.call('VM.start', tpl, false, false), 'VM_IS_TEMPLATE', [tpl, 'start']);
    await expectFault(rpc.call('VM.snapshot', tpl, 's'), 'VM_IS_TEMPLATE', [tpl, 'snapshot']);
    await expectFault(rpc.call('VM.clean_shutdown', tpl), 'VM_BAD_POWER_STATE', [
      tpl,
      'running',
      'halted',
    ]);
    const ops = await rpc.call('VM.get_allowed_operations', tpl);
    expect(ops).toEqual(expect.arrayContaining(['clone', 'copy', 'provision', 'export']));
    expect(ops).not.toContain('start');
    expect(ops).not.toContain('destroy');
  });

  test('snapshots answer VM_IS_SNAPSHOT [vm, op]; provision and revert have their own errors', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-snapcheck');
    const snap = await rpc.call('VM.snapshot', vm, 'lc-snap');
    await expectFault(rpc.call('VM.start', snap, false, false), 'VM_IS_SNAPSHOT', [snap, 'start']);
    await expectFault(rpc.call('VM.provision', snap), 'VM_IS_SNAPSHOT', [snap, 'provision']);
    await expectFault(rpc.call('VM.provision', vm), 'PROVISION_ONLY_ALLOWED_ON_TEMPLATE', []);
    await expectFault(rpc.call('VM.revert', vm), 'REVERT_ONLY_ALLOWED_ON_SNAPSHOT', []);
    const ops = await rpc.call('VM.get_allowed_operations', snap);
    expect(ops).toEqual(expect.arrayContaining(['revert', 'clone', 'copy', 'destroy']));
    expect(ops).not.toContain('start');
  });

  test('set_is_a_template: true needs a halted VM; false works on snapshots (as XO does)', async () => {
    const { rpc } = f;
    const web = await rpc.byName('VM', 'web-01');
    await expectFault(rpc.call('VM.set_is_a_template', web, true), 'VM_BAD_POWER_STATE', [
      web,
      'halted',
      'running',
    ]);
    const snap = await rpc.call('VM.snapshot', web, 'xo-style');
    await rpc.call('VM.set_is_a_template', snap, false);
    expect(await rpc.call('VM.get_is_a_template', snap)).toBe(false);
    await expectFault(rpc.call('VM.start', snap, false, false), 'VM_IS_SNAPSHOT', [snap, 'start']);
    const vm = await freshVm('to-template');
    await rpc.call('VM.set_is_a_template', vm, true);
    expect(await rpc.call('VM.get_allowed_operations', vm)).not.toContain('start');
  });

  test('the control domain refuses lifecycle operations', async () => {
    const { rpc } = f;
    const host = (await rpc.call('host.get_all'))[0];
    const dom0 = await rpc.call('host.get_control_domain', host);
    expect(await rpc.call('VM.get_is_control_domain', dom0)).toBe(true);
    await expectFault(rpc.call('VM.hard_shutdown', dom0), 'OPERATION_NOT_ALLOWED', [
      'This operation is not allowed on dom0',
    ]);
    await expectFault(rpc.call('VM.pause', dom0), 'OPERATION_NOT_ALLOWED');
  });

  test('nomigrate VMs are immobile for suspend and pool_migrate', async () => {
    const { rpc } = f;
    const vm = await freshVm('lc-immobile');
    const platform = await rpc.call('VM.get_platform', vm);
    await rpc.call('VM.set_platform', vm, { ...platform, nomigrate: 'true' });
    await rpc.call('VM.start', vm, false, false);
    await expectFault(rpc.call('VM.suspend', vm), 'VM_IS_IMMOBILE', [vm]);
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('assert_operation_valid answers like the operation would', async () => {
    const { rpc } = f;
    const web = await rpc.byName('VM', 'web-01');
    await rpc.call('VM.assert_operation_valid', web, 'clean_shutdown');
    await expectFault(rpc.call('VM.assert_operation_valid', web, 'start'), 'VM_BAD_POWER_STATE', [
      web,
      'halted',
      'running',
    ]);
  });
});

describe('concurrency through current_operations', () => {
  let slow: SimFixture;
  beforeAll(async () => {
    slow = await openSim({ hosts: 1, timeScale: 15 });
  });
  afterAll(async () => {
    await slow.sim.close();
  });

  test('an Async start publishes current_operations and blocks a conflicting clone', async () => {
    const { rpc } = slow;
    const vm = await rpc.byName('VM', 'build-01');
    const task = await rpc.start('VM.start', vm, false, false);
    const during = await rpc.call('VM.get_record', vm);
    expect(during.current_operations).toEqual({ [task]: 'start' });
    expect(during.allowed_operations).not.toContain('clone');
    await expectFault(rpc.call('VM.clone', vm, 'x'), 'OTHER_OPERATION_IN_PROGRESS', [
      'VM',
      vm,
      'start',
      task,
    ]);
    await expectFault(rpc.call('VM.destroy', vm), 'OTHER_OPERATION_IN_PROGRESS', [
      'VM',
      vm,
      'start',
      task,
    ]);
    let progress = 0;
    for (let i = 0; i < 40 && progress === 0; i++) {
      progress = await rpc.call('task.get_progress', task);
      if (progress === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(progress).toBeGreaterThan(0);
    await rpc.wait(task);
    const after = await rpc.call('VM.get_record', vm);
    expect(after.current_operations).toEqual({});
    expect(after.power_state).toBe('Running');
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('a cancelled Async start leaves the VM halted with no current operation', async () => {
    const { rpc } = slow;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'cancel-me');
    const task = await rpc.start('VM.start', vm, false, false);
    await new Promise((r) => setTimeout(r, 50));
    await rpc.call('task.cancel', task);
    await expectFault(rpc.wait(task), 'TASK_CANCELLED', [task]);
    const rec = await rpc.call('VM.get_record', vm);
    expect(rec.power_state).toBe('Halted');
    expect(rec.current_operations).toEqual({});
    expect(rec.scheduled_to_be_resident_on).toBe('OpaqueRef:NULL');
    expect(rec.allowed_operations).toContain('start');
  });

  test('snapshot and checkpoint may overlap; hard_shutdown may join a clean_shutdown', async () => {
    const { rpc } = slow;
    const vm = await rpc.byName('VM', 'web-01');
    const t1 = await rpc.start('VM.snapshot', vm, 's1');
    const t2 = await rpc.start('VM.checkpoint', vm, 's2');
    const [r1, r2] = await Promise.all([rpc.wait(t1), rpc.wait(t2)]);
    expect(r1.result).toMatch(/OpaqueRef:/);
    expect(r2.result).toMatch(/OpaqueRef:/);
    const clean = await rpc.start('VM.clean_shutdown', vm);
    await expectFault(rpc.call('VM.suspend', vm), 'OTHER_OPERATION_IN_PROGRESS', [
      'VM',
      vm,
      'clean_shutdown',
      clean,
    ]);
    await rpc.call('VM.hard_shutdown', vm);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Halted');
    await rpc.wait(clean);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Halted');
  });
});
