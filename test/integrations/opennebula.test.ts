// The OpenNebula VMM driver driven exactly as one_vmm_exec runs it in local mode: the action's
// argv (trailing <vmid> <host> appended), one Base64 line on stdin, stdout's first token read as
// the deploy / snapshot id, exit code and ERROR:/INFO: stderr lines; the monitor probes' output
// parsed as monitord does. Checks the simulated pool afterwards. The remotes run as the README
// installs them: the vmm and im trees copied, the shared xcd_rest.py into the vmm driver folder.
// Must not: use a shell, or relax what it expects after probing the service.
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import { createPoolVdi, INTEGRATIONS, install, run } from './orchestrator';

const SOURCE = join(INTEGRATIONS, 'opennebula', 'remotes');
const HOST = 'xen01';

let stack: Stack;
let dir: string;
let template: string;
let network: { uuid: string; bridge: string };
let env: Record<string, string>;
/** /var/lib/one/remotes/vmm/xcd and /var/lib/one/remotes/im/xcd-probes.d, installed. */
let vmmDir: string;
let probesDir: string;

beforeAll(async () => {
  // VLANs 300-399 on eth1: the range NICs with a VLAN_ID may ask for.
  stack = await startStack({ driver: { vlans: { device: 'eth1', min: 300, max: 399 } } });
  dir = mkdtempSync(join(tmpdir(), 'xcd-one-'));
  template = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
  network = (await stack.request('GET', '/v1/networks')).body.items[0];
  const remotes = join(dir, 'remotes');
  vmmDir = join(remotes, 'vmm', 'xcd');
  probesDir = join(remotes, 'im', 'xcd-probes.d');
  install(
    [
      [join(SOURCE, 'vmm', 'xcd'), join(remotes, 'vmm')],
      [join(SOURCE, 'im', 'xcd-probes.d'), join(remotes, 'im')],
    ],
    vmmDir,
  );
  // an admin token, the role the README asks for (the probes read /v1/host)
  env = { XCD_URL: stack.url, XCD_TOKEN: stack.tokens.admin, XCD_CONFIG: join(dir, 'none') };
}, 90_000);

afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cdata = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;

function vmXml(
  id: number,
  o: {
    name?: string;
    lcm?: number;
    mac?: string;
    vcpu?: number;
    memory?: number;
    vcpuMax?: number;
    memoryMax?: number;
    vlanId?: number;
    attachNic?: string;
    attachVdi?: string;
  } = {},
) {
  const vlan = o.vlanId ? `<VLAN_ID>${cdata(String(o.vlanId))}</VLAN_ID>` : '';
  const nic = (mac: string, extra = '') =>
    `<NIC><NIC_ID>${cdata('0')}</NIC_ID><BRIDGE>${cdata(network.bridge)}</BRIDGE><MAC>${cdata(mac)}</MAC>${vlan}${extra}</NIC>`;
  return (
    `<VM><ID>${id}</ID><NAME>${cdata(o.name ?? `vm-${id}`)}</NAME><STATE>3</STATE><LCM_STATE>${o.lcm ?? 3}</LCM_STATE>` +
    `<TEMPLATE><VCPU>${cdata(String(o.vcpu ?? 2))}</VCPU><MEMORY>${cdata(String(o.memory ?? 768))}</MEMORY>` +
    (o.vcpuMax ? `<VCPU_MAX>${cdata(String(o.vcpuMax))}</VCPU_MAX>` : '') +
    (o.memoryMax ? `<MEMORY_MAX>${cdata(String(o.memoryMax))}</MEMORY_MAX>` : '') +
    `<DISK><DISK_ID>${cdata('0')}</DISK_ID><SIZE>${cdata('10240')}</SIZE><TARGET>${cdata('xvda')}</TARGET></DISK>` +
    nic(o.mac ?? '02:00:c0:a8:7a:2a') +
    (o.attachNic ? nic(o.attachNic, `<ATTACH>${cdata('YES')}</ATTACH>`) : '') +
    (o.attachVdi
      ? `<DISK><DISK_ID>${cdata('2')}</DISK_ID><ATTACH>${cdata('YES')}</ATTACH><TARGET>${cdata('xvdb')}</TARGET>` +
        `<XCD_VDI>${cdata(o.attachVdi)}</XCD_VDI></DISK>`
      : '') +
    `<CONTEXT><NETWORK>${cdata('YES')}</NETWORK><SSH_PUBLIC_KEY>${cdata('ssh-ed25519 AAAA x@y')}</SSH_PUBLIC_KEY></CONTEXT>` +
    `</TEMPLATE><USER_TEMPLATE><XCD_TEMPLATE>${cdata(template)}</XCD_TEMPLATE></USER_TEMPLATE></VM>`
  );
}

