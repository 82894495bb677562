// VM operations beyond the power switch, over JSON-RPC against a running simulator: clone,
// copy, provision, snapshot, checkpoint, revert, destroy, start/start_on memory accounting,
// pool_migrate, memory and vCPU settings with their constraint errors, allowed devices.
import { expectFault, openSim, type SimFixture } from '../../helpers/xapi-rpc';

const NULL = 'OpaqueRef:NULL';
const GIB = 1024 ** 3;
let f: SimFixture;

beforeAll(async () => {
  f = await openSim();
});
afterAll(async () => {
  await f.sim.close();
});

async function disks(
  vm: string,
): Promise<Array<{ vbd: string; vdi: string; userdevice: string; rec: any }>> {
  const out = [];
  for (const vbd of await f.rpc.call('VM.get_VBDs', vm)) {
    const rec = await f.rpc.call('VBD.get_record', vbd);
    if (rec.type === 'Disk')
      out.push({
        vbd,
        vdi: rec.VDI,
        userdevice: rec.userdevice,
        rec: await f.rpc.call('VDI.get_record', rec.VDI),
      });
  }
  return out;
}

describe('clone, copy and provision', () => {
  test('clone of a template stays a template, loses default_template, gains base_template_name', async () => {
    const { rpc } = f;
    const tpl = await rpc.byName('VM', 'Debian Bookworm 12');
    const clone = await rpc.call('VM.clone', tpl, 'my-debian');
    const rec = await rpc.call('VM.get_record', clone);
    expect(rec.is_a_template).toBe(true);
    expect(rec.is_default_template).toBe(false);
    expect(rec.other_config.base_template_name).toBe('Debian Bookworm 12');
    expect(rec.other_config.default_template).toBeUndefined();
    expect(rec.other_config.disks).toContain('<provision>');
    expect(rec.parent).toBe(NULL);
    expect(rec.metrics).not.toBe(NULL);
    expect(rec.generation_id).not.toBe((await rpc.call('VM.get_record', tpl)).generation_id);
  });

  test('provision builds disks from other_config.disks on the default SR, then the VM starts', async () => {
    const { rpc } = f;
    const tpl = await rpc.byName('VM', 'Debian Bookworm 12');
    const vm = await rpc.call('VM.clone', tpl, 'provisioned');
    const pool = (await rpc.call('pool.get_all'))[0];
    const sr = await rpc.call('pool.get_default_SR', pool);
    const before = await rpc.call('SR.get_record', sr);
    await rpc.call('VM.provision', vm);
    const d = await disks(vm);
    expect(d).toHaveLength(1);
    expect(d[0].userdevice).toBe('0');
    expect(d[0].rec.virtual_size).toBe(10 * GIB);
    expect(d[0].rec.SR).toBe(sr);
    expect(d[0].rec.type).toBe('system');
    expect(await rpc.call('VBD.get_bootable', d[0].vbd)).toBe(true);
    expect((await rpc.call('VM.get_other_config', vm)).disks).toBeUndefined();
    const after = await rpc.call('SR.get_record', sr);
    expect(after.virtual_allocation - before.virtual_allocation).toBe(10 * GIB);
    expect(after.VDIs).toContain(d[0].vdi);
    await expectFault(rpc.call('VM.start', vm, false, false), 'VM_IS_TEMPLATE', [vm, 'start']);
    await rpc.call('VM.set_is_a_template', vm, false);
    await rpc.call('VM.start', vm, false, false);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('provision honours the sr attribute and fails with SR_FULL when the disks do not fit', async () => {
    const { rpc } = f;
    const tpl = await rpc.byName('VM', 'Other install media');
    const vm = await rpc.call('VM.clone', tpl, 'too-big');
    const local = (await rpc.call('SR.get_by_name_label', 'Local storage'))[0];
    const srRec = await rpc.call('SR.get_record', local);
    const size = srRec.physical_size * 2;
    await rpc.call('VM.remove_from_other_config', vm, 'disks');
    await rpc.call(
      'VM.add_to_other_config',
      vm,
      'disks',
      `<provision><disk device="0" size="${size}" sr="${srRec.uuid}" bootable="true" type="system"/></provision>`,
    );
    const free = srRec.physical_size - srRec.physical_utilisation;
    await expectFault(rpc.call('VM.provision', vm), 'SR_FULL', [String(size), String(free)]);
    expect(await rpc.call('VM.get_VBDs', vm)).toEqual([]);
    await rpc.call('VM.remove_from_other_config', vm, 'disks');
    await rpc.call(
      'VM.add_to_other_config',
      vm,
      'disks',
      `<provision><disk device="1" size="${GIB}" sr="${srRec.uuid}" bootable="false" type="user"/></provision>`,
    );
    await rpc.call('VM.provision', vm);
    const d = await disks(vm);
    expect(d[0].rec.SR).toBe(local);
    expect(d[0].userdevice).toBe('1');
  });

  test('clone of a VM gives new disks (fast clones on the same SR), keeps CDs, new MACs', async () => {
    const { rpc } = f;
    const src = await rpc.byName('VM', 'build-01');
    const clone = await rpc.call('VM.clone', src, 'build-02');
    const a = await disks(src);
    const b = await disks(clone);
    expect(b).toHaveLength(a.length);
    expect(b[0].vdi).not.toBe(a[0].vdi);
    expect(b[0].rec.SR).toBe(a[0].rec.SR);
    expect(b[0].rec.virtual_size).toBe(a[0].rec.virtual_size);
    const cds = async (vm: string) => {
      const out = [];
      for (const vbd of await rpc.call('VM.get_VBDs', vm)) {
        const r = await rpc.call('VBD.get_record', vbd);
        if (r.type === 'CD') out.push(r.VDI);
      }
      return out;
    };
    expect(await cds(clone)).toEqual(await cds(src));
    const macA = await rpc.call('VIF.get_MAC', (await rpc.call('VM.get_VIFs', src))[0]);
    const macB = await rpc.call('VIF.get_MAC', (await rpc.call('VM.get_VIFs', clone))[0]);
    expect(macB).not.toBe(macA);
    expect(await rpc.call('VM.get_is_a_template', clone)).toBe(false);
  });

  test('copy makes full copies on the given SR; OpaqueRef:NULL keeps the original SRs', async () => {
    const { rpc } = f;
    const src = await rpc.byName('VM', 'build-01');
    const local = (await rpc.call('SR.get_by_name_label', 'Local storage'))[0];
    const before = await rpc.call('SR.get_physical_utilisation', local);
    const copy = await rpc.call('VM.copy', src, 'build-copy', local);
    const d = await disks(copy);
    expect(d[0].rec.SR).toBe(local);
    expect(d[0].rec.physical_utilisation).toBe(d[0].rec.virtual_size);
    expect((await rpc.call('SR.get_physical_utilisation', local)) - before).toBe(
      d[0].rec.virtual_size,
    );
    const same = await rpc.call('VM.copy', src, 'build-copy-2', NULL);
    expect((await disks(same))[0].rec.SR).toBe((await disks(src))[0].rec.SR);
  });
});

describe('snapshot, checkpoint, revert', () => {
  test('snapshot makes a halted template snapshot with snapshot VDIs and a parent chain', async () => {
    const { rpc } = f;
    const vm = await rpc.byName('VM', 'web-01');
    const parentBefore = await rpc.call('VM.get_parent', vm);
    const snap = await rpc.call('VM.snapshot', vm, 'web-01 before upgrade');
    const rec = await rpc.call('VM.get_record', snap);
    expect(rec).toMatchObject({
      is_a_snapshot: true,
      is_a_template: true,
      snapshot_of: vm,
      power_state: 'Halted',
      name_label: 'web-01 before upgrade',
    });
    expect(rec.snapshot_time).not.toBe('19700101T00:00:00Z');
    expect(rec.parent).toBe(parentBefore);
    expect(await rpc.call('VM.get_parent', vm)).toBe(snap);
    expect(await rpc.call('VM.get_snapshots', vm)).toContain(snap);
    const [orig] = await disks(vm);
    const [copy] = await disks(snap);
    expect(copy.rec.is_a_snapshot).toBe(true);
    expect(copy.rec.snapshot_of).toBe(orig.vdi);
    expect(orig.rec.snapshots).toContain(copy.vdi);
    for (const vbd of rec.VBDs)
      expect(await rpc.call('VBD.get_currently_attached', vbd)).toBe(false);
    expect(rec.snapshot_info['power-state-at-snapshot']).toBe('Running');
  });

  test('snapshot with ignore_vdis leaves those disks out', async () => {
    const { rpc } = f;
    const vm = await rpc.byName('VM', 'build-01');
    const [d] = await disks(vm);
    const snap = await rpc.call('VM.snapshot', vm, 'no-disks', [d.vdi]);
    expect(await disks(snap)).toEqual([]);
  });

  test('checkpoint makes a suspended snapshot with a memory image; revert restores it', async () => {
    const { rpc } = f;
    const vm = await rpc.byName('VM', 'db-01');
    const cp = await rpc.call('VM.checkpoint', vm, 'db-01 checkpoint');
    const rec = await rpc.call('VM.get_record', cp);
    expect(rec.power_state).toBe('Suspended');
    expect(rec.is_a_snapshot).toBe(true);
    expect(rec.suspend_VDI).not.toBe(NULL);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
    await rpc.call('VM.revert', cp);
    const after = await rpc.call('VM.get_record', vm);
    expect(after.power_state).toBe('Suspended');
    expect(after.suspend_VDI).not.toBe(NULL);
    expect(after.suspend_VDI).not.toBe(rec.suspend_VDI);
    expect(after.resident_on).toBe(NULL);
    await rpc.call('VM.resume', vm, false, false);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
  });

  test('revert replaces the disks with copies of the snapshot disks and halts the VM', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'revert-me');
    const [d0] = await disks(vm);
    const snap = await rpc.call('VM.snapshot', vm, 'revert-point');
    await rpc.call('VDI.resize', d0.vdi, d0.rec.virtual_size * 2);
    await rpc.call('VM.set_memory_limits', vm, 256 * 1024 ** 2, 2 * GIB, 2 * GIB, 2 * GIB);
    await rpc.call('VM.start', vm, false, false);
    await rpc.call('VM.revert', snap);
    const rec = await rpc.call('VM.get_record', vm);
    expect(rec.power_state).toBe('Halted');
    expect(rec.parent).toBe(snap);
    expect(rec.memory_static_max).toBe((await rpc.call('VM.get_record', snap)).memory_static_max);
    const [d1] = await disks(vm);
    expect(d1.vdi).not.toBe(d0.vdi);
    expect(d1.userdevice).toBe(d0.userdevice);
    expect(d1.rec.virtual_size).toBe(d0.rec.virtual_size);
    await expectFault(rpc.call('VDI.get_uuid', d0.vdi), 'HANDLE_INVALID');
  });
});

