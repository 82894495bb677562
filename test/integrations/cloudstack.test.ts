// The CloudStack extension driven exactly as CloudStack 4.21+ runs it: `<exe> <action>
// <payload.json> <timeout>` with a Gson-written payload file, stdin an open pipe nobody writes,
// stderr merged into the output, exit code read; then the simulated pool is checked.
// The extension runs as its README installs it: xcd.py and cs_payload.py with the shared
// xcd_rest.py beside them. A loopback HTTP server plays the template's web server (a qcow2 made
// with qemu-img), an export destination, and a stranger no call may ever reach.
// Must not: call the service for the extension (only to look), run anything through a shell, or
// relax what it expects after probing the service.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vncAuthResponse } from '../../src/driver/console-proxy/des';
import { startStack, type Stack } from '../helpers/stack';
import { INTEGRATIONS, install, run } from './orchestrator';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let stack: Stack;
let dir: string;
let exe: string;
let poolTemplate: string;
let network: { uuid: string; bridge: string };
let web: Server;
let base: string;
let closedBase: string;
let qcow2: Buffer;
const seen: Seen[] = [];
const VLANS = { device: 'eth1', min: 300, max: 399 };

/** A server that logs every request with its body, and serves the images it holds. */
async function listen(files: Map<string, Buffer>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const file = req.method === 'GET' ? files.get(req.url ?? '') : undefined;
      if (file) {
        res.writeHead(200, { 'content-length': file.length });
        res.end(file);
      } else if (req.method === 'PUT' && req.url?.startsWith('/exports/')) {
        res.writeHead(201);
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xcd-cs-'));
  // A real disk: 4 MiB of raw bytes, the first MiB random, as qcow2 made by qemu-img.
  const raw = join(dir, 'disk.raw');
  writeFileSync(raw, Buffer.concat([randomBytes(1024 * 1024), Buffer.alloc(3 * 1024 * 1024)]));
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'disk.qcow2')]);
  qcow2 = readFileSync(join(dir, 'disk.qcow2'));
  const files = new Map([
    ['/images/disk.qcow2', qcow2],
    ['/images/other.qcow2', qcow2],
    ['/images/twin.qcow2', qcow2],
    ['/images/;touch+pwned;$(reboot).qcow2', qcow2],
    ['/outside/disk.qcow2', qcow2],
  ]);
  ({ server: web, url: base } = await listen(files));
  const gone = await listen(new Map());
  closedBase = gone.url;
  await new Promise((resolve) => gone.server.close(resolve));

  stack = await startStack({
    driver: { vlans: VLANS, imageUrlAllow: [`${base}/images/`, `${closedBase}/`] },
  });
  poolTemplate = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
  network = (await stack.request('GET', '/v1/networks')).body.items[0];
  // /usr/share/cloudstack-management/extensions/xcd/, as the README's install lines fill it
  const extension = join(dir, 'extensions', 'xcd');
  mkdirSync(extension, { recursive: true });
  install(
    [
      [join(INTEGRATIONS, 'cloudstack', 'xcd.py'), extension],
      [join(INTEGRATIONS, 'cloudstack', 'cs_payload.py'), extension],
    ],
    extension,
  );
  exe = join(extension, 'xcd.py');
}, 90_000);

