// The CloudStack extension driven exactly as CloudStack 4.21+ runs it: `<exe> <action>
// <payload.json> <timeout>` with a Gson-written payload file, stdin an open pipe nobody writes,
// stderr merged into the output, exit code read; then the simulated pool is checked.
// The extension runs as its README installs it: xcd.py with the shared xcd_rest.py beside it.
// Must not: call the service for the extension (only to look), run anything through a shell, or
// relax what it expects after probing the service.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startStack, type Stack } from '../helpers/stack';
import { INTEGRATIONS, install, run } from './orchestrator';

let stack: Stack;
let dir: string;
let template: string;
let network: { uuid: string; bridge: string };
let exe: string;

beforeAll(async () => {
  // VLANs 300-399 on eth1: the range NICs with vlan_networks=service may ask for.
  stack = await startStack({ driver: { vlans: { device: 'eth1', min: 300, max: 399 } } });
  dir = mkdtempSync(join(tmpdir(), 'xcd-cs-'));
  const templates = (await stack.request('GET', '/v1/templates')).body.items;
  template = templates[0].name_label;
  network = (await stack.request('GET', '/v1/networks')).body.items[0];
  // /usr/share/cloudstack-management/extensions/xcd/, as the README's install lines fill it
  const extension = join(dir, 'extensions', 'xcd');
  mkdirSync(extension, { recursive: true });
  install([[join(INTEGRATIONS, 'cloudstack', 'xcd.py'), extension]], extension);
  exe = join(extension, 'xcd.py');
}, 90_000);

afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Gson's escaping of the characters it treats as HTML-unsafe. */
function gson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&=']/g, (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The host details carry an admin token, the role the README asks for (getconsole needs it). */
function payload(name: string, uuid: string, extra: Record<string, unknown> = {}, mac = '02:00:4f:7a:00:01') {
  return {
    caller: { id: 'c1', name: 'admin', type: 'ADMIN', roleid: 'r1', rolename: 'Root Admin', roletype: 'Admin' },
    externaldetails: {
      host: { url: stack.url, token: stack.tokens.admin },
      virtualmachine: { template, network: network.uuid, 'cloudstack.vlan': '100' },
    },
    virtualmachineid: uuid,
    virtualmachinename: name,
    'cloudstack.vm.details': {
      id: 100, name, state: 'Starting', type: 'User', cpus: 2, minSpeed: 500, maxSpeed: 500,
      minRam: 536870912, maxRam: 536870912, arch: 'x86_64', bootArgs: '', enableHA: false,
      details: { deployvm: 'true' }, uuid,
      disks: [{ data: { 'org.apache.cloudstack.storage.to.VolumeObjectTO': { uuid: randomUUID(), volumeType: 'ROOT', size: 8589934592 } }, diskSeq: 0, type: 'ROOT' }],
      nics: [{ deviceId: 0, defaultNic: true, nicUuid: randomUUID(), uuid: randomUUID(), mac, broadcastType: 'Vlan', broadcastUri: 'vlan://100', type: 'Guest' }],
    },
    ...extra,
  };
}

async function cs(action: string, body: unknown, timeout = '30', at = dir) {
  const file = join(at, `${randomUUID()}.json`);
  writeFileSync(file, gson(body));
  const res = await run(exe, [action, file, timeout], { stdin: 'open', cwd: dir, timeoutMs: 25_000 });
  const text = res.merged.trim();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { code: res.code, text, json };
}

 
function poolVm(name: string): { ref: string; rec: any } | undefined {
  for (const [ref, rec] of stack.sim.store.all('VM')) {
    if (rec.name_label === name && !rec.is_a_template && !rec.is_a_snapshot) return { ref, rec };
  }
  return undefined;
}

function macsOf(vmRef: string): string[] {
  const rec = stack.sim.store.get('VM', vmRef) as { VIFs: string[] };
  return rec.VIFs.map((vifRef: string) => stack.sim.store.get('VIF', vifRef).MAC as string);
}