const actionData = (id: number, deployId: string, o: Parameters<typeof vmXml>[1] = {}) =>
  `<VMM_DRIVER_ACTION_DATA><HOST>${HOST}</HOST><MIGR_HOST/><DEPLOY_ID>${deployId}</DEPLOY_ID>` +
  `<LOCAL_DEPLOYMENT_FILE/><REMOTE_DEPLOYMENT_FILE/><CHECKPOINT_FILE/><TM_COMMAND/>${vmXml(id, o)}` +
  `<DATASTORE><ID>0</ID></DATASTORE></VMM_DRIVER_ACTION_DATA>`;

/** One action as one_vmm_exec runs it: argv + `<vmid> <host>`, stdin one strict Base64 line. */
async function action(name: string, args: string[], vmid: number, stdinXml: string) {
  const res = await run(join(vmmDir, name), [...args, String(vmid), HOST], {
    env,
    stdin: Buffer.from(stdinXml).toString('base64'),
    cwd: dir,
    timeoutMs: 25_000,
  });
  const stderrLines = res.stderr.split('\n').filter(Boolean);
  return {
    code: res.code,
    stdout: res.stdout,
    firstToken: res.stdout.trim().split(/\s+/)[0] ?? '',
    logs: stderrLines.filter((l) => /^(ERROR|INFO|WARN|DEBUG):/.test(l)),
    info: stderrLines.filter((l) => !/^(ERROR|INFO|WARN|DEBUG):/.test(l)).join(' '),
  };
}

async function deploy(id: number, seq: number, o: Parameters<typeof vmXml>[1] = {}) {
  const vmDir = join(dir, 'vms', String(id));
  mkdirSync(vmDir, { recursive: true });
  const dfile = join(vmDir, `deployment.${seq}`);
  const xml = vmXml(id, o);
  writeFileSync(dfile, xml);
  const res = await action('deploy', [dfile, HOST], id, xml);
  expect(readFileSync(dfile, 'utf8')).toBe(xml); // local mode: the deployment file is never rewritten
  return res;
}

async function probe(kind: string) {
  const exe = join(probesDir, kind, `xcd-${kind.replace('/', '-')}`);
  const res = await run(exe, [], { env, stdin: '', cwd: dir });
  expect(res.code).toBe(0);
  return res.stdout;
}

/** STATE_VM lines parsed as monitord reads them: VM = [ KEY="value", ... ]. */
function vmStates(text: string) {
  return text
    .split('\n')
    .filter((l) => l.startsWith('VM = ['))
    .map((l) =>
      Object.fromEntries([...l.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]])),
    );
}

function poolVm(name: string): { ref: string; rec: any } | undefined {
  for (const [ref, rec] of stack.sim.store.all('VM')) {
    if (rec.name_label === name && !rec.is_a_template && !rec.is_a_snapshot) return { ref, rec };
  }
  return undefined;
}

test('every action script of the driver folder exists and is executable', () => {
  const scripts = [
    'deploy',
    'shutdown',
    'cancel',
    'reboot',
    'reset',
    'save',
    'restore',
    'migrate',
    'snapshot_create',
    'snapshot_revert',
    'snapshot_delete',
    'attach_disk',
    'detach_disk',
    'attach_nic',
    'detach_nic',
    'prereconfigure',
    'reconfigure',
    'resize',
    'resize_disk',
  ];
  for (const s of scripts) expect(() => accessSync(join(vmmDir, s), constants.X_OK)).not.toThrow();
});

