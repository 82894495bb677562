// The seeded pools: the default topology (hosts, SRs, networks, VLANs, templates, VMs in each
// power state) read back over JSON-RPC, the empty seed, and bulk `vms: N` seeding (speed and
// shape of the added VMs).
import { Store } from '../../../src/simulator';
import { seedPool } from '../../../src/simulator/seed/pool';
import { openSim, type SimFixture } from '../../helpers/xapi-rpc';

const NULL = 'OpaqueRef:NULL';
let f: SimFixture;

beforeAll(async () => {
  f = await openSim();
});
afterAll(async () => {
  await f.sim.close();
});

test('storage: a local SR per host, a shared NFS default SR, an ISO library with ISOs', async () => {
  const { rpc } = f;
  const srs = Object.values(await rpc.call('SR.get_all_records')) as any[];
  const local = srs.filter((s) => s.name_label === 'Local storage');
  expect(local).toHaveLength(3);
  for (const s of local) {
    expect(s.shared).toBe(false);
    expect(s.PBDs).toHaveLength(1);
  }
  const nfs = srs.find((s) => s.type === 'nfs');
  expect(nfs.shared).toBe(true);
  expect(nfs.PBDs).toHaveLength(3);
  const iso = srs.find((s) => s.content_type === 'iso');
  const isos = await Promise.all(iso.VDIs.map((v: string) => rpc.call('VDI.get_name_label', v)));
  expect(isos).toEqual(
    expect.arrayContaining([
      'debian-12.5.0-amd64-netinst.iso',
      'ubuntu-22.04.4-live-server-amd64.iso',
    ]),
  );
  for (const s of srs) {
    let virtual = 0;
    for (const v of s.VDIs) virtual += await rpc.call('VDI.get_virtual_size', v);
    expect(s.virtual_allocation).toBe(virtual);
    expect(s.physical_utilisation).toBeLessThanOrEqual(s.physical_size);
  }
  for (const pbd of Object.values(await rpc.call('PBD.get_all_records')) as any[])
    expect(pbd.currently_attached).toBe(true);
});

test('networks: management network with a static IP PIF per host, two VLAN networks', async () => {
  const { rpc } = f;
  const nets = Object.values(await rpc.call('network.get_all_records')) as any[];
  const mgmt = nets.find((n) => n.bridge === 'xenbr0');
  expect(mgmt.PIFs).toHaveLength(3);
  for (const p of mgmt.PIFs) {
    const pif = await rpc.call('PIF.get_record', p);
    expect(pif).toMatchObject({
      management: true,
      physical: true,
      device: 'eth0',
      ip_configuration_mode: 'Static',
    });
    expect(pif.IP).toMatch(/^192\.168\.10\.\d+$/);
  }
  for (const tag of [100, 200]) {
    const net = nets.find((n) => n.name_label === `VLAN ${tag}`);
    expect(net.PIFs).toHaveLength(3);
    for (const p of net.PIFs) expect(await rpc.call('PIF.get_VLAN', p)).toBe(tag);
  }
  expect(Object.keys(await rpc.call('VLAN.get_all_records'))).toHaveLength(6);
});

test('templates: Debian 12 with other_config.disks and default_template, Other install media, Ubuntu', async () => {
  const { rpc } = f;
  const [debian] = await rpc.call('VM.get_by_name_label', 'Debian Bookworm 12');
  const rec = await rpc.call('VM.get_record', debian);
  expect(rec).toMatchObject({
    is_a_template: true,
    is_default_template: true,
    power_state: 'Halted',
  });
  expect(rec.other_config.default_template).toBe('true');
  expect(rec.other_config.disks).toMatch(
    /^<provision><disk device="0" size="\d+" sr="" bootable="true" type="system"\/><\/provision>$/,
  );
  expect(rec.memory_static_max).toBeGreaterThan(0);
  expect(rec.VCPUs_max).toBeGreaterThan(0);
  expect(await rpc.call('VM.get_by_name_label', 'Other install media')).toHaveLength(1);
  expect(await rpc.call('VM.get_by_name_label', 'Ubuntu Jammy Jellyfish 22.04')).toHaveLength(1);
});