afterAll(async () => {
  await stack?.close();
  web?.closeAllConnections();
  await new Promise((resolve) => web?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Gson's escaping of the characters it treats as HTML-unsafe. */
function gson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&=']/g,
    (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

interface NicSpec {
  uri?: string;
  mac?: string;
}

interface PayloadSpec {
  /** The template's external details (each reaches the payload twice, as CloudStack passes them). */
  template?: Record<string, string>;
  nics?: NicSpec[];
  /** Host details beyond url, token and network. */
  host?: Record<string, string>;
  rootBytes?: number;
  extra?: Record<string, unknown>;
}

/** A payload as CloudStack builds it for `create`; the host details carry an operator token,
 * the role the README asks for. */
function payload(name: string, spec: PayloadSpec = {}): any {
  const uuid = randomUUID();
  const template = spec.template ?? { template: poolTemplate };
  const nics = spec.nics ?? [{ uri: 'vlan://310', mac: '1e:00:a1:00:00:01' }];
  return {
    caller: {
      id: 'c1',
      name: 'admin',
      type: 'ADMIN',
      roleid: 'r1',
      rolename: 'Root Admin',
      roletype: 'Admin',
    },
    externaldetails: {
      host: { url: stack.url, token: stack.tokens.operator, network: network.uuid, ...spec.host },
      virtualmachine: { ...template, 'cloudstack.vlan': '310' },
    },
    virtualmachineid: uuid,
    virtualmachinename: name,
    'cloudstack.vm.details': {
      id: 100,
      name,
      state: 'Starting',
      type: 'User',
      cpus: 2,
      minSpeed: 500,
      maxSpeed: 500,
      minRam: 536870912,
      maxRam: 536870912,
      arch: 'x86_64',
      bootArgs: '',
      enableHA: false,
      details: {
        deployvm: 'true',
        ...Object.fromEntries(Object.entries(template).map(([k, v]) => [`External:${k}`, v])),
      },
      uuid,
      disks: spec.rootBytes
        ? [
            {
              data: {
                'org.apache.cloudstack.storage.to.VolumeObjectTO': {
                  uuid: randomUUID(),
                  volumeType: 'ROOT',
                  size: spec.rootBytes,
                },
              },
              diskSeq: 0,
              type: 'ROOT',
            },
          ]
        : [],
      nics: nics.map((n, i) => ({
        deviceId: i,
        defaultNic: i === 0,
        nicUuid: randomUUID(),
        uuid: randomUUID(),
        ...(n.mac ? { mac: n.mac } : {}),
        broadcastType: 'Vlan',
        type: 'Guest',
        ...(n.uri !== undefined ? { broadcastUri: n.uri, isolationUri: n.uri } : {}),
      })),
    },
    ...spec.extra,
  };
}

/** The same VM as a later command sees it: CloudStack sends `nics: []` outside start/reboot. */
function later(p: any, extra: Record<string, unknown> = {}): any {
  return {
    ...p,
    'cloudstack.vm.details': { ...p['cloudstack.vm.details'], nics: [], disks: [] },
    ...extra,
  };
}

async function cs(action: string, body: unknown, timeout = '30', at = dir) {
  const file = join(at, `${randomUUID()}.json`);
  writeFileSync(file, typeof body === 'string' ? body : gson(body));
  const res = await run(exe, [action, file, timeout], {
    stdin: 'open',
    cwd: dir,
    timeoutMs: 40_000,
  });
  const text = res.merged.trim();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { code: res.code, text, json };
}

/**
 * What CloudStack's console proxy VM does with a `getconsole` answer: plain RFB 3.8 to host:port,
 * VNC Authentication with the password, ClientInit; answers the SecurityResult and, when it is
 * 0 (OK), the ServerInit's first 24 bytes. A refused connection answers 'refused'.
 */
function rfbLogin(
  host: string,
  port: number,
  password: string,
): Promise<{ result: number; serverInit?: Buffer } | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let buf = Buffer.alloc(0);
    let step = 0;
    let result = -1;
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err),
    );
    socket.on('close', () => resolve({ result }));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (step === 0 && buf.length >= 12) {
          expect(buf.subarray(0, 12).toString('latin1')).toBe('RFB 003.008\n');
          socket.write('RFB 003.008\n');
          buf = buf.subarray(12);
          step = 1;
        } else if (step === 1 && buf.length >= 1 && buf.length >= 1 + buf[0]) {
          expect([...buf.subarray(1, 1 + buf[0])]).toContain(2);
          socket.write(Buffer.from([2]));
          buf = buf.subarray(1 + buf[0]);
          step = 2;
        } else if (step === 2 && buf.length >= 16) {
          socket.write(vncAuthResponse(password, buf.subarray(0, 16)));
          buf = buf.subarray(16);
          step = 3;
        } else if (step === 3 && buf.length >= 4) {
          result = buf.readUInt32BE(0);
          buf = buf.subarray(4);
          if (result !== 0) return socket.destroy();
          socket.write(Buffer.from([1])); // ClientInit, shared
          step = 4;
        } else if (step === 4 && buf.length >= 24) {
          resolve({ result, serverInit: buf.subarray(0, 24) });
          return socket.destroy();
        } else return;
      }
    });
  });
}

type Ran = Awaited<ReturnType<typeof cs>>;

/** CloudStack's reading of a `status` run (parsePowerStateFromResponse): a failure, blank output,
 * or anything but PowerOn / PowerOff (any case) is PowerUnknown. */
function csPowerState(res: Ran): string {
  const named = (s: unknown): string =>
    typeof s === 'string' && /^poweron$/i.test(s)
      ? 'PowerOn'
      : typeof s === 'string' && /^poweroff$/i.test(s)
        ? 'PowerOff'
        : 'PowerUnknown';
  if (res.code !== 0 || !res.text) return 'PowerUnknown';
  if (!res.text.startsWith('{')) return named(res.text);
  try {
    return named(JSON.parse(res.text).power_state);
  } catch {
    return 'PowerUnknown';
  }
}

/** CloudStack's reading of a `getconsole` run (GetExternalConsoleAnswer): the console it hands
 * to the console proxy VM, or the error it reports. */
function csConsole(
  res: Ran,
): { host: string; port: number; password: string; oneTime: boolean; protocol: string } | string {
  if (res.code !== 0) return `Exit code: ${res.code}, Output: ${res.text}`;
  try {
    const c = JSON.parse(res.text).console;
    if (!c || typeof c !== 'object') return 'Missing console object in output';
    if (c.port !== undefined && !/^-?\d+$/.test(String(c.port))) return 'Failed to parse output'; // Integer.valueOf
    if (c.url === undefined && (c.host === undefined || c.port === undefined))
      return 'Missing required fields in output';
    return {
      host: String(c.host),
      port: Number(c.port),
      password: String(c.password),
      oneTime: c.passwordonetimeuseonly === true,
      protocol: String(c.protocol),
    };
  } catch {
    return 'Failed to parse output';
  }
}

