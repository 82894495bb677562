// Nova's own generic driver tests (Debian 12's python3-nova: nova/tests/unit/virt/
// test_virt_drivers.py) run against XcdDriver as install.py installs it, the service in-process
// and the simulator. Owns: starting the stack, running the Python suite, asserting the exact
// declined set, every other test passed and the pool left empty. Must not: skip when Nova is
// missing (CI installs it; see .ci/run), nor relax what it expects after probing the service.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import { createPoolVdi, INTEGRATIONS, PYTHON, run } from './orchestrator';

const RUNNER = join(INTEGRATIONS, 'nova', 'tests', 'run_virt_driver_tests.py');
/** The service's VLAN device and range (a Neutron VLAN segment's VIF joins its network). */
const VLANS = { device: 'eth1', min: 100, max: 399 };
/** Cinder's iSCSI target on the storage network: CHAP, and only the pool's initiators may log in. */
const ISCSI = {
  portal: '10.0.0.5:3260',
  iqn: 'iqn.2010-10.org.openstack:volumes',
  user: 'cinder',
  secret: 'chap-s3cret-pw',
};
const GiB = 1024 ** 3;
const CHECK_INSTALL = join(INTEGRATIONS, 'nova', 'tests', 'check_install.py');

// The tests of Nova's file the driver declines (each wrapped there in catch_notimplementederror),
// with the driver function that raised NotImplementedError. Every other test must pass: Nova's
// mandatory features and every call the service carries out (pause, suspend, snapshot, the VNC
// console, the console log, diagnostics, NIC and volume hot-plug, the host's resources). A call
// the service stopped answering (404/405/501 become NotImplementedError in errors.py) shows up
// here as a test declined from another function, and fails.
const DECLINED: Record<string, string> = {
  // volumes that are neither iSCSI nor pool VDIs (Nova's tests hand out `fake` connections):
  // UnsupportedVolumeType is Nova's VolumeDriverNotFound and a NotImplementedError
  test_attach_detach_volume: 'attachment',
  test_attach_detach_different_power_states: 'attachment',
  test_swap_volume: 'attachment',
  // what the service offers no data or call for (README: "What the driver declines")
  test_block_stats: 'block_stats',
  test_get_mks_console: 'get_mks_console',
  test_get_rdp_console: 'get_rdp_console',
  test_get_serial_console: 'get_serial_console',
  test_get_spice_console: 'get_spice_console',
  // Nova's node is the whole pool: rebooting or stopping it stops every host at once
  test_host_power_action_reboot: 'host_power_action',
  test_host_power_action_shutdown: 'host_power_action',
  test_live_migration_force_complete: 'live_migration_force_complete',
  test_set_admin_password: 'set_admin_password',
  test_trigger_crash_dump: 'trigger_crash_dump',
};

interface Summary {
  ran: number;
  passed: number;
  declined: Record<string, string>;
  skipped: Record<string, string>;
  failed: Record<string, string>;
  own: string[];
  /** The directory the xcd_nova package was imported from. */
  driver_from: string;
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ validateResponses: false, driver: { vlans: VLANS } });
  // The hosts carry Nova's dom0 `console` plugin, as XenServer hosts under Nova did.
  for (const [hostRef, hostRec] of stack.sim.store.all('host')) {
    stack.sim.store.update('host', hostRef, {
      other_config: { ...(hostRec.other_config as object), sim_plugins: 'console' },
    });
  }
  const hosts = (await stack.request('GET', '/v1/host', { token: stack.tokens.admin })).body
    .hosts as Array<{ iscsi_iqn: string }>;
  stack.sim.iscsi.add({
    portal: ISCSI.portal,
    iqn: ISCSI.iqn,
    luns: [
      { lun: 0, sizeBytes: 2 * GiB },
      { lun: 1, sizeBytes: 3 * GiB },
    ],
    chap: { user: ISCSI.user, password: ISCSI.secret },
    initiators: hosts.map((h) => h.iscsi_iqn),
  });
});

afterAll(async () => {
  await stack?.close();
});

/** A host other than the master for the maintenance test to evacuate, its seeded guests shut
 * down first through XAPI (as an operator would), so that Nova's instances are all it runs. */
async function evacuableHost(): Promise<string> {
  const store = stack.sim.store;
  const pool = [...store.all('pool').values()][0]!;
  const [hostRef, host] = [...store.all('host')].find(([ref]) => ref !== pool.master)!;
  for (const [vmRef, vm] of store.all('VM')) {
    if (vm.resident_on === hostRef && !vm.is_control_domain)
      await stack.xapi.call('VM.hard_shutdown', vmRef);
  }
  return String(host.uuid);
}

function instanceVms(): string[] {
  const names: string[] = [];
  for (const rec of stack.sim.store.all('VM').values()) {
    const label = String(rec.name_label);
    if (
      !rec.is_a_template &&
      !rec.is_control_domain &&
      !rec.is_a_snapshot &&
      /^instance-/.test(label)
    ) {
      names.push(label);
    }
  }
  return names;
}