test('spawn-to-destroy walk: deploy, probes, reboot, reset, poweroff, resume by deploy, terminate', async () => {
  const dep = await deploy(42, 0, { name: 'web-42' });
  expect(dep.code).toBe(0);
  expect(dep.stdout).toBe('one-42\n'); // a single line: the deploy id
  const vm = poolVm('web-42')!;
  expect(vm.rec.power_state).toBe('Running');
  expect(vm.rec.VCPUs_at_startup).toBe(2);
  expect(vm.rec.memory_static_max).toBe(768 * 1024 * 1024);
  expect(vm.rec.VIFs.map((v: string) => stack.sim.store.get('VIF', v).MAC as string)).toEqual([
    '02:00:c0:a8:7a:2a',
  ]);

  const states = vmStates(await probe('vm/status'));
  expect(states).toContainEqual(
    expect.objectContaining({ ID: '42', DEPLOY_ID: 'one-42', STATE: 'RUNNING' }),
  );
  const system = await probe('host/system');
  expect(system).toMatch(/^HYPERVISOR=xcd$/m);
  expect(Number(/^TOTALCPU=(\d+)$/m.exec(system)![1])).toBeGreaterThan(0);
  expect(Number(/^TOTALMEMORY=(\d+)$/m.exec(system)![1])).toBeGreaterThan(0);
  const monitor = await probe('host/monitor');
  expect(Number(/^USEDMEMORY=(\d+)$/m.exec(monitor)![1])).toBeGreaterThanOrEqual(768 * 1024);
  const vmMon = vmStates(await probe('vm/monitor')).find((s) => s.ID === '42')!;
  expect(Buffer.from(vmMon.MONITOR, 'base64').toString()).toMatch(/^MEMORY=786432$/m);

  for (const a of ['reboot', 'reset']) {
    const r = await action(a, ['one-42', HOST], 42, actionData(42, 'one-42'));
    expect(r).toMatchObject({ code: 0, stdout: '' });
  }
  expect(stack.sim.store.get('VM', vm.ref).power_state).toBe('Running');

  // poweroff (LCM SHUTDOWN_POWEROFF): the instance stays, halted
  expect(
    (await action('shutdown', ['one-42', HOST], 42, actionData(42, 'one-42', { lcm: 18 }))).code,
  ).toBe(0);
  expect(stack.sim.store.get('VM', vm.ref).power_state).toBe('Halted');
  expect(vmStates(await probe('vm/status'))).toContainEqual(
    expect.objectContaining({ ID: '42', STATE: 'POWEROFF' }),
  );
  // resume: a fresh DEPLOY finds it and powers it on, same deploy id
  const again = await deploy(42, 1, { name: 'web-42' });
  expect(again).toMatchObject({ code: 0, stdout: 'one-42\n' });
  expect(stack.sim.store.get('VM', vm.ref).power_state).toBe('Running');

  // terminate (LCM SHUTDOWN): the instance and its disks go
  expect(
    (await action('shutdown', ['one-42', HOST], 42, actionData(42, 'one-42', { lcm: 12 }))).code,
  ).toBe(0);
  expect(poolVm('web-42')).toBeUndefined();
  expect(vmStates(await probe('vm/status')).find((s) => s.ID === '42')).toBeUndefined();
}, 30_000);