test('revert of a snapshot whose VM is gone fails with VM_REVERT_FAILED', async () => {
  const { rpc } = f;
  const vm = await rpc.call('VM.clone', await rpc.byName('VM', 'build-01'), 'orphan-maker');
  const snap = await rpc.call('VM.snapshot', vm, 'orphan');
  await rpc.call('VM.destroy', vm);
  await expectFault(rpc.call('VM.revert', snap), 'VM_REVERT_FAILED', [vm, snap]);
});

describe('destroy', () => {
  test('destroy removes VBDs, VIFs and metrics but keeps the VDIs', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'doomed');
    const rec = await rpc.call('VM.get_record', vm);
    const [d] = await disks(vm);
    await rpc.call('VM.destroy', vm);
    await expectFault(rpc.call('VM.get_record', vm), 'HANDLE_INVALID', ['VM', vm]);
    for (const vbd of rec.VBDs) await expectFault(rpc.call('VBD.get_uuid', vbd), 'HANDLE_INVALID');
    for (const vif of rec.VIFs) await expectFault(rpc.call('VIF.get_uuid', vif), 'HANDLE_INVALID');
    await expectFault(rpc.call('VM_metrics.get_uuid', rec.metrics), 'HANDLE_INVALID');
    expect((await rpc.call('VDI.get_record', d.vdi)).VBDs).toEqual([]);
    const net = await rpc.call('VIF.get_network', rec.VIFs[0]).catch(() => undefined);
    expect(net).toBeUndefined();
  });

  test('default templates cannot be deleted; a user template can', async () => {
    const { rpc } = f;
    const tpl = await rpc.byName('VM', 'Debian Bookworm 12');
    await expectFault(rpc.call('VM.destroy', tpl), 'VM_CANNOT_DELETE_DEFAULT_TEMPLATE', [tpl]);
    const mine = await rpc.call('VM.clone', tpl, 'my-template');
    await rpc.call('VM.destroy', mine);
  });

  test('a snapshot can be destroyed and leaves its VM', async () => {
    const { rpc } = f;
    const vm = await rpc.byName('VM', 'build-01');
    const snap = await rpc.call('VM.snapshot', vm, 'short-lived');
    await rpc.call('VM.destroy', snap);
    expect(await rpc.call('VM.get_snapshots', vm)).not.toContain(snap);
  });
});