test('spawn-to-destroy walk: prepare, create, status, stop, start, reboot, statuses, delete', async () => {
  const name = 'i-2-100-VM';
  const p = payload(name, randomUUID());
  expect(await cs('prepare', p)).toEqual({ code: 0, text: '', json: undefined });

  const created = await cs('create', p);
  expect(created.text).toMatch(/"success"/);
  expect(created.code).toBe(0);
  expect(created.json.status).toBe('success');
  const vm = poolVm(name)!;
  expect(vm.rec.power_state).toBe('Running');
  expect(vm.rec.VCPUs_at_startup).toBe(2);
  expect(vm.rec.memory_static_max).toBe(536870912);
  expect(macsOf(vm.ref)).toEqual(['02:00:4f:7a:00:01']);

  expect((await cs('status', p)).json).toEqual({ status: 'success', power_state: 'poweron' });
  expect((await cs('stop', p)).code).toBe(0);
  expect(stack.sim.store.get('VM', vm.ref).power_state).toBe('Halted');
  expect((await cs('status', p)).json).toEqual({ status: 'success', power_state: 'poweroff' });
  expect((await cs('stop', p)).code).toBe(0); // stopping a stopped VM succeeds
  expect((await cs('start', p)).code).toBe(0);
  expect(stack.sim.store.get('VM', vm.ref).power_state).toBe('Running');
  expect((await cs('reboot', p)).code).toBe(0);
  expect(stack.sim.store.get('VM', vm.ref).power_state).toBe('Running');

  const statuses = await cs('statuses', { externaldetails: p.externaldetails, caller: p.caller });
  expect(statuses.code).toBe(0);
  expect(statuses.json.power_state[name]).toBe('poweron');

  expect((await cs('delete', p)).code).toBe(0);
  expect(poolVm(name)).toBeUndefined();
  expect((await cs('status', p)).json.power_state).toBe('poweroff');
  expect((await cs('delete', p)).code).toBe(0); // already gone: still success
}, 30_000);

test('hostile VM names, MACs and payload paths reach the service as data, never as shell text', async () => {
  const canary = join(dir, 'pwned'); // the programs run in `dir`: a relative `touch pwned` lands here
  const name = `i-2-101-VM";$(touch pwned);\`touch pwned\`\n'x`;
  const uuid = randomUUID();
  const oddDir = join(dir, `pay load $(touch pwned) ;'"`);
  mkdirSync(oddDir);
  const p = payload(name, uuid);
  const created = await cs('create', p, '30', oddDir);
  expect(created.code).toBe(0);
  const vm = poolVm(name);
  expect(vm?.rec.name_label).toBe(name); // kept byte for byte; the instance id falls back to the uuid
  expect((await cs('status', p, '30', oddDir)).json.power_state).toBe('poweron');
  expect((await cs('delete', p, '30', oddDir)).code).toBe(0);
  expect(poolVm(name)).toBeUndefined();

  const badMac = await cs('create', payload('i-2-102-VM', randomUUID(), {}, '02:00:00:00:00:01;touch pwned'));
  expect(badMac.code).toBe(1);
  expect(badMac.json.status).toBe('error');
  expect(poolVm('i-2-102-VM')).toBeUndefined();
  expect(existsSync(canary)).toBe(false);
}, 30_000);

test('refusals exit 1 with one JSON error document', async () => {
  const p = payload('i-2-103-VM', randomUUID());
  const unknown = await cs('frobnicate', p);
  expect(unknown).toMatchObject({ code: 1, json: { error: 'Invalid action' } });

  const noUrl = await cs('status', { ...p, externaldetails: { virtualmachine: {} } });
  expect(noUrl.code).toBe(1);
  expect(noUrl.json.error).toMatch(/url/);

  const badToken = await cs('status', { ...p, externaldetails: { host: { url: stack.url, token: 'nope' } } });
  expect(badToken.code).toBe(1);
  expect(badToken.json.error).toMatch(/unauthorized/);

  const noTemplate = structuredClone(p) as any;
  delete noTemplate.externaldetails.virtualmachine.template;
  expect((await cs('create', noTemplate)).json.error).toMatch(/template/);
  expect((await cs('start', p)).code).toBe(1); // never created
  expect(poolVm('i-2-103-VM')).toBeUndefined();
});

