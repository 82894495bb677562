// Storage semantics over JSON-RPC against a running simulator: VDI create/destroy/copy/clone/
// snapshot/resize with SR accounting and SR_FULL, VBD device rules (create, plug, unplug,
// destroy, CD insert/eject) with every error path, SR and PBD messages.
import { expectFault, openSim, type SimFixture } from '../../helpers/xapi-rpc';

const NULL = 'OpaqueRef:NULL';
const GIB = 1024 ** 3;
let f: SimFixture;
let localSr: string;
let nfsSr: string;

beforeAll(async () => {
  f = await openSim();
  localSr = (await f.rpc.call('SR.get_by_name_label', 'Local storage'))[0];
  nfsSr = (await f.rpc.call('SR.get_by_name_label', 'NFS storage'))[0];
});
afterAll(async () => {
  await f.sim.close();
});

function vdiRecord(sr: string, size: number, name = 'data'): Record<string, unknown> {
  return {
    SR: sr,
    virtual_size: size,
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: {},
    name_label: name,
  };
}

function vbdRecord(
  vm: string,
  vdi: string,
  userdevice: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    VM: vm,
    VDI: vdi,
    userdevice,
    bootable: false,
    mode: 'RW',
    type: 'Disk',
    empty: false,
    other_config: {},
    qos_algorithm_type: '',
    qos_algorithm_params: {},
    ...extra,
  };
}

async function runningVm(name: string): Promise<string> {
  const base = await f.rpc.byName('VM', 'build-01');
  const vm = await f.rpc.call('VM.clone', base, name);
  await f.rpc.call('VM.start', vm, false, false);
  return vm;
}

