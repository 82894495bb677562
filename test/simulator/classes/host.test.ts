// Hosts and the pool over JSON-RPC against a running simulator: host records (software_version,
// cpu_info, host_cpu, metrics), free memory accounting, servertime, enable/disable, liveness
// (HOST_OFFLINE), and the pool record.
import { inflateSync } from 'node:zlib';
import { expectFault, openSim, type SimFixture } from '../../helpers/xapi-rpc';

const GIB = 1024 ** 3;
let f: SimFixture;

beforeAll(async () => {
  f = await openSim();
});
afterAll(async () => {
  await f.sim.close();
});

test('host records look like XCP-ng hosts with CPUs, metrics and a control domain', async () => {
  const { rpc } = f;
  const hosts = await rpc.call('host.get_all_records');
  const refs = Object.keys(hosts);
  expect(refs).toHaveLength(3);
  const names = refs.map((r) => hosts[r].name_label).sort();
  expect(names).toEqual(['xcp-host-1', 'xcp-host-2', 'xcp-host-3']);
  for (const ref of refs) {
    const h = hosts[ref];
    expect(h.enabled).toBe(true);
    expect(h.software_version).toMatchObject({
      product_brand: 'XCP-ng',
      product_version: '8.3.0',
      platform_version: '3.4.0',
    });
    expect(h.cpu_info.cpu_count).toBe('16');
    expect(h.cpu_info.vendor).toBe('GenuineIntel');
    expect(h.host_CPUs).toHaveLength(16);
    const cpu = await rpc.call('host_cpu.get_record', h.host_CPUs[0]);
    expect(cpu.host).toBe(ref);
    expect(cpu.modelname).toContain('Xeon');
    const metrics = await rpc.call('host_metrics.get_record', h.metrics);
    expect(metrics.memory_total).toBe(64 * GIB);
    expect(metrics.live).toBe(true);
    const dom0 = await rpc.call('VM.get_record', h.control_domain);
    expect(dom0.is_control_domain).toBe(true);
    expect(dom0.resident_on).toBe(ref);
    expect(dom0.power_state).toBe('Running');
    expect(h.resident_VMs).toContain(h.control_domain);
    expect(h.PIFs.length).toBeGreaterThanOrEqual(2);
    expect(h.PBDs.length).toBeGreaterThanOrEqual(3);
    expect(h.address).toBe(`127.0.0.${refs.indexOf(ref) + 1}`);
  }
});

test('free memory is total minus host overhead minus resident domains', async () => {
  const { rpc } = f;
  for (const host of await rpc.call('host.get_all')) {
    const h = await rpc.call('host.get_record', host);
    const metrics = await rpc.call('host_metrics.get_record', h.metrics);
    let used = h.memory_overhead;
    for (const vm of h.resident_VMs) {
      const rec = await rpc.call('VM.get_record', vm);
      used += rec.memory_target + rec.memory_overhead;
    }
    const free = await rpc.call('host.compute_free_memory', host);
    expect(free).toBe(metrics.memory_total - used);
    expect(metrics.memory_free).toBe(free);
  }
});