test('console, snapshot and resize actions', async () => {
  const name = 'i-2-104-VM';
  const p = payload(name, randomUUID());
  expect((await cs('create', p)).code).toBe(0);
  try {
    const consoleRes = await cs('getconsole', p);
    expect(consoleRes.code).toBe(0);
    expect(consoleRes.json.console.protocol).toBe('direct');
    expect(consoleRes.json.console.url).toMatch(/^https?:\/\/[^/]+\/console\?/);
    expect(consoleRes.json.console.url).not.toMatch(/session_id/); // the service's XAPI session never leaks

    const snap = await cs('CreateSnapshot', { ...p, action: 'CreateSnapshot', parameters: { snapshot: 'cs-snap-1', name: 'before upgrade' } });
    expect(snap.code).toBe(0);
    expect(snap.json.message).toEqual({ snapshot: 'cs-snap-1', name: 'before upgrade' });
    const snapVm = [...stack.sim.store.all('VM').values()].find((r: any) => r.is_a_snapshot && r.name_label === 'before upgrade');
    expect(snapVm).toBeDefined();
    const listed = await cs('snapshot-list', { ...p, parameters: {} });
    expect(listed.json.message.map((s: any) => s.snapshot)).toEqual(['cs-snap-1']);
    expect((await cs('snapshot-revert', { ...p, parameters: { snapshot: 'cs-snap-1' } })).code).toBe(0);
    expect(poolVm(name)!.rec.power_state).toBe('Running'); // it ran before: it runs after
    expect((await cs('snapshot-delete', { ...p, parameters: { snapshot: 'cs-snap-1' } })).code).toBe(0);
    expect([...stack.sim.store.all('VM').values()].some((r: any) => r.is_a_snapshot && r.name_label === 'before upgrade')).toBe(false);

    const resized = await cs('resize', { ...p, action: 'resize', parameters: { cpus: 1, memory: 256, power_cycle: 'hard' } });
    expect(resized.code).toBe(0);
    expect(poolVm(name)!.rec.memory_static_max).toBe(256 * 1024 * 1024);
    expect(poolVm(name)!.rec.VCPUs_at_startup).toBe(1);
  } finally {
    expect((await cs('delete', p)).code).toBe(0);
  }
  expect(poolVm(name)).toBeUndefined();
}, 30_000);

test('getconsole with an operator token: one JSON error naming forbidden, the instance untouched', async () => {
  const name = 'i-2-105-VM';
  const p = payload(name, randomUUID());
  expect((await cs('create', p)).code).toBe(0);
  try {
    const asOperator = structuredClone(p) as any;
    asOperator.externaldetails.host.token = stack.tokens.operator;
    const consoleRes = await cs('getconsole', asOperator);
    expect(consoleRes.code).toBe(1);
    expect(consoleRes.json.status).toBe('error');
    expect(consoleRes.json.error).toMatch(/^forbidden \(403\)/);
    expect((await cs('status', asOperator)).json).toEqual({ status: 'success', power_state: 'poweron' });
  } finally {
    expect((await cs('delete', p)).code).toBe(0);
  }
}, 30_000);

test('vlan_networks=service: a NIC on vlan://N joins the service network of that VLAN', async () => {
  const name = 'i-2-120-VM';
  const p: any = payload(name, randomUUID());
  p.externaldetails.virtualmachine.vlan_networks = 'service';
  p['cloudstack.vm.details'].nics[0].broadcastUri = 'vlan://320';
  const created = await cs('create', p);
  expect([created.code, created.json?.status]).toEqual([0, 'success']);
  try {
    const vm = poolVm(name)!;
    const vif = stack.sim.store.get('VIF', vm.rec.VIFs[0]) as { network: string };
    const net = stack.sim.store.get('network', vif.network) as { other_config: Record<string, string>; PIFs: string[] };
    expect(net.other_config).toMatchObject({ xcd_managed: 'true', xcd_vlan: '320' });
    expect(net.PIFs.map((pif) => Number(stack.sim.store.get('PIF', pif).VLAN))).toEqual(
      net.PIFs.map(() => 320),
    );
  } finally {
    expect((await cs('delete', p)).code).toBe(0);
  }
  // Without the detail, the same NIC still goes on the detail network.
  const plain: any = payload('i-2-121-VM', randomUUID());
  plain['cloudstack.vm.details'].nics[0].broadcastUri = 'vlan://321';
  expect((await cs('create', plain)).code).toBe(0);
  try {
    const vm = poolVm('i-2-121-VM')!;
    expect((stack.sim.store.get('VIF', vm.rec.VIFs[0]) as { network: string }).network).toBe(
      stack.sim.store.byUuid('network', network.uuid),
    );
  } finally {
    expect((await cs('delete', plain)).code).toBe(0);
  }
}, 30_000);