test('guests in every power state, with disks, NICs, metrics and consistent runtime fields', async () => {
  const { rpc } = f;
  const vms = Object.entries(await rpc.call('VM.get_all_records')) as Array<[string, any]>;
  const guests = vms.filter(([, v]) => !v.is_a_template && !v.is_control_domain);
  const states = new Set(guests.map(([, v]) => v.power_state));
  expect([...states].sort()).toEqual(['Halted', 'Paused', 'Running', 'Suspended']);
  for (const [ref, vm] of guests) {
    expect(vm.VBDs.length).toBeGreaterThanOrEqual(1);
    expect(vm.VIFs).toHaveLength(1);
    expect(vm.metrics).not.toBe(NULL);
    const live = vm.power_state === 'Running' || vm.power_state === 'Paused';
    expect(vm.resident_on !== NULL).toBe(live);
    expect(vm.domid > 0).toBe(live);
    expect(vm.consoles.length > 0).toBe(live);
    expect(vm.suspend_VDI !== NULL).toBe(vm.power_state === 'Suspended');
    if (live) expect(await rpc.call('host.get_resident_VMs', vm.resident_on)).toContain(ref);
    expect(vm.allowed_operations.length).toBeGreaterThan(0);
  }
  const dom0s = vms.filter(([, v]) => v.is_control_domain);
  expect(dom0s).toHaveLength(3);
  for (const [, d] of dom0s) expect(d.domid).toBe(0);
  const running = guests.filter(([, v]) => v.power_state === 'Running');
  const domids = running.map(([, v]) => `${v.resident_on}/${v.domid}`);
  expect(new Set(domids).size).toBe(domids.length);
});

test('the empty seed has hosts, dom0s, storage and networks but no templates or guests', () => {
  const store = new Store();
  seedPool(store, { hosts: 2, seed: 'empty', xapiVersion: '24.19.2' });
  expect(store.count('host')).toBe(2);
  const vms = [...store.all('VM').values()];
  expect(vms).toHaveLength(2);
  expect(vms.every((v) => v.is_control_domain)).toBe(true);
  expect(store.count('SR')).toBeGreaterThan(0);
  expect(store.count('network')).toBeGreaterThan(0);
});

test('vms: 10000 seeds quickly, each VM with metrics, a disk and a NIC, memory within the hosts', () => {
  const store = new Store();
  const cpu0 = process.cpuUsage();
  seedPool(store, { hosts: 3, seed: 'default', vms: 10000, xapiVersion: '24.19.2' });
  const cpu = process.cpuUsage(cpu0);
  // CPU time, not wall time, so other jobs on a shared box do not count: ~1-2 s when idle.
  expect((cpu.user + cpu.system) / 1000).toBeLessThan(10000);
  const extra = [...store.all('VM').entries()].filter(([, v]) =>
    /^vm-\d{5}$/.test(v.name_label as string),
  );
  expect(extra).toHaveLength(10000);
  const [ref, vm] = extra[0];
  expect(store.get('VM_metrics', vm.metrics as string)).toBeDefined();
  const vbd = store.get('VBD', (vm.VBDs as string[])[0]);
  expect(vbd.VM).toBe(ref);
  expect(store.get('VDI', vbd.VDI as string).VBDs).toEqual([(vm.VBDs as string[])[0]]);
  expect(store.get('VIF', (vm.VIFs as string[])[0]).VM).toBe(ref);
  const [runRef, run] = extra.find(([, v]) => v.power_state === 'Running')!;
  expect(store.get('console', (run.consoles as string[])[0]).VM).toBe(runRef);
  const states = new Set(extra.map(([, v]) => v.power_state));
  expect(states.has('Running')).toBe(true);
  expect(states.has('Halted')).toBe(true);
  for (const [hostRef, host] of store.all('host')) {
    const metrics = store.get('host_metrics', host.metrics as string);
    expect(metrics.memory_free as number).toBeGreaterThan(0);
    for (const r of host.resident_VMs as string[])
      expect(store.get('VM', r).resident_on).toBe(hostRef);
  }
  const nfs = [...store.all('SR').values()].find((s) => s.type === 'nfs')!;
  expect((nfs.VDIs as string[]).length).toBeGreaterThan(10000);
}, 60_000);

test('a large seeded simulator still answers lifecycle calls', async () => {
  const big = await openSim({ hosts: 3, vms: 2000 });
  try {
    const { rpc } = big;
    expect((await rpc.call('VM.get_all')).length).toBeGreaterThan(2000);
    const [vm] = await rpc.call('VM.get_by_name_label', 'vm-00003');
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Halted');
    await rpc.call('VM.start', vm, false, false);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Running');
  } finally {
    await big.sim.close();
  }
});