describe('VDI and SR accounting', () => {
  test('create charges the SR, destroy gives it back', async () => {
    const { rpc } = f;
    const before = await rpc.call('SR.get_record', localSr);
    const vdi = await rpc.call('VDI.create', vdiRecord(localSr, 5 * GIB, 'scratch'));
    const rec = await rpc.call('VDI.get_record', vdi);
    expect(rec).toMatchObject({
      SR: localSr,
      virtual_size: 5 * GIB,
      type: 'user',
      managed: true,
      name_label: 'scratch',
    });
    expect(rec.location).toBe(rec.uuid);
    const mid = await rpc.call('SR.get_record', localSr);
    expect(mid.virtual_allocation - before.virtual_allocation).toBe(5 * GIB);
    expect(mid.physical_utilisation - before.physical_utilisation).toBe(5 * GIB);
    expect(mid.VDIs).toContain(vdi);
    await rpc.call('VDI.destroy', vdi);
    const after = await rpc.call('SR.get_record', localSr);
    expect(after.virtual_allocation).toBe(before.virtual_allocation);
    expect(after.physical_utilisation).toBe(before.physical_utilisation);
    expect(after.VDIs).not.toContain(vdi);
  });

  test('SR_FULL [requested, maximum] when the SR has no room', async () => {
    const { rpc } = f;
    const sr = await rpc.call('SR.get_record', localSr);
    const free = sr.physical_size - sr.physical_utilisation;
    const size = free + GIB;
    await expectFault(rpc.call('VDI.create', vdiRecord(localSr, size)), 'SR_FULL', [
      String(size),
      String(free),
    ]);
    const async = await rpc.start('VDI.create', vdiRecord(localSr, size));
    await expectFault(rpc.wait(async), 'SR_FULL', [String(size), String(free)]);
  });

  test('copy, clone and snapshot; snapshots point at their source', async () => {
    const { rpc } = f;
    const src = await rpc.call('VDI.create', vdiRecord(nfsSr, 2 * GIB, 'source'));
    const copy = await rpc.call('VDI.copy', src, localSr);
    const copyRec = await rpc.call('VDI.get_record', copy);
    expect(copyRec.SR).toBe(localSr);
    expect(copyRec.virtual_size).toBe(2 * GIB);
    const clone = await rpc.call('VDI.clone', src, {});
    expect((await rpc.call('VDI.get_record', clone)).SR).toBe(nfsSr);
    const snap = await rpc.call('VDI.snapshot', src, {});
    const snapRec = await rpc.call('VDI.get_record', snap);
    expect(snapRec.is_a_snapshot).toBe(true);
    expect(snapRec.snapshot_of).toBe(src);
    expect(await rpc.call('VDI.get_snapshots', src)).toEqual([snap]);
    const small = await rpc.call('VDI.create', vdiRecord(nfsSr, GIB, 'small'));
    await expectFault(rpc.call('VDI.copy', src, NULL, NULL, small), 'VDI_TOO_SMALL', [
      small,
      String(2 * GIB),
    ]);
    const ro = await rpc.call('VDI.create', {
      ...vdiRecord(nfsSr, 3 * GIB, 'ro'),
      read_only: true,
    });
    await expectFault(rpc.call('VDI.copy', src, NULL, NULL, ro), 'VDI_READONLY', [ro]);
    const big = await rpc.call('VDI.create', vdiRecord(nfsSr, 3 * GIB, 'big'));
    expect(await rpc.call('VDI.copy', src, NULL, NULL, big)).toBe(big);
    await rpc.call('VDI.destroy', src);
    expect(await rpc.call('VDI.get_snapshot_of', snap)).toBe(NULL);
  });

  test('resize grows with accounting, refuses shrinking, checks space; resize_online works attached', async () => {
    const { rpc } = f;
    const vdi = await rpc.call('VDI.create', vdiRecord(localSr, GIB));
    const before = await rpc.call('SR.get_record', localSr);
    await rpc.call('VDI.resize', vdi, 3 * GIB);
    expect(await rpc.call('VDI.get_virtual_size', vdi)).toBe(3 * GIB);
    const after = await rpc.call('SR.get_record', localSr);
    expect(after.virtual_allocation - before.virtual_allocation).toBe(2 * GIB);
    expect(after.physical_utilisation - before.physical_utilisation).toBe(2 * GIB);
    await expectFault(rpc.call('VDI.resize', vdi, GIB), 'SR_BACKEND_FAILURE_79');
    const free = after.physical_size - after.physical_utilisation;
    await expectFault(rpc.call('VDI.resize', vdi, 3 * GIB + free + GIB), 'SR_FULL', [
      String(free + GIB),
      String(free),
    ]);
    const vm = await runningVm('resize-vm');
    const vbd = await rpc.call('VBD.create', vbdRecord(vm, vdi, '1'));
    await rpc.call('VBD.plug', vbd);
    await expectFault(rpc.call('VDI.resize', vdi, 4 * GIB), 'VDI_IN_USE', [vdi, 'resize']);
    await rpc.call('VDI.resize_online', vdi, 4 * GIB);
    expect(await rpc.call('VDI.get_virtual_size', vdi)).toBe(4 * GIB);
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('destroy of an attached VDI fails with VDI_IN_USE; detached VBDs go with the VDI', async () => {
    const { rpc } = f;
    const web = await rpc.byName('VM', 'web-01');
    const vbds = await rpc.call('VM.get_VBDs', web);
    let disk = '';
    for (const vbd of vbds)
      if ((await rpc.call('VBD.get_type', vbd)) === 'Disk')
        disk = await rpc.call('VBD.get_VDI', vbd);
    await expectFault(rpc.call('VDI.destroy', disk), 'VDI_IN_USE', [disk, 'destroy']);
    const build = await rpc.byName('VM', 'build-01');
    const vdi = await rpc.call('VDI.create', vdiRecord(nfsSr, GIB));
    const vbd = await rpc.call('VBD.create', vbdRecord(build, vdi, '5'));
    await rpc.call('VDI.destroy', vdi);
    await expectFault(rpc.call('VBD.get_uuid', vbd), 'HANDLE_INVALID');
    expect(await rpc.call('VM.get_VBDs', build)).not.toContain(vbd);
  });
});

describe('VBD device rules', () => {
  test('create links both ways; userdevice must be unique; autodetect takes the first free slot', async () => {
    const { rpc } = f;
    const vm = await rpc.call('VM.clone', await rpc.byName('VM', 'build-01'), 'vbd-create');
    const vdi = await rpc.call('VDI.create', vdiRecord(nfsSr, GIB));
    await expectFault(rpc.call('VBD.create', vbdRecord(vm, vdi, '0')), 'DEVICE_ALREADY_EXISTS', [
      '0',
    ]);
    const vbd = await rpc.call('VBD.create', vbdRecord(vm, vdi, 'autodetect'));
    const rec = await rpc.call('VBD.get_record', vbd);
    expect(rec.userdevice).toBe('1');
    expect(rec.currently_attached).toBe(false);
    expect(await rpc.call('VM.get_VBDs', vm)).toContain(vbd);
    expect(await rpc.call('VDI.get_VBDs', vdi)).toContain(vbd);
    await expectFault(rpc.call('VBD.create', vbdRecord(vm, vdi, 'bogus!')), 'INVALID_DEVICE', [
      'bogus!',
    ]);
    await expectFault(rpc.call('VBD.create', vbdRecord(vm, NULL, '6')), 'VDI_MISSING', [
      NULL,
      NULL,
    ]);
    await expectFault(
      rpc.call('VBD.create', vbdRecord('OpaqueRef:nope', vdi, '2')),
      'HANDLE_INVALID',
      ['VM', 'OpaqueRef:nope'],
    );
  });

  test('plug and unplug need a running VM: VM_BAD_POWER_STATE [vm, running, actual]', async () => {
    const { rpc } = f;
    const vm = await rpc.call('VM.clone', await rpc.byName('VM', 'build-01'), 'vbd-halted');
    const vbd = (await rpc.call('VM.get_VBDs', vm))[0];
    await expectFault(rpc.call('VBD.plug', vbd), 'VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
    await expectFault(rpc.call('VBD.unplug', vbd), 'VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
    const cache = await rpc.byName('VM', 'cache-01');
    const cvbd = (await rpc.call('VM.get_VBDs', cache))[0];
    await expectFault(rpc.call('VBD.plug', cvbd), 'VM_BAD_POWER_STATE', [
      cache,
      'running',
      'suspended',
    ]);
  });

  test('hot plug and unplug on a running VM, with ALREADY_ATTACHED / DETACHED / NOT_UNPLUGGABLE', async () => {
    const { rpc } = f;
    const vm = await runningVm('vbd-hot');
    const vdi = await rpc.call('VDI.create', vdiRecord(nfsSr, GIB));
    const vbd = await rpc.call('VBD.create', vbdRecord(vm, vdi, '2'));
    await rpc.call('VBD.plug', vbd);
    const rec = await rpc.call('VBD.get_record', vbd);
    expect(rec.currently_attached).toBe(true);
    expect(rec.device).toBe('xvdc');
    await expectFault(rpc.call('VBD.plug', vbd), 'DEVICE_ALREADY_ATTACHED', [vbd]);
    await expectFault(rpc.call('VBD.destroy', vbd), 'OPERATION_NOT_ALLOWED', [
      `VBD '${rec.uuid}' still attached to '${await rpc.call('VM.get_uuid', vm)}'`,
    ]);
    await rpc.call('VBD.unplug', vbd);
    await expectFault(rpc.call('VBD.unplug', vbd), 'DEVICE_ALREADY_DETACHED', [vbd]);
    await expectFault(rpc.call('VBD.unplug_force', vbd), 'DEVICE_ALREADY_DETACHED', [vbd]);
    await rpc.call('VBD.plug', vbd);
    await rpc.call('VBD.set_unpluggable', vbd, false);
    await expectFault(rpc.call('VBD.unplug', vbd), 'VBD_NOT_UNPLUGGABLE', [vbd]);
    await rpc.call('VBD.set_unpluggable', vbd, true);
    await rpc.call('VBD.unplug_force', vbd);
    await rpc.call('VBD.destroy', vbd);
    expect(await rpc.call('VM.get_VBDs', vm)).not.toContain(vbd);
    expect(await rpc.call('VDI.get_VBDs', vdi)).toEqual([]);
    await rpc.call('VM.hard_shutdown', vm);
  });

  test('a VM going down refuses device changes with OPERATION_NOT_ALLOWED', async () => {
    const slow = await openSim({ hosts: 1, timeScale: 20 });
    try {
      const { rpc } = slow;
      const vm = await rpc.byName('VM', 'web-01');
      const vbd = (await rpc.call('VM.get_VBDs', vm))[0];
      const task = await rpc.start('VM.clean_shutdown', vm);
      await expectFault(rpc.call('VBD.unplug', vbd), 'OPERATION_NOT_ALLOWED', [
        `Current operation on VM:${vm} is clean_shutdown`,
      ]);
      await rpc.wait(task);
    } finally {
      await slow.sim.close();
    }
  });

  test('CD drives: insert and eject with their errors', async () => {
    const { rpc } = f;
    const vm = await rpc.call('VM.clone', await rpc.byName('VM', 'build-01'), 'cd-vm');
    let cd = '';
    let disk = '';
    for (const vbd of await rpc.call('VM.get_VBDs', vm)) {
      if ((await rpc.call('VBD.get_type', vbd)) === 'CD') cd = vbd;
      else disk = vbd;
    }
    const iso = (
      await rpc.call('VDI.get_by_name_label', 'ubuntu-22.04.4-live-server-amd64.iso')
    )[0];
    await expectFault(rpc.call('VBD.insert', cd, iso), 'VBD_NOT_EMPTY', [cd]);
    await rpc.call('VBD.eject', cd);
    expect(await rpc.call('VBD.get_record', cd)).toMatchObject({ empty: true, VDI: NULL });
    await expectFault(rpc.call('VBD.eject', cd), 'VBD_IS_EMPTY', [cd]);
    await rpc.call('VBD.insert', cd, iso);
    expect(await rpc.call('VBD.get_record', cd)).toMatchObject({ empty: false, VDI: iso });
    expect(await rpc.call('VDI.get_VBDs', iso)).toContain(cd);
    await expectFault(rpc.call('VBD.insert', disk, iso), 'VBD_NOT_REMOVABLE_MEDIA', [disk]);
    await expectFault(rpc.call('VBD.eject', disk), 'VBD_NOT_REMOVABLE_MEDIA', [disk]);
    const empty = await rpc.call(
      'VBD.create',
      vbdRecord(vm, NULL, '4', { type: 'CD', mode: 'RO', empty: true }),
    );
    expect(await rpc.call('VBD.get_empty', empty)).toBe(true);
  });
});

describe('SR and PBD', () => {
  test('SR.create makes PBDs on every host when shared; forget needs unplugged PBDs', async () => {
    const { rpc } = f;
    const hosts = await rpc.call('host.get_all');
    const sr = await rpc.call(
      'SR.create',
      hosts[0],
      { server: '10.0.0.9', serverpath: '/x' },
      0,
      'extra NFS',
      '',
      'nfs',
      'user',
      true,
      {},
    );
    const rec = await rpc.call('SR.get_record', sr);
    expect(rec.PBDs).toHaveLength(hosts.length);
    expect(rec.physical_size).toBeGreaterThan(0);
    await expectFault(rpc.call('SR.forget', sr), 'SR_HAS_PBD', [sr]);
    await expectFault(rpc.call('PBD.destroy', rec.PBDs[0]), 'OPERATION_NOT_ALLOWED', [
      'PBD is currently attached',
    ]);
    for (const pbd of rec.PBDs) await rpc.call('PBD.unplug', pbd);
    expect(await rpc.call('PBD.get_currently_attached', rec.PBDs[0])).toBe(false);
    await rpc.call('SR.scan', sr);
    await rpc.call('SR.forget', sr);
    await expectFault(rpc.call('SR.get_uuid', sr), 'HANDLE_INVALID', ['SR', sr]);
    await expectFault(rpc.call('PBD.get_uuid', rec.PBDs[0]), 'HANDLE_INVALID');
  });

  test('PBD.unplug refuses while a running VM on that host uses the SR', async () => {
    const { rpc } = f;
    const web = await rpc.byName('VM', 'web-01');
    const host = await rpc.call('VM.get_resident_on', web);
    const pbds = await rpc.call('SR.get_PBDs', nfsSr);
    let pbd = '';
    for (const p of pbds) if ((await rpc.call('PBD.get_host', p)) === host) pbd = p;
    await expectFault(rpc.call('PBD.unplug', pbd), 'VDI_IN_USE');
  });
});