describe('host memory accounting', () => {
  test('starting and stopping a VM moves host_metrics.memory_free and compute_free_memory', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'mem-acct');
    const host = (await rpc.call('host.get_all'))[2];
    const metrics = await rpc.call('host.get_metrics', host);
    const free0 = await rpc.call('host.compute_free_memory', host);
    expect(await rpc.call('host_metrics.get_memory_free', metrics)).toBe(free0);
    await rpc.call('VM.start_on', vm, host, false, false);
    const rec = await rpc.call('VM.get_record', vm);
    const free1 = await rpc.call('host.compute_free_memory', host);
    expect(free0 - free1).toBe(rec.memory_dynamic_max + rec.memory_overhead);
    expect(await rpc.call('host_metrics.get_memory_free', metrics)).toBe(free1);
    await rpc.call('VM.clean_shutdown', vm);
    expect(await rpc.call('host.compute_free_memory', host)).toBe(free0);
  });

  test('HOST_NOT_ENOUGH_FREE_MEMORY on start_on, NO_HOSTS_AVAILABLE on start in a pool', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'huge');
    const big = 100 * GIB;
    await rpc.call('VM.set_memory_limits', vm, GIB, big, big, big);
    const host = (await rpc.call('host.get_all'))[0];
    const free = await rpc.call('host.compute_free_memory', host);
    const overhead = await rpc.call('VM.compute_memory_overhead', vm);
    await expectFault(
      rpc.call('VM.start_on', vm, host, false, false),
      'HOST_NOT_ENOUGH_FREE_MEMORY',
      [String(big + overhead), String(free)],
    );
    await expectFault(rpc.call('VM.start', vm, false, false), 'NO_HOSTS_AVAILABLE', []);
    await expectFault(rpc.call('VM.assert_can_boot_here', vm, host), 'HOST_NOT_ENOUGH_FREE_MEMORY');
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Halted');
    expect(await rpc.call('VM.get_current_operations', vm)).toEqual({});
  });

  test('a one-host pool answers HOST_NOT_ENOUGH_FREE_MEMORY to VM.start', async () => {
    const one = await openSim({ hosts: 1 });
    try {
      const { rpc } = one;
      const vm = await rpc.byName('VM', 'build-01');
      await rpc.call('VM.set_memory_limits', vm, GIB, 200 * GIB, 200 * GIB, 200 * GIB);
      const err = await expectFault(
        rpc.call('VM.start', vm, false, false),
        'HOST_NOT_ENOUGH_FREE_MEMORY',
      );
      expect(err.params[0]).toMatch(/^\d+$/);
      expect(err.params[1]).toMatch(/^\d+$/);
    } finally {
      await one.sim.close();
    }
  });

  test('start_on an offline host fails with HOST_OFFLINE, a disabled one with HOST_DISABLED', async () => {
    const own = await openSim();
    try {
      const { rpc, sim } = own;
      const vm = await rpc.byName('VM', 'build-01');
      const hosts = await rpc.call('host.get_all');
      const uuid = await rpc.call('host.get_uuid', hosts[2]);
      sim.setHostOnline(uuid, false);
      await expectFault(rpc.call('VM.start_on', vm, hosts[2], false, false), 'HOST_OFFLINE', [
        hosts[2],
      ]);
      await rpc.call('host.disable', hosts[1]);
      await expectFault(rpc.call('VM.start_on', vm, hosts[1], false, false), 'HOST_DISABLED', [
        hosts[1],
      ]);
      await rpc.call('VM.start', vm, false, false);
      expect(await rpc.call('VM.get_resident_on', vm)).toBe(hosts[0]);
      sim.setHostOnline(uuid, true);
      await rpc.call('host.enable', hosts[1]);
    } finally {
      await own.sim.close();
    }
  });

  test('pool_migrate moves the VM, its memory and its console to another host', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'migrant');
    const [h0, h1] = await rpc.call('host.get_all');
    await rpc.call('VM.start_on', vm, h0, false, false);
    const free0 = await rpc.call('host.compute_free_memory', h0);
    const free1 = await rpc.call('host.compute_free_memory', h1);
    await rpc.call('VM.pool_migrate', vm, h1, { live: 'true' });
    const rec = await rpc.call('VM.get_record', vm);
    expect(rec.resident_on).toBe(h1);
    const footprint = rec.memory_target + rec.memory_overhead;
    expect((await rpc.call('host.compute_free_memory', h0)) - free0).toBe(footprint);
    expect(free1 - (await rpc.call('host.compute_free_memory', h1))).toBe(footprint);
    const loc = await rpc.call('console.get_location', rec.consoles[0]);
    expect(loc).toContain(`https://${await rpc.call('host.get_address', h1)}/console?uuid=`);
    await rpc.call('VM.clean_shutdown', vm);
    await expectFault(rpc.call('VM.pool_migrate', vm, h0, {}), 'VM_BAD_POWER_STATE', [
      vm,
      'running',
      'halted',
    ]);
  });
});

