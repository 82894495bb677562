// Nova's own generic driver tests (Debian 12's python3-nova: nova/tests/unit/virt/
// test_virt_drivers.py) run against XcdDriver, the service in-process and the simulator.
// Owns: starting the stack, running the Python suite, asserting pass / decline counts and the
// pool left empty. Must not: skip when Nova is missing (CI installs it; see .ci/run).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import { createPoolVdi, INTEGRATIONS, PYTHON, run, serviceCapabilities, type Capability } from './orchestrator';

const RUNNER = join(INTEGRATIONS, 'nova', 'tests', 'run_virt_driver_tests.py');
const CHECK_INSTALL = join(INTEGRATIONS, 'nova', 'tests', 'check_install.py');

// What the driver must pass (never decline): Nova's mandatory features and every call issue 6 names
// that the service's core offers.
const MUST_PASS = [
  'test_init_host', 'test_list_instances', 'test_list_instance_uuids', 'test_spawn', 'test_reboot',
  'test_power_off', 'test_power_on_running', 'test_power_on_powered_off', 'test_destroy_instance',
  'test_destroy_instance_nonexistent', 'test_get_info', 'test_get_info_for_unknown_instance',
  'test_snapshot_not_running', 'test_get_host_ip_addr', 'test_get_available_resource',
  'test_get_available_nodes', 'test_get_host_uptime', 'test_get_volume_connector',
  'test_get_volume_connector_storage_ip', 'test_unpause_unpaused_instance',
  'test_resume_unsuspended_instance', 'test_resume_state_on_host_boot', 'test_events',
  'test_event_bad_object', 'test_event_bad_callback', 'test_emit_unicode_event',
  'test_network_binding_host_id', 'test_get_allocation_ratio',
];

// What it must pass too once the service carries the call out (see serviceCapabilities).
const MUST_PASS_WHEN: Array<[Capability, string[]]> = [
  ['pause', ['test_pause', 'test_unpause_paused_instance']],
  ['suspend', ['test_suspend', 'test_resume_suspended_instance']],
  ['snapshot', ['test_snapshot_running']],
  ['console', ['test_get_vnc_console']],
  ['console-log', ['test_get_console_output']],
  ['diagnostics', ['test_get_diagnostics', 'test_get_instance_diagnostics']],
];

interface Summary {
  ran: number;
  passed: number;
  declined: Record<string, string>;
  skipped: Record<string, string>;
  failed: Record<string, string>;
  own: string[];
}

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ validateResponses: false });
  // The hosts carry Nova's dom0 `console` plugin, as XenServer hosts under Nova did.
  for (const [hostRef, hostRec] of stack.sim.store.all('host')) {
    stack.sim.store.update('host', hostRef, { other_config: { ...(hostRec.other_config as object), sim_plugins: 'console' } });
  }
});

afterAll(async () => {
  await stack?.close();
});

function instanceVms(): string[] {
  const names: string[] = [];
  for (const rec of stack.sim.store.all('VM').values()) {
    const label = String(rec.name_label);
    if (!rec.is_a_template && !rec.is_control_domain && !rec.is_a_snapshot && /^instance-/.test(label)) {
      names.push(label);
    }
  }
  return names;
}

test("Nova's generic driver tests pass against the service, declining only what Nova allows", async () => {
  const templates = (await stack.request('GET', '/v1/templates')).body.items;
  const networks = (await stack.request('GET', '/v1/networks')).body.items;
  const caps = await serviceCapabilities(stack.request, stack.tokens.admin, templates[0].uuid, networks[0].uuid);
  const mustPass = [...MUST_PASS, ...MUST_PASS_WHEN.filter(([c]) => caps.has(c)).flatMap(([, names]) => names)];
  const res = await run(PYTHON, [RUNNER], {
    env: {
      XCD_URL: stack.url,
      XCD_TOKEN: stack.tokens.admin,
      XCD_TEMPLATE: templates[0].uuid,
      XCD_NETWORK: networks[0].uuid,
      XCD_CAPS: [...caps].join(','),
      XCD_VOLUME_VDI: await createPoolVdi(stack, 'nova-volume'),
      HOME: process.env.HOME ?? '/tmp',
    },
    timeoutMs: 170_000,
  });
  const last = res.stdout.trim().split('\n').pop() ?? '';
  let summary: Summary;
  try {
    summary = JSON.parse(last) as Summary;
  } catch {
    throw new Error(`no summary from the Nova run (exit ${res.code}):\n${res.stderr.slice(-4000)}`);
  }
  const failures = Object.entries(summary.failed).map(([name, tb]) => `${name}:\n${tb.slice(-1500)}`);
  expect(failures).toEqual([]);
  expect(summary.ran).toBeGreaterThanOrEqual(60);
  // this driver's own checks ran too, hot-plug ones where the service offers them
  expect(summary.own).toEqual([
    'test_spawn_maps_flavor_vifs_and_disks',
    'test_update_provider_tree_inventory',
    ...(caps.has('nics') ? ['test_attach_detach_interface'] : []),
    ...(caps.has('volumes') ? ['test_attach_detach_pool_volume'] : []),
  ]);
  for (const name of mustPass) {
    expect(summary.declined[name]).toBeUndefined();
    expect(summary.skipped[name]).toBeUndefined();
  }
  expect(Object.keys(summary.skipped)).toEqual(['test_live_migration']);
  expect(summary.passed).toBe(summary.ran - Object.keys(summary.declined).length - 1);
  expect(instanceVms()).toEqual([]); // every test's instances were destroyed through the driver
   
  console.log(`Nova virt driver tests: ${summary.ran} ran, ${summary.passed} passed, ` +
    `${Object.keys(summary.declined).length} declined (${Object.keys(summary.declined).sort().join(', ')}), 1 skipped; ` +
    `service capabilities verified: ${[...caps].sort().join(', ')}`);
}, 180_000);

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
    const host = (await stack.request('GET', '/v1/host', { token: stack.tokens.admin })).body;
    expect(out.nodes).toEqual([host.hostname]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}, 60_000);