test('cancel (terminate --hard) destroys; reconfigure rebuilds the config drive from CONTEXT', async () => {
  expect((await deploy(43, 0, { name: 'db-43' })).code).toBe(0);
  const cdVdi = () => {
    const store = stack.sim.store;
    return (store.get('VM', poolVm('db-43')!.ref).VBDs as string[])
      .map((r) => store.get('VBD', r) as any)
      .find((b) => b.type === 'CD' && b.other_config.xcd_role === 'config-drive')!.VDI;
  };
  const before = cdVdi();
  for (const [a, args] of [
    ['prereconfigure', ['one-43', 'hda']],
    ['reconfigure', ['one-43', 'hda', join(dir, 'disk.1')]],
  ] as const) {
    expect((await action(a, [...args], 43, actionData(43, 'one-43'))).code).toBe(0);
  }
  // no TM_COMMAND: the message's CONTEXT makes the new drive
  expect(cdVdi()).not.toBe(before);
  expect(
    (await action('cancel', ['one-43', HOST], 43, actionData(43, 'one-43', { lcm: 13 }))).code,
  ).toBe(0);
  expect(poolVm('db-43')).toBeUndefined();
}, 30_000);

test('failures exit 1 with ERROR: lines and a one-line reason', async () => {
  const r = await action('reboot', ['one-999', HOST], 999, actionData(999, 'one-999'));
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.logs.some((l) => l.startsWith('ERROR: 999 reboot:'))).toBe(true);
  expect(r.info).toMatch(/instance_not_found/);

  const noTemplate = await run(join(vmmDir, 'deploy'), [join(dir, 'missing'), HOST, '44', HOST], {
    env,
    stdin: Buffer.from(vmXml(44).replace(/<USER_TEMPLATE>.*<\/USER_TEMPLATE>/, '')).toString(
      'base64',
    ),
  });
  expect(noTemplate.code).toBe(1);
  expect(noTemplate.stderr).toMatch(/XCD_TEMPLATE/);
});

test('hostile names, MACs, deploy ids and paths stay data', async () => {
  const canary = join(dir, 'pwned');
  const name = `evil'; $(touch ${canary}) \`touch ${canary}\` "q"\nline2`;
  const dep = await deploy(45, 0, { name });
  expect(dep).toMatchObject({ code: 0, stdout: 'one-45\n' });
  expect(poolVm(name)?.rec.name_label).toBe(name);
  const states = vmStates(await probe('vm/status'));
  expect(states.filter((s) => s.ID === '45')).toHaveLength(1); // the name never breaks a probe line

  const evilId = `one-45'; touch ${canary}; '`;
  const r = await action('reboot', [evilId, HOST], 45, actionData(45, evilId));
  expect(r.code).toBe(1); // percent-encoded into one path segment: no such instance
  const nic = await action(
    'attach_nic',
    [
      'one-45',
      `02:00:00:00:00:01;touch ${canary}`,
      `br$(touch ${canary})`,
      '-',
      'dummy',
      'one-45-1',
    ],
    45,
    actionData(45, 'one-45'),
  );
  expect(nic.code).toBe(1);
  expect(
    (await action('cancel', ['one-45', HOST], 45, actionData(45, 'one-45', { lcm: 13 }))).code,
  ).toBe(0);
  expect(poolVm(name)).toBeUndefined();
  expect(existsSync(canary)).toBe(false);
}, 30_000);