describe('storage reachability', () => {
  test('a VM on local storage only starts or migrates where that SR is attached (VM_REQUIRES_SR)', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const [h0, h1] = await rpc.call('host.get_all');
    let local = '';
    for (const sr of await rpc.call('SR.get_by_name_label', 'Local storage')) {
      const pbds = await rpc.call('SR.get_PBDs', sr);
      if ((await rpc.call('PBD.get_host', pbds[0])) === h0) local = sr;
    }
    const vm = await rpc.call('VM.copy', base, 'local-only', local);
    await expectFault(rpc.call('VM.start_on', vm, h1, false, false), 'VM_REQUIRES_SR', [vm, local]);
    await expectFault(rpc.call('VM.assert_can_boot_here', vm, h1), 'VM_REQUIRES_SR', [vm, local]);
    expect(await rpc.call('VM.get_possible_hosts', vm)).toEqual([h0]);
    await rpc.call('VM.start', vm, false, false);
    expect(await rpc.call('VM.get_resident_on', vm)).toBe(h0);
    await expectFault(rpc.call('VM.pool_migrate', vm, h1, {}), 'VM_REQUIRES_SR', [vm, local]);
    await rpc.call('VM.hard_shutdown', vm);
    const shared = await rpc.call('VM.clone', base, 'anywhere');
    expect((await rpc.call('VM.get_possible_hosts', shared)).length).toBe(3);
  });
});