test('get_servertime and get_server_localtime answer xapi datetimes close to now', async () => {
  const { rpc } = f;
  const host = (await rpc.call('host.get_all'))[0];
  const t = await rpc.call('host.get_servertime', host);
  expect(t).toMatch(/^\d{8}T\d{2}:\d{2}:\d{2}Z$/);
  const iso = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9)}`;
  expect(Math.abs(Date.parse(iso) - Date.now())).toBeLessThan(5000);
  expect(await rpc.call('host.get_server_localtime', host)).toMatch(/^\d{8}T/);
  await expectFault(rpc.call('host.get_servertime', 'OpaqueRef:nope'), 'HANDLE_INVALID', [
    'host',
    'OpaqueRef:nope',
  ]);
});

test('a disabled host is skipped by VM.start and refused by start_on', async () => {
  const own = await openSim({ hosts: 2 });
  try {
    const { rpc } = own;
    const [h0, h1] = await rpc.call('host.get_all');
    await rpc.call('host.disable', h0);
    expect(await rpc.call('host.get_enabled', h0)).toBe(false);
    const vm = await rpc.byName('VM', 'build-01');
    await expectFault(rpc.call('VM.start_on', vm, h0, false, false), 'HOST_DISABLED', [h0]);
    await rpc.call('VM.start', vm, false, false);
    expect(await rpc.call('VM.get_resident_on', vm)).toBe(h1);
    await rpc.call('host.enable', h0);
    expect(await rpc.call('host.get_enabled', h0)).toBe(true);
  } finally {
    await own.sim.close();
  }
});

test('an offline host has live=false metrics, refuses enable, and is skipped by VM.start', async () => {
  const own = await openSim({ hosts: 2 });
  try {
    const { rpc, sim } = own;
    const [h0, h1] = await rpc.call('host.get_all');
    const uuid = await rpc.call('host.get_uuid', h1);
    sim.setHostOnline(uuid, false);
    const metrics = await rpc.call('host.get_metrics', h1);
    expect(await rpc.call('host_metrics.get_live', metrics)).toBe(false);
    await expectFault(rpc.call('host.enable', h1), 'HOST_OFFLINE', [h1]);
    await expectFault(rpc.call('host.disable', h1), 'HOST_OFFLINE', [h1]);
    const vm = await rpc.byName('VM', 'build-01');
    await rpc.call('VM.start', vm, false, false);
    expect(await rpc.call('VM.get_resident_on', vm)).toBe(h0);
    await rpc.call('VM.hard_shutdown', vm);
    await rpc.call('host.disable', h0);
    await expectFault(rpc.call('VM.start', vm, false, false), 'NO_HOSTS_AVAILABLE', []);
    sim.setHostOnline(uuid, true);
    expect(await rpc.call('host_metrics.get_live', metrics)).toBe(true);
    await rpc.call('VM.start', vm, false, false);
    expect(await rpc.call('VM.get_resident_on', vm)).toBe(h1);
    // operations on a VM whose host died answer HOST_OFFLINE; power_state_reset recovers it
    sim.setHostOnline(uuid, false);
    await expectFault(rpc.call('VM.clean_shutdown', vm), 'HOST_OFFLINE', [h1]);
    await expectFault(rpc.call('VM.hard_shutdown', vm), 'HOST_OFFLINE', [h1]);
    await rpc.call('VM.power_state_reset', vm);
    expect(await rpc.call('VM.get_power_state', vm)).toBe('Halted');
    expect(await rpc.call('host.get_resident_VMs', h1)).not.toContain(vm);
  } finally {
    await own.sim.close();
  }
});

test('the pool record: master, default and suspend SRs on shared storage', async () => {
  const { rpc } = f;
  const pools = await rpc.call('pool.get_all_records');
  const [ref] = Object.keys(pools);
  expect(Object.keys(pools)).toHaveLength(1);
  const pool = pools[ref];
  expect(await rpc.call('host.get_name_label', pool.master)).toBe('xcp-host-1');
  const sr = await rpc.call('SR.get_record', pool.default_SR);
  expect(sr).toMatchObject({ type: 'nfs', shared: true, content_type: 'user' });
  expect(pool.suspend_image_SR).toBe(pool.default_SR);
});

test('host.dmesg, compute_memory_overhead and get_management_interface answer', async () => {
  const { rpc } = f;
  const host = (await rpc.call('host.get_all'))[0];
  const pif = await rpc.call('host.get_management_interface', host);
  expect(await rpc.call('PIF.get_management', pif)).toBe(true);
  expect(await rpc.call('SR.get_supported_types')).toContain('nfs');
  expect(await rpc.call('host.dmesg', host)).toContain('Linux');
  expect(await rpc.call('host.compute_memory_overhead', host)).toBeGreaterThan(0);
});

test('host.call_plugin console/get_console_log answers base64 zlib text of a running domain', async () => {
  const { rpc } = f;
  const web = await rpc.byName('VM', 'web-01');
  const rec = await rpc.call('VM.get_record', web);
  const args = { dom_id: String(rec.domid) };
  await expectFault(
    rpc.call('host.call_plugin', rec.resident_on, 'console', 'get_console_log', args),
    'XENAPI_MISSING_PLUGIN',
    ['console'],
  );
  await rpc.call('host.add_to_other_config', rec.resident_on, 'sim_plugins', 'console');
  const raw = await rpc.call('host.call_plugin', rec.resident_on, 'console', 'get_console_log', {
    dom_id: String(rec.domid),
  });
  const text = inflateSync(Buffer.from(raw, 'base64')).toString('utf8');
  expect(text).toContain('Linux version');
  expect(text).toContain('web-01 login:');
  await expectFault(
    rpc.call('host.call_plugin', rec.resident_on, 'console', 'get_console_log', { dom_id: '4242' }),
    'XENAPI_PLUGIN_FAILURE',
  );
  await expectFault(
    rpc.call('host.call_plugin', rec.resident_on, 'nope', 'x', {}),
    'XENAPI_MISSING_PLUGIN',
    ['nope'],
  );
  await expectFault(
    rpc.call('host.call_plugin', rec.resident_on, 'console', 'other', {}),
    'XENAPI_PLUGIN_FAILURE',
  );
});