function poolVm(name: string): { ref: string; rec: any } | undefined {
  for (const [ref, rec] of stack.sim.store.all('VM')) {
    if (rec.name_label === name && !rec.is_a_template && !rec.is_a_snapshot) return { ref, rec };
  }
  return undefined;
}

/** Each VIF of the VM by device: its MAC, and its network's VLAN tag (or the network uuid). */
function nicsOf(
  vmRef: string,
): Array<{ device: string; mac: string; vlan?: string; network: string }> {
  const rec = stack.sim.store.get('VM', vmRef) as { VIFs: string[] };
  return rec.VIFs.map((vifRef) => {
    const vif = stack.sim.store.get('VIF', vifRef) as any;
    const net = stack.sim.store.get('network', vif.network) as any;
    return { device: vif.device, mac: vif.MAC, vlan: net.other_config.xcd_vlan, network: net.uuid };
  }).sort((a, b) => Number(a.device) - Number(b.device));
}

/** Base VDIs of service images whose id starts with `prefix`. */
function imageVdis(prefix = 'cs-'): string[] {
  return [...stack.sim.store.all('VDI').values()]
    .map((r: any) => String(r.other_config?.xcd_image_id ?? ''))
    .filter((id) => id.startsWith(prefix));
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const gets = (path: string): number =>
  seen.filter((s) => s.method === 'GET' && s.url === path).length;
const urlTemplate = (path = '/images/disk.qcow2', more: Record<string, string> = {}) => ({
  url: `${base}${path}`,
  format: 'QCOW2',
  checksum: md5(qcow2),
  ...more,
});

test('a whole life: URL template imported once for two deploys, NICs on two VLANs, console, status, snapshot export, stop/start/reboot, delete', async () => {
  const a = payload('i-2-200-VM', {
    template: urlTemplate(),
    nics: [
      { uri: 'vlan://310', mac: '1E:00:A1:00:00:01' },
      { uri: 'vlan://320', mac: '1e:00:a1:00:00:02' },
    ],
    host: { export_url_allow: `${base}/exports/` },
  });
  const b = payload('i-2-201-VM', {
    template: urlTemplate(),
    nics: [{ uri: 'vlan://untagged', mac: '1e:00:a1:00:00:03' }],
  });
  expect(await cs('prepare', a)).toEqual({ code: 0, text: '', json: undefined });

  const created = await cs('create', a, '120');
  expect([created.code, created.json]).toEqual([
    0,
    { status: 'success', message: 'instance i-2-200-VM created' },
  ]);
  const vmA = poolVm('i-2-200-VM')!;
  expect(vmA.rec.power_state).toBe('Running');
  expect(vmA.rec.VCPUs_at_startup).toBe(2);
  expect(vmA.rec.memory_static_max).toBe(536870912);
  expect(nicsOf(vmA.ref).map(({ device, mac, vlan }) => ({ device, mac, vlan }))).toEqual([
    { device: '0', mac: '1e:00:a1:00:00:01', vlan: '310' },
    { device: '1', mac: '1e:00:a1:00:00:02', vlan: '320' },
  ]);
  expect(gets('/images/disk.qcow2')).toBe(1);

  expect((await cs('create', b, '120')).code).toBe(0);
  const vmB = poolVm('i-2-201-VM')!;
  expect(nicsOf(vmB.ref)).toEqual([
    { device: '0', mac: '1e:00:a1:00:00:03', vlan: undefined, network: network.uuid },
  ]);
  expect(gets('/images/disk.qcow2')).toBe(1); // the second deploy found the image cached
  expect(new Set(imageVdis())).toEqual(new Set([imageVdis()[0]]));
  expect(seen.some((s) => s.headers.authorization !== undefined)).toBe(false); // no token left the service

  expect((await cs('status', later(a))).json).toEqual({
    status: 'success',
    power_state: 'PowerOn',
  });

  const consoleRes = await cs('getconsole', later(a));
  expect(consoleRes.code).toBe(0);
  expect(consoleRes.json.console).toEqual({
    host: expect.any(String),
    port: expect.any(Number),
    password: expect.stringMatching(/^.{8}$/),
    passwordonetimeuseonly: true,
    protocol: 'vnc',
  });
  const proxied = csConsole(consoleRes);
  expect(proxied).toMatchObject({ oneTime: true, protocol: 'vnc' });
  const { host, port, password } = proxied as { host: string; port: number; password: string };
  const login = await rfbLogin(host, port, password);
  expect(login).toMatchObject({ result: 0 });
  expect((login as { serverInit: Buffer }).serverInit).toHaveLength(24); // the guest's screen, relayed
  const again = await rfbLogin(host, port, password); // the password worked once
  expect(again === 'refused' || again.result !== 0).toBe(true);

  const snap = await cs(
    'snapshot-create',
    later(a, {
      action: 'snapshot-create',
      parameters: { snapshot: 'cs-snap-1', name: 'before export' },
    }),
  );
  expect([snap.code, snap.json.message]).toEqual([
    0,
    { snapshot: 'cs-snap-1', name: 'before export' },
  ]);
  const direct = await fetch(
    `${stack.url}/v1/instances/i-2-200-VM/snapshots/cs-snap-1/disks/0/file?format=raw`,
    {
      headers: { authorization: `Bearer ${stack.tokens.admin}` },
    },
  );
  const disk = Buffer.from(await direct.arrayBuffer());
  expect(direct.status).toBe(200);

  const toUrl = await cs(
    'snapshot-export',
    later(a, {
      action: 'snapshot-export',
      parameters: { snapshot: 'cs-snap-1', url: `${base}/exports/cs-snap-1.raw` },
    }),
    '120',
  );
  expect(toUrl.code).toBe(0);
  expect(toUrl.json.message).toEqual({
    url: `${base}/exports/cs-snap-1.raw`,
    format: 'raw',
    bytes: disk.length,
    checksum: `sha256:${sha256(disk)}`,
  });
  const put = seen.find((s) => s.method === 'PUT' && s.url === '/exports/cs-snap-1.raw')!;
  expect(sha256(put.body)).toBe(sha256(disk));
  expect(put.headers.authorization).toBeUndefined();

  const toImage = await cs(
    'snapshot-export',
    later(a, {
      action: 'snapshot-export',
      parameters: { snapshot: 'cs-snap-1', image: 'export-1', format: 'raw' },
    }),
    '120',
  );
  expect(toImage.code).toBe(0);
  expect(toImage.json.message).toMatchObject({
    image: 'cs-2-export-1', // kept under the VM's account (2)
    checksum: `sha256:${sha256(disk)}`,
    virtual_size: disk.length,
  });
  expect((await stack.request('GET', '/v1/images/cs-2-export-1')).body).toMatchObject({
    status: 'active',
    checksum: `sha256:${sha256(disk)}`,
  });

  expect((await cs('stop', later(a))).code).toBe(0);
  expect(stack.sim.store.get('VM', vmA.ref).power_state).toBe('Halted');
  expect(csConsole(await cs('getconsole', later(a)))).toMatch(
    /^Exit code: 1, Output: .*invalid_power_state \(409\)/,
  );
  expect((await cs('status', later(a))).json).toEqual({
    status: 'success',
    power_state: 'PowerOff',
  });
  expect((await cs('stop', later(a))).code).toBe(0); // stopping a stopped VM succeeds
  expect((await cs('start', a)).code).toBe(0);
  expect(stack.sim.store.get('VM', vmA.ref).power_state).toBe('Running');
  expect((await cs('reboot', a)).code).toBe(0);
  expect(stack.sim.store.get('VM', vmA.ref).power_state).toBe('Running');

  const statuses = await cs('statuses', {
    externaldetails: { host: a.externaldetails.host },
    caller: a.caller,
  });
  expect(statuses.code).toBe(0);
  expect(statuses.json.power_state).toMatchObject({
    'i-2-200-VM': 'PowerOn',
    'i-2-201-VM': 'PowerOn',
  });

  for (const p of [a, b]) expect((await cs('delete', later(p))).code).toBe(0);
  expect(poolVm('i-2-200-VM')).toBeUndefined();
  expect(poolVm('i-2-201-VM')).toBeUndefined();
  expect((await cs('delete', later(a))).code).toBe(0); // already gone: still success
}, 180_000);

test('two deploys of a new URL template at once share one image', async () => {
  const template = urlTemplate('/images/twin.qcow2');
  const [a, b] = ['i-2-205-VM', 'i-2-206-VM'].map((name) => payload(name, { template, nics: [] }));
  const results = await Promise.all([cs('create', a, '120'), cs('create', b, '120')]);
  expect(results.map((r) => [r.code, r.json?.status])).toEqual([
    [0, 'success'],
    [0, 'success'],
  ]);
  const images = (await stack.request('GET', '/v1/images?limit=1000')).body.items.filter(
    (i: any) => i.status === 'active' && i.checksum === `sha256:${sha256(qcow2)}`,
  );
  expect(images).toHaveLength(2); // disk.qcow2's of the first test, and this one
  for (const p of [a, b]) {
    expect(poolVm(p.virtualmachinename)!.rec.power_state).toBe('Running');
    expect((await cs('delete', later(p))).code).toBe(0);
  }
}, 120_000);

test('NICs follow deviceId, whatever the list order; one image for each spelling of a checksum', async () => {
  const digest = sha256(qcow2);
  const path = '/images/other.qcow2';
  const before = gets(path);
  const first = payload('i-2-207-VM', {
    template: { url: `${base}${path}`, checksum: `{SHA-256}${digest.toUpperCase()}` }, // format from the suffix
    nics: [
      { uri: 'vlan://312', mac: '1e:00:a1:00:03:01' },
      { uri: 'vlan://311', mac: '1e:00:a1:00:03:02' },
    ],
  });
  const [nic0, nic1] = first['cloudstack.vm.details'].nics;
  [nic0.deviceId, nic1.deviceId] = [1, 0]; // CloudStack's list is not always in device order
  const second = payload('i-2-208-VM', {
    template: { url: `${base}${path}`, format: 'qcow2', checksum: `sha256:${digest}` },
    nics: [],
  });
  try {
    expect((await cs('create', first, '120')).code).toBe(0);
    expect(
      nicsOf(poolVm('i-2-207-VM')!.ref).map(({ device, mac, vlan }) => [device, mac, vlan]),
    ).toEqual([
      ['0', '1e:00:a1:00:03:02', '311'],
      ['1', '1e:00:a1:00:03:01', '312'],
    ]);
    expect((await cs('create', second, '120')).code).toBe(0);
    expect(gets(path)).toBe(before + 1);
  } finally {
    for (const p of [first, second]) expect((await cs('delete', later(p))).code).toBe(0);
  }
}, 120_000);

test('power states as CloudStack names them; a VM removed outside CloudStack reports missing', async () => {
  const p = payload('i-2-210-VM', { nics: [{ uri: 'vlan://untagged', mac: '1e:00:a1:00:01:01' }] });
  expect((await cs('create', p)).code).toBe(0);
  const admin = { token: stack.tokens.admin };
  const act = (body: unknown) =>
    stack.request('POST', '/v1/instances/i-2-210-VM/actions', {
      ...admin,
      body,
      headers: { prefer: 'wait=30' },
    });
  const status = async (): Promise<[string, string]> => {
    const res = await cs('status', later(p));
    return [res.json.power_state, csPowerState(res)];
  };
  expect(await status()).toEqual(['PowerOn', 'PowerOn']);
  // Paused and Suspended are off, as CloudStack's XenServer resource reads them.
  for (const [off, on] of [
    ['pause', 'unpause'],
    ['suspend', 'resume'],
  ]) {
    expect((await act({ action: off })).body.status).toBe('succeeded');
    expect(await status()).toEqual(['PowerOff', 'PowerOff']);
    expect((await act({ action: on })).body.status).toBe('succeeded');
    expect(await status()).toEqual(['PowerOn', 'PowerOn']);
  }

  // Removed behind CloudStack's back: `status` says so, `statuses` leaves it out.
  const gone = await stack.request('DELETE', '/v1/instances/i-2-210-VM', {
    ...admin,
    headers: { prefer: 'wait=30' },
  });
  expect(gone.body.status).toBe('succeeded');
  const missing = await cs('status', later(p));
  expect(missing.json).toEqual({ status: 'success', power_state: 'PowerReportMissing' });
  expect(csPowerState(missing)).toBe('PowerUnknown'); // 4.22 takes it as unknown, never as stopped
  const statuses = await cs('statuses', { externaldetails: { host: p.externaldetails.host } });
  expect(Object.keys(statuses.json.power_state)).not.toContain('i-2-210-VM');
  expect((await cs('start', p)).json).toEqual({
    status: 'error',
    error: 'instance i-2-210-VM does not exist',
  });
}, 60_000);

test("the service URL and token come from the operator's details only: a VM or template detail url reaches nothing", async () => {
  const spy = `${base}/spy`;
  const before = seen.length;
  const hostile = (
    name: string,
    template: Record<string, string>,
    host: Record<string, string> = {},
  ) => {
    const p = payload(name, { template, nics: [{ uri: 'vlan://untagged' }] });
    // A user's VM details: a `url`, `token_file`, `ca_file`, `network` and `sr` of their own.
    p.externaldetails.virtualmachine = {
      ...p.externaldetails.virtualmachine,
      url: spy,
      token: 'x',
      token_file: '/etc/shadow',
      network: 'xenbr9',
      sr: 'nope',
    };
    Object.assign(p['cloudstack.vm.details'].details, {
      'External:url': spy,
      'External:token_file': '/etc/shadow',
    });
    Object.assign(p.externaldetails.host, host);
    return p;
  };
  // With a pool template too, the VM's `url` makes two sources: refused before any call.
  const two = await cs('create', hostile('i-2-220-VM', { template: poolTemplate }));
  expect(two.code).toBe(1);
  expect(two.json.error).toMatch(/more than one source \(template, url\)/);
  // Without a host url the extension has no service at all, whatever the VM says.
  const noHost = hostile('i-2-221-VM', { template: poolTemplate });
  delete noHost.externaldetails.host.url;
  for (const action of ['status', 'getconsole', 'stop', 'delete']) {
    const res = await cs(action, later(noHost));
    expect([res.code, res.json.error]).toEqual([
      1,
      'no service url: add the host with externaldetails[0].url=...',
    ]);
  }
  // The VM's own url as its template source goes to the service, which refuses it (not allowed).
  const asSource = await cs(
    'create',
    payload('i-2-222-VM', { template: { url: spy, format: 'raw' }, nics: [] }),
  );
  expect(asSource.code).toBe(1);
  expect(asSource.json.error).toMatch(/^url_not_allowed \(400\)/);
  expect(seen.slice(before)).toEqual([]);
  for (const name of ['i-2-220-VM', 'i-2-221-VM', 'i-2-222-VM'])
    expect(poolVm(name)).toBeUndefined();
}, 60_000);

describe("bad input fails the action with CloudStack's JSON error and leaves nothing in the pool", () => {
  const networksBefore = (): number => stack.sim.store.all('network').size;

  test.each([
    ['an unreachable URL', () => urlTemplate('/images/missing.qcow2'), /^url_unreachable \(502\)/],
    [
      'a closed port',
      () => ({ url: `${closedBase}/disk.qcow2`, format: 'qcow2' }),
      /^url_unreachable \(502\)/,
    ],
    ['a URL not allowed', () => urlTemplate('/outside/disk.qcow2'), /^url_not_allowed \(400\)/],
    [
      'a checksum mismatch',
      () => urlTemplate('/images/other.qcow2', { checksum: `{SHA-256}${'0'.repeat(64)}` }),
      /^checksum_mismatch \(400\)/,
    ],
    [
      'a hostile URL (data, never a shell)',
      () => urlTemplate('/images/;touch+pwned;$(reboot).qcow2', { checksum: `${'1'.repeat(32)}` }),
      /^checksum_mismatch \(400\)/,
    ],
    [
      'a URL with a line break',
      () => urlTemplate('/images/disk.qcow2\ntouch pwned'),
      /is not a URL/,
    ],
    [
      'a URL with no format',
      () => ({ url: `${base}/images/disk` }),
      /needs the external detail format/,
    ],
    [
      'an unknown format',
      () => urlTemplate('/images/disk.qcow2', { format: 'OVA' }),
      /not one of raw, vhd, qcow2/,
    ],
    [
      'an unknown checksum',
      () => urlTemplate('/images/disk.qcow2', { checksum: '{SHA-1}abcd' }),
      /not an md5, sha256 or sha512/,
    ],
    ['no source', () => ({}), /names no source/],
  ])(
    '%s',
    async (_what, template, error) => {
      const name = `i-2-${Math.floor(Math.random() * 1e6)}-VM`;
      const images = imageVdis().length;
      const res = await cs(
        'create',
        payload(name, { template: template() as Record<string, string> }),
        '60',
      );
      expect([res.code, res.json?.status]).toEqual([1, 'error']);
      expect(res.json.error).toMatch(error);
      expect(poolVm(name)).toBeUndefined();
      expect(imageVdis().length).toBe(images);
      expect(existsSync(join(dir, 'pwned'))).toBe(false);
    },
    60_000,
  );

  test("a VLAN outside the service's range: vlan_not_allowed, no VM, no network", async () => {
    const nets = networksBefore();
    const res = await cs(
      'create',
      payload('i-2-230-VM', { nics: [{ uri: 'vlan://310' }, { uri: 'vlan://200' }] }),
    );
    expect([res.code, res.json.status]).toEqual([1, 'error']);
    expect(res.json.error).toMatch(/^vlan_not_allowed \(422\)/);
    expect(poolVm('i-2-230-VM')).toBeUndefined();
    expect(stack.sim.store.all('network').size).toBe(nets);
  });

  test.each([
    [
      'a broadcastUri of another kind',
      (p: any) => (p['cloudstack.vm.details'].nics[0].broadcastUri = 'vxlan://5000'),
      /neither vlan:\/\/N nor untagged/,
    ],
    [
      'a hostile MAC',
      (p: any) => (p['cloudstack.vm.details'].nics[0].mac = '1e:00:00:00:00:01;touch pwned'),
      /^invalid_request \(400\)/,
    ],
    ['no VM details', (p: any) => delete p['cloudstack.vm.details'], /no cloudstack.vm.details/],
    [
      'no VM name',
      (p: any) => (delete p.virtualmachinename, delete p['cloudstack.vm.details'].name),
      /names no virtual machine/,
    ],
    [
      'NICs not a list',
      (p: any) => (p['cloudstack.vm.details'].nics = { 0: 'x' }),
      /not a list of NICs/,
    ],
    [
      'an untagged NIC without a default network',
      (p: any) => (
        (p['cloudstack.vm.details'].nics[0].broadcastUri = 'vlan://untagged'),
        delete p.externaldetails.host.network
      ),
      /no default network/,
    ],
  ])('%s', async (_what, spoil, error) => {
    const p = payload('i-2-231-VM');
    spoil(p);
    const res = await cs('create', p);
    expect([res.code, res.json?.status]).toEqual([1, 'error']);
    expect(res.json.error).toMatch(error);
    expect(poolVm('i-2-231-VM')).toBeUndefined();
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  test('a payload that is not JSON or names no VM, an unknown action, a wrong token', async () => {
    const nameless = await cs('status', {
      externaldetails: { host: payload('x').externaldetails.host },
    });
    expect([nameless.code, nameless.json.error]).toEqual([
      1,
      'the payload names no virtual machine (virtualmachinename)',
    ]);
    expect(await cs('status', '{"virtualmachinename": ')).toMatchObject({
      code: 1,
      json: { status: 'error' },
    });
    expect(await cs('frobnicate', payload('i-2-232-VM'))).toMatchObject({
      code: 1,
      json: { error: 'Invalid action' },
    });
    const p = payload('i-2-232-VM');
    p.externaldetails.host.token = 'nope';
    const res = await cs('status', p);
    expect([res.code, res.json.error]).toEqual([1, expect.stringMatching(/^unauthorized \(401\)/)]);
  });
});

test('hostile VM names and payload paths reach the service as data, never as shell text', async () => {
  const canary = join(dir, 'pwned'); // the programs run in `dir`: a relative `touch pwned` lands here
  const name = `i-2-240-VM";$(touch pwned);\`touch pwned\`\n'x`;
  const oddDir = join(dir, `pay load $(touch pwned) ;'"`);
  mkdirSync(oddDir);
  const p = payload(name);
  const created = await cs('create', p, '30', oddDir);
  expect(created.code).toBe(0);
  expect(poolVm(name)?.rec.name_label).toBe(name); // kept byte for byte; the instance id falls back to the uuid
  expect((await cs('status', later(p), '30', oddDir)).json.power_state).toBe('PowerOn');
  expect((await cs('delete', later(p), '30', oddDir)).code).toBe(0);
  expect(poolVm(name)).toBeUndefined();
  expect(existsSync(canary)).toBe(false);
}, 30_000);

test('custom actions: NIC add/remove on VLANs, snapshots, resize, a service image as the template', async () => {
  const name = 'i-2-250-VM';
  const p = payload(name, { nics: [{ uri: 'vlan://310', mac: '1e:00:a1:00:02:01' }] });
  expect((await cs('create', p)).code).toBe(0);
  const vm = poolVm(name)!;
  try {
    const custom = (action: string, parameters: Record<string, unknown>) =>
      cs(action, later(p, { action, parameters }));
    // A NUMBER parameter of DECIMAL format: Gson writes the Double as 330.0.
    const decimal = gson(
      later(p, { action: 'nic-add', parameters: { vlan: 330, mac: '1E:00:A1:00:02:02' } }),
    ).replace('"vlan":330', '"vlan":330.0');
    expect(decimal).toContain('"vlan":330.0');
    const added = await cs('nic-add', decimal);
    expect(added.code).toBe(0);
    expect(added.json.message).toEqual([
      { device: '0', mac: '1e:00:a1:00:02:01', network: expect.any(String) },
      { device: '1', mac: '1e:00:a1:00:02:02', network: expect.any(String) },
    ]);
    expect((await custom('AddNic', { vlan: 'untagged', device: 3 })).code).toBe(0);
    expect(nicsOf(vm.ref).map(({ device, vlan }) => [device, vlan])).toEqual([
      ['0', '310'],
      ['1', '330'],
      ['3', undefined],
    ]);
    const hostile = await custom('nic-add', { vlan: '330; touch pwned', mac: '1e:00:a1:00:02:03' });
    expect([hostile.code, hostile.json.error]).toEqual([
      1,
      expect.stringMatching(/neither vlan:\/\/N nor untagged/),
    ]);
    const outside = await custom('nic-add', { vlan: 4000 });
    expect([outside.code, outside.json.error]).toEqual([
      1,
      expect.stringMatching(/^vlan_not_allowed \(422\)/),
    ]);
    expect(nicsOf(vm.ref)).toHaveLength(3);
    expect((await custom('nic-remove', { mac: '1e:00:a1:00:02:02' })).code).toBe(0);
    expect((await custom('nic-remove', { device: 3 })).code).toBe(0);
    expect(nicsOf(vm.ref).map((n) => n.device)).toEqual(['0']);
    expect((await custom('nic-remove', { mac: '1e:00:a1:00:02:09' })).json.error).toMatch(
      /no NIC with MAC/,
    );

    expect(
      (await custom('CreateSnapshot', { snapshot: 'cs-snap-2', name: 'before upgrade' })).code,
    ).toBe(0);
    const exported = await custom('ExportSnapshot', {
      snapshot: 'cs-snap-2',
      image: 'export-2',
      format: 'vhd',
    });
    expect([exported.code, exported.json.message.image]).toEqual([0, 'cs-2-export-2']);
    const listed = await custom('snapshot-list', {});
    expect(listed.json.message.map((s: any) => s.snapshot)).toEqual(['cs-snap-2']);
    const notAllowed = await custom('snapshot-export', {
      snapshot: 'cs-snap-2',
      url: 'http://169.254.169.254/latest',
    });
    expect([notAllowed.code, notAllowed.json.error]).toEqual([
      1,
      'the export URL is not allowed by the setting export_url_allow',
    ]);
    const twoTargets = await custom('snapshot-export', {
      snapshot: 'cs-snap-2',
      url: `${base}/exports/x`,
      image: 'x',
    });
    expect(twoTargets.json.error).toMatch(/exactly one of the parameters image and url/);
    expect((await custom('snapshot-revert', { snapshot: 'cs-snap-2' })).code).toBe(0);
    expect(poolVm(name)!.rec.power_state).toBe('Running');
    expect((await custom('snapshot-delete', { snapshot: 'cs-snap-2' })).code).toBe(0);

    const resized = await custom('resize', { cpus: 1, memory: 256, power_cycle: 'hard' });
    expect(resized.code).toBe(0);
    expect(poolVm(name)!.rec.memory_static_max).toBe(256 * 1024 * 1024);
  } finally {
    expect((await cs('delete', later(p))).code).toBe(0);
  }

  // The exported snapshot is a service image: a template of the same account may name it,
  // another account's may not (every account shares the extension's service namespace).
  const fromImage = payload('i-2-251-VM', { template: { image: 'cs-2-export-2' }, nics: [] });
  expect((await cs('create', fromImage)).code).toBe(0);
  expect(poolVm('i-2-251-VM')!.rec.power_state).toBe('Running');
  expect((await cs('delete', later(fromImage))).code).toBe(0);
  const stranger = payload('i-3-252-VM', { template: { image: 'cs-2-export-2' }, nics: [] });
  expect((await cs('create', stranger)).json).toEqual({
    status: 'error',
    error: 'image cs-2-export-2 belongs to another account',
  });
  expect(poolVm('i-3-252-VM')).toBeUndefined();
}, 90_000);

test('export to a URL the operator allows, with the setting export_url_allow; failed exports', async () => {
  const p = payload('i-2-260-VM', {
    nics: [],
    host: { export_url_allow: `${base}/exports/,${base}/refusing/` },
  });
  expect((await cs('create', p)).code).toBe(0);
  try {
    const custom = (action: string, parameters: Record<string, unknown>) =>
      cs(action, later(p, { action, parameters }));
    expect((await custom('snapshot-create', { snapshot: 's1' })).code).toBe(0);
    const res = await custom('snapshot-export', {
      snapshot: 's1',
      url: `${base}/exports/i-2-260.vhd`,
      format: 'vhd',
    });
    expect(res.code).toBe(0);
    const put = seen.find((s) => s.method === 'PUT' && s.url === '/exports/i-2-260.vhd')!;
    expect(res.json.message).toEqual({
      url: `${base}/exports/i-2-260.vhd`,
      format: 'vhd',
      bytes: put.body.length,
      checksum: `sha256:${sha256(put.body)}`,
    });
    expect(
      put.body.subarray(0, 8).toString('latin1') === 'conectix' ||
        put.body.subarray(-512, -504).toString('latin1') === 'conectix',
    ).toBe(true);
    const outside = await custom('snapshot-export', {
      snapshot: 's1',
      url: `${base}/elsewhere/x.vhd`,
    });
    expect(outside.json.error).toBe(
      'the export URL is not allowed by the setting export_url_allow',
    );
    const refused = await custom('snapshot-export', {
      snapshot: 's1',
      url: `${base}/refusing/x`,
      format: 'vhd',
    });
    expect([refused.code, refused.json.error]).toEqual([
      1,
      'the export URL refused the disk: Not Found',
    ]);
    const credentials = await custom('snapshot-export', {
      snapshot: 's1',
      url: `http://user:pw@127.0.0.1/exports/x`,
    });
    expect(credentials.json.error).toMatch(/^the export URL must be a plain http\(s\) URL/);
    const images = imageVdis().length;
    // The pool template's disk (GiBs) in raw does not fit a 3 s action: the relay is cut off
    // at the deadline with an answer, and the service undoes the half-received image.
    const late = await cs(
      'snapshot-export',
      later(p, { action: 'snapshot-export', parameters: { snapshot: 's1', image: 'too-big' } }),
      '3',
    );
    expect([late.code, late.json?.error]).toEqual([
      1,
      expect.stringMatching(/^the export did not finish within the action's timeout/),
    ]);
    for (let i = 0; i < 100 && imageVdis('cs-2-too-big').length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(imageVdis('cs-2-too-big')).toEqual([]);
    const noSnapshot = await custom('snapshot-export', { snapshot: 's9', image: 'nope' });
    expect([noSnapshot.code, noSnapshot.json.error]).toEqual([
      1,
      expect.stringMatching(/^snapshot_not_found \(404\)/),
    ]);
    const badName = await custom('snapshot-export', { snapshot: 's1', image: '../x; rm' });
    expect(badName.json.error).toBe("not an image name: '../x; rm'");
    expect(imageVdis().length).toBe(images);
    expect((await stack.request('GET', '/v1/images/cs-2-nope')).status).toBe(404);
  } finally {
    expect((await cs('delete', later(p))).code).toBe(0);
  }
}, 60_000);