describe('memory and vCPU settings', () => {
  test('set_memory_limits checks the order; set_memory sets static_max and the dynamic range', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'mem-set');
    await expectFault(
      rpc.call('VM.set_memory_limits', vm, 2 * GIB, GIB, GIB, GIB),
      'MEMORY_CONSTRAINT_VIOLATION_ORDER',
      [],
    );
    await expectFault(
      rpc.call('VM.set_memory_limits', vm, GIB, 4 * GIB, 3 * GIB, 2 * GIB),
      'MEMORY_CONSTRAINT_VIOLATION_ORDER',
      [],
    );
    await rpc.call('VM.set_memory_limits', vm, GIB, 4 * GIB, 2 * GIB, 4 * GIB);
    await rpc.call('VM.set_memory', vm, 3 * GIB);
    const rec = await rpc.call('VM.get_record', vm);
    expect([
      rec.memory_static_min,
      rec.memory_dynamic_min,
      rec.memory_dynamic_max,
      rec.memory_static_max,
    ]).toEqual([GIB, 3 * GIB, 3 * GIB, 3 * GIB]);
    await expectFault(
      rpc.call('VM.set_memory', vm, GIB / 2),
      'MEMORY_CONSTRAINT_VIOLATION_ORDER',
      [],
    );
    await rpc.call('VM.set_memory_static_range', vm, GIB / 2, 6 * GIB);
    await rpc.call('VM.set_memory_dynamic_range', vm, GIB, 5 * GIB);
    await rpc.call('VM.set_memory_static_max', vm, 8 * GIB);
    await rpc.call('VM.set_memory_dynamic_max', vm, 6 * GIB);
    await rpc.call('VM.set_memory_dynamic_min', vm, 2 * GIB);
    await rpc.call('VM.set_memory_static_min', vm, GIB);
    await expectFault(
      rpc.call('VM.set_memory_dynamic_max', vm, 9 * GIB),
      'MEMORY_CONSTRAINT_VIOLATION_ORDER',
      [],
    );
    const r2 = await rpc.call('VM.get_record', vm);
    expect([
      r2.memory_static_min,
      r2.memory_dynamic_min,
      r2.memory_dynamic_max,
      r2.memory_static_max,
    ]).toEqual([GIB, 2 * GIB, 6 * GIB, 8 * GIB]);
  });

  test('static limits need a halted VM; the dynamic range moves a running VM and its host', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'mem-live');
    await rpc.call('VM.start', vm, false, false);
    await expectFault(
      rpc.call('VM.set_memory_limits', vm, GIB, GIB, GIB, GIB),
      'VM_BAD_POWER_STATE',
      [vm, 'halted', 'running'],
    );
    await expectFault(rpc.call('VM.set_memory_static_max', vm, 8 * GIB), 'VM_BAD_POWER_STATE', [
      vm,
      'halted',
      'running',
    ]);
    const host = await rpc.call('VM.get_resident_on', vm);
    const free0 = await rpc.call('host.compute_free_memory', host);
    const rec = await rpc.call('VM.get_record', vm);
    const lower = rec.memory_dynamic_max - GIB;
    await rpc.call('VM.set_memory_dynamic_range', vm, rec.memory_static_min, lower);
    expect(await rpc.call('VM.get_memory_target', vm)).toBe(lower);
    expect((await rpc.call('VM_metrics.get_record', rec.metrics)).memory_actual).toBe(lower);
    expect(await rpc.call('host.compute_free_memory', host)).toBeGreaterThan(free0);
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('VCPUs: max and at_startup keep 0 < at_startup <= max; live changes need a running VM', async () => {
    const { rpc } = f;
    const base = await rpc.byName('VM', 'build-01');
    const vm = await rpc.call('VM.clone', base, 'vcpus');
    await rpc.call('VM.set_VCPUs_max', vm, 8);
    await rpc.call('VM.set_VCPUs_at_startup', vm, 2);
    await expectFault(rpc.call('VM.set_VCPUs_at_startup', vm, 9), 'INVALID_VALUE', [
      'VCPUs_at_startup',
      '9',
    ]);
    await expectFault(rpc.call('VM.set_VCPUs_at_startup', vm, 0), 'INVALID_VALUE', [
      'VCPUs_at_startup',
      '0',
    ]);
    await expectFault(rpc.call('VM.set_VCPUs_max', vm, 1), 'INVALID_VALUE', ['VCPUs_max', '1']);
    await expectFault(rpc.call('VM.set_VCPUs_max', vm, 0), 'INVALID_VALUE', ['VCPUs_max', '0']);
    await expectFault(rpc.call('VM.set_VCPUs_number_live', vm, 4), 'VM_BAD_POWER_STATE', [
      vm,
      'running',
      'halted',
    ]);
    await rpc.call('VM.start', vm, false, false);
    await expectFault(rpc.call('VM.set_VCPUs_max', vm, 4), 'VM_BAD_POWER_STATE', [
      vm,
      'halted',
      'running',
    ]);
    await rpc.call('VM.set_VCPUs_number_live', vm, 4);
    expect(await rpc.call('VM.get_VCPUs_at_startup', vm)).toBe(4);
    const metrics = await rpc.call('VM.get_metrics', vm);
    expect(await rpc.call('VM_metrics.get_VCPUs_number', metrics)).toBe(4);
    await expectFault(rpc.call('VM.set_VCPUs_number_live', vm, 9), 'INVALID_VALUE', ['nvcpu', '9']);
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('allowed VBD and VIF devices leave out the ones in use', async () => {
    const { rpc } = f;
    const vm = await rpc.byName('VM', 'build-01');
    const vbds = await rpc.call('VM.get_allowed_VBD_devices', vm);
    expect(vbds).not.toContain('0');
    expect(vbds).not.toContain('3');
    expect(vbds).toContain('1');
    const vifs = await rpc.call('VM.get_allowed_VIF_devices', vm);
    expect(vifs).not.toContain('0');
    expect(vifs).toEqual(['1', '2', '3', '4', '5', '6']);
  });
});