test("Nova's generic driver tests pass against the installed driver, declining only what Nova allows", async () => {
  const templates = (await stack.request('GET', '/v1/templates')).body.items;
  const networks = (await stack.request('GET', '/v1/networks')).body.items;
  const res = await run(PYTHON, [RUNNER], {
    env: {
      XCD_URL: stack.url,
      XCD_TOKEN: stack.tokens.admin, // the role nova.conf's token needs (README: /v1/host, console)
      XCD_TEMPLATE: templates[0].uuid,
      XCD_NETWORK: networks[0].uuid,
      XCD_VOLUME_VDI: await createPoolVdi(stack, 'nova-volume'),
      XCD_VLAN: '150',
      XCD_EVACUABLE_HOST: await evacuableHost(),
      XCD_ISCSI_PORTAL: ISCSI.portal,
      XCD_ISCSI_IQN: ISCSI.iqn,
      XCD_ISCSI_USER: ISCSI.user,
      XCD_ISCSI_SECRET: ISCSI.secret,
      HOME: process.env.HOME ?? '/tmp',
    },
    timeoutMs: 290_000,
  });
  const last = res.stdout.trim().split('\n').pop() ?? '';
  let summary: Summary;
  try {
    summary = JSON.parse(last) as Summary;
  } catch {
    throw new Error(`no summary from the Nova run (exit ${res.code}):\n${res.stderr.slice(-4000)}`);
  }
  const failures = Object.entries(summary.failed).map(
    ([name, tb]) => `${name}:\n${tb.slice(-1500)}`,
  );
  expect(failures).toEqual([]);
  expect(summary.driver_from).toMatch(/[/]site[/]xcd_nova$/); // the installed copy ran ...
  expect(summary.driver_from.startsWith(INTEGRATIONS)).toBe(false); // ... not this tree's
  expect(summary.ran).toBeGreaterThanOrEqual(60);
  expect(summary.own).toEqual([
    'test_spawn_maps_flavor_vifs_and_disks',
    'test_update_provider_tree_inventory',
    'test_attach_detach_interface',
    'test_attach_detach_pool_volume',
    'test_glance_image_spawn_snapshot_roundtrip',
    'test_glance_vhd_image_and_raw_snapshot',
    'test_snapshot_upload_failure_leaves_no_snapshot',
    'test_glance_image_the_pool_cannot_take',
    'test_glance_bytes_that_are_not_the_format',
    'test_glance_download_cut_off',
    'test_concurrent_builds_share_one_import',
    'test_glance_size_mismatch',
    'test_neutron_ports_and_vlan',
    'test_iscsi_volume_connector_attach_detach',
    'test_iscsi_refusals_leave_nothing',
    'test_boot_from_iscsi_volume',
    'test_boot_from_pool_vdi',
    'test_boot_from_volume_refusals_leave_nothing',
    'test_image_boot_settings',
    'test_rescue_and_unrescue',
    'test_host_enabled_and_maintenance',
    'test_host_cpu_time_and_power_actions',
    'test_poll_rebooting_and_abort',
    'test_vnc_console_tunnel',
    'test_resize_revert_and_confirm',
    'test_resize_refuses_a_smaller_root_disk',
    'test_disk_info_and_device_names',
  ]);
  expect(summary.declined).toEqual(DECLINED);
  expect(summary.skipped).toEqual({ test_live_migration: expect.any(String) });
  expect(summary.passed).toBe(summary.ran - Object.keys(DECLINED).length - 1);
  expect(instanceVms()).toEqual([]); // every test's instances were destroyed through the driver
  // Every iSCSI attach, refused or detached, left no SR or PBD of the target in the pool.
  const iscsiSrs = [...stack.sim.store.all('SR').entries()].filter(([, sr]) => sr.type === 'iscsi');
  expect(iscsiSrs).toEqual([]);
  expect(
    [...stack.sim.store.all('PBD').values()].filter(
      (pbd) => (pbd.device_config as Record<string, string>).targetIQN,
    ),
  ).toEqual([]);
  // Glance and resize snapshots were deleted, and no image import left a VDI behind.
  const snapshots = [...stack.sim.store.all('VM').values()].filter((vm) => vm.is_a_snapshot);
  expect(snapshots.map((vm) => vm.name_label)).toEqual([]);
  const importedVdis = [...stack.sim.store.all('VDI').values()].filter(
    (vdi) => (vdi.other_config as Record<string, string>).xcd_role === 'image',
  );
  expect(importedVdis.map((vdi) => vdi.name_label)).toEqual([]);

  console.log(
    `Nova virt driver tests: ${summary.ran} ran, ${summary.passed} passed, ` +
      `${Object.keys(summary.declined).length} declined, 1 skipped`,
  );
}, 300_000);

test("install.py places the shim so Nova's own loader finds compute_driver = xcd.XcdDriver from nova.conf", async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'xcd-nova-install-'));
  try {
    const res = await run(PYTHON, [CHECK_INSTALL, scratch], {
      env: { XCD_URL: stack.url, XCD_TOKEN: stack.tokens.admin, HOME: process.env.HOME ?? '/tmp' },
      timeoutMs: 60_000,
    });
    expect(res.stderr.slice(-2000)).not.toMatch(/Traceback/);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!);
    expect(out.class).toBe('xcd_nova.driver.XcdDriver');
    expect(out.from).toBe(join(scratch, 'site', 'xcd_nova')); // the installed copy, not the repo's
    expect(out.shim).toEqual(['__init__.py']);
    expect(out.client).toBe(join(scratch, 'site', 'xcd_nova', 'xcd_rest.py')); // the shared client, copied in
    const host = (await stack.request('GET', '/v1/host', { token: stack.tokens.admin })).body;
    expect(out.nodes).toEqual([host.hostname]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}, 60_000);