test('save, restore, snapshots, hot-plug, resize and migrate', async () => {
  expect((await deploy(46, 0, { name: 'app-46' })).code).toBe(0);
  const data = actionData(46, 'one-46');
  try {
    const save = await action('save', ['one-46', join(dir, 'checkpoint'), HOST], 46, data);
    expect(save).toMatchObject({ code: 0, stdout: '' });
    expect(poolVm('app-46')!.rec.power_state).toBe('Suspended');
    expect(vmStates(await probe('vm/status'))).toContainEqual(
      expect.objectContaining({ ID: '46', STATE: 'SUSPENDED' }),
    );
    expect(
      (await action('restore', [join(dir, 'checkpoint'), HOST, 'one-46'], 46, data)).code,
    ).toBe(0);
    expect(poolVm('app-46')!.rec.power_state).toBe('Running');

    const snap = await action('snapshot_create', ['one-46', '0'], 46, data);
    expect(snap).toMatchObject({ code: 0, stdout: 'snap-0\n' });
    expect((await action('snapshot_revert', ['one-46', snap.firstToken], 46, data)).code).toBe(0);
    expect(poolVm('app-46')!.rec.power_state).toBe('Running');
    expect((await action('snapshot_delete', ['one-46', snap.firstToken], 46, data)).code).toBe(0);
    expect([...stack.sim.store.all('VM').values()].some((r: any) => r.is_a_snapshot)).toBe(false);

    const mac = '02:00:c0:a8:7a:2b';
    const attach = await action(
      'attach_nic',
      ['one-46', mac, network.bridge, '-', 'dummy', 'one-46-1'],
      46,
      actionData(46, 'one-46', { attachNic: mac }),
    );
    const macs = () =>
      poolVm('app-46')!.rec.VIFs.map((v: string) => stack.sim.store.get('VIF', v).MAC as string);
    expect(attach).toMatchObject({ code: 0, stdout: '' });
    expect(macs()).toContain(mac);
    expect((await action('detach_nic', ['one-46', mac], 46, data)).code).toBe(0);
    expect(macs()).not.toContain(mac);

    const vdi = await createPoolVdi(stack, 'one-46-data');
    const withDisk = actionData(46, 'one-46', { attachVdi: vdi });
    const diskPath = join(dir, 'datastores', '0', '46', 'disk.2');
    const attachDisk = await action(
      'attach_disk',
      ['one-46', diskPath, 'xvdb', '2', Buffer.from(withDisk).toString('base64')],
      46,
      withDisk,
    );
    const vdiRef = () =>
      [...stack.sim.store.all('VDI').entries()].find(([, r]) => r.uuid === vdi)![0];
    const vbdsOfVdi = () =>
      (stack.sim.store.get('VDI', vdiRef()).VBDs as string[]).map((v) =>
        stack.sim.store.get('VBD', v),
      );
    expect(attachDisk).toMatchObject({ code: 0, stdout: '' });
    expect(vbdsOfVdi().map((b) => [b.VM, b.userdevice])).toEqual([[poolVm('app-46')!.ref, '2']]);
    expect(
      (await action('detach_disk', ['one-46', diskPath, 'xvdb', '2'], 46, withDisk)).code,
    ).toBe(0);
    expect(vbdsOfVdi()).toEqual([]);
    expect(vdiRef()).toBeDefined(); // detaching never destroys the volume

    // live resize (power_cycle none): fewer vCPUs and less memory, within VCPUs_max and the static range
    const resized = await action(
      'resize',
      ['one-46'],
      46,
      actionData(46, 'one-46', { vcpu: 1, memory: 512 }),
    );
    expect(resized).toMatchObject({ code: 0, stdout: '' });
    const sized = () => {
      const rec = poolVm('app-46')!.rec;
      return {
        power_state: rec.power_state,
        VCPUs_at_startup: Number(rec.VCPUs_at_startup),
        memory_dynamic_max: Number(rec.memory_dynamic_max),
      };
    };
    const liveSize = {
      power_state: 'Running',
      VCPUs_at_startup: 1,
      memory_dynamic_max: 512 * 1024 * 1024,
    };
    expect(sized()).toEqual(liveSize);
    // beyond the static maximum XAPI needs the VM halted: refused, nothing changed
    const grown = await action(
      'resize',
      ['one-46'],
      46,
      actionData(46, 'one-46', { vcpu: 1, memory: 4096 }),
    );
    expect(grown).toMatchObject({ code: 1, stdout: '' });
    expect(
      grown.logs.some((l) => l.startsWith('ERROR: 46 resize: power_cycle_required (409)')),
    ).toBe(true);
    expect(sized()).toEqual(liveSize);

    const lost = await action('migrate', ['one-46', 'no-such-host', HOST], 46, data);
    expect(lost).toMatchObject({ code: 1, stdout: '' });
    expect(lost.logs.some((l) => l.startsWith('ERROR: 46 migrate: '))).toBe(true);
    const from = poolVm('app-46')!.rec.resident_on as string;
    const [toRef, toRec] = [...stack.sim.store.all('host').entries()].find(
      ([ref]) => ref !== from,
    )!;
    const moved = await action('migrate', ['one-46', String(toRec.name_label), HOST], 46, data);
    expect(moved).toMatchObject({ code: 0, stdout: '' });
    expect(poolVm('app-46')!.rec.resident_on).toBe(toRef);
  } finally {
    expect(
      (await action('cancel', ['one-46', HOST], 46, actionData(46, 'one-46', { lcm: 13 }))).code,
    ).toBe(0);
  }
  expect(poolVm('app-46')).toBeUndefined();
}, 30_000);