describe('VM.create', () => {
  test('creates a halted VM with metrics; memory order is checked', async () => {
    const { rpc } = f;
    const rec = {
      name_label: 'raw',
      user_version: 1,
      is_a_template: false,
      affinity: NULL,
      memory_static_max: GIB,
      memory_dynamic_max: GIB,
      memory_dynamic_min: GIB,
      memory_static_min: GIB / 2,
      VCPUs_params: {},
      VCPUs_max: 2,
      VCPUs_at_startup: 1,
      actions_after_shutdown: 'destroy',
      actions_after_reboot: 'restart',
      actions_after_crash: 'restart',
      PV_bootloader: '',
      PV_kernel: '',
      PV_ramdisk: '',
      PV_args: '',
      PV_bootloader_args: '',
      PV_legacy_args: '',
      HVM_boot_policy: 'BIOS order',
      HVM_boot_params: { order: 'dc' },
      platform: {},
      PCI_bus: '',
      other_config: {},
      recommendations: '',
    };
    const vm = await rpc.call('VM.create', rec);
    const got = await rpc.call('VM.get_record', vm);
    expect(got.power_state).toBe('Halted');
    expect(got.metrics).not.toBe(NULL);
    expect(got.allowed_operations).toContain('start');
    await expectFault(
      rpc.call('VM.create', { ...rec, memory_dynamic_min: 2 * GIB }),
      'MEMORY_CONSTRAINT_VIOLATION_ORDER',
      [],
    );
  });
});