test('VCPU_MAX and MEMORY_MAX: live resizes up to them, without a power cycle', async () => {
  const within = { vcpu: 1, memory: 512, vcpuMax: 4, memoryMax: 2048 };
  expect((await deploy(47, 0, { name: 'max-47', ...within })).code).toBe(0);
  try {
    const before = poolVm('max-47')!.rec;
    expect([Number(before.VCPUs_max), Number(before.memory_static_max)]).toEqual([
      4,
      2048 * 1024 * 1024,
    ]);
    const domid = before.domid;
    const up = await action(
      'resize',
      ['one-47'],
      47,
      actionData(47, 'one-47', { ...within, vcpu: 4, memory: 2048 }),
    );
    expect(up).toMatchObject({ code: 0, stdout: '' });
    const rec = poolVm('max-47')!.rec;
    expect([
      rec.power_state,
      rec.domid,
      Number(rec.VCPUs_at_startup),
      Number(rec.memory_dynamic_max),
    ]).toEqual(['Running', domid, 4, 2048 * 1024 * 1024]);
    const above = await action(
      'resize',
      ['one-47'],
      47,
      actionData(47, 'one-47', { ...within, vcpu: 5 }),
    );
    expect(
      above.logs.some((l) => l.startsWith('ERROR: 47 resize: power_cycle_required (409)')),
    ).toBe(true);
  } finally {
    expect(
      (await action('cancel', ['one-47', HOST], 47, actionData(47, 'one-47', { lcm: 13 }))).code,
    ).toBe(0);
  }
}, 30_000);

test('NICs with a VLAN_ID join the service network of that VLAN (XCD_VLAN_NETWORKS=bridge: their BRIDGE)', async () => {
  const vlanOf = (vifRef: string): string | undefined =>
    (stack.sim.store.get('network', stack.sim.store.get('VIF', vifRef).network as string) as any)
      .other_config.xcd_vlan;
  try {
    expect((await deploy(48, 0, { name: 'vlan-48', vlanId: 330 })).code).toBe(0);
    const vm = poolVm('vlan-48')!;
    expect(vm.rec.VIFs.map(vlanOf)).toEqual(['330']);
    const mac = '02:00:c0:a8:7a:4c';
    const attach = await action(
      'attach_nic',
      ['one-48', mac, network.bridge, '-', '802.1Q', 'one-48-1'],
      48,
      actionData(48, 'one-48', { vlanId: 330, attachNic: mac }),
    );
    expect(attach).toMatchObject({ code: 0, stdout: '' });
    expect(poolVm('vlan-48')!.rec.VIFs.map(vlanOf)).toEqual(['330', '330']);
    env.XCD_VLAN_NETWORKS = 'bridge';
    const mac2 = '02:00:c0:a8:7a:4d';
    const bridged = await action(
      'attach_nic',
      ['one-48', mac2, network.bridge, '-', '802.1Q', 'one-48-2'],
      48,
      actionData(48, 'one-48', { vlanId: 330, attachNic: mac2 }),
    );
    expect(bridged).toMatchObject({ code: 0, stdout: '' });
    expect(poolVm('vlan-48')!.rec.VIFs.map(vlanOf)).toEqual(['330', '330', undefined]);
  } finally {
    delete env.XCD_VLAN_NETWORKS;
    expect(
      (await action('cancel', ['one-48', HOST], 48, actionData(48, 'one-48', { lcm: 13 }))).code,
    ).toBe(0);
  }
}, 30_000);
