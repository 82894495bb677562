// The OpenNebula datastore (datastore/xcd) and transfer manager (tm/xcd) drivers with the VMM,
// driven exactly as OpenNebula 7 runs them: one_datastore.rb runs `<action> <image or ds id>`
// with the Base64 DS_DRIVER_ACTION_DATA on stdin and reads stdout ("SOURCE FORMAT" for cp and
// clone, SOURCE for mkfs, MB for stat, USED_MB/TOTAL_MB/FREE_MB for monitor); one_tm.rb runs a
// transfer file's line as argv, without stdin; one_vmm_exec.rb runs the VMM actions with argv +
// `<vmid> <host>` and one Base64 line on stdin. Checks the simulated pool after each step.
// Must not: use a shell, or relax what it expects after probing the service.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readIso } from '../driver/iso-reader';
import { startStack, type Stack } from '../helpers/stack';
import {
  HOST,
  IMAGE_DS,
  SYSTEM_DS,
  actionData,
  b64,
  cdata,
  oneDrivers,
  sysDir,
  type OneDrivers,
  type VmSpec,
} from './opennebula-drivers';

const GiB = 1024 ** 3;

let stack: Stack;
let dir: string;
let one: OneDrivers;
let env: Record<string, string>;
let network: { uuid: string; bridge: string };
let files: Server;
let filesUrl: string;
/** The small real qcow2 image the life starts from: 16 MiB virtual, a little data written. */
let qcow2: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xcd-one-ds-'));
  qcow2 = join(dir, 'debian.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '16M']);
  // a web server the service may download images from (its --image-url-allow prefix)
  // (under /slow/, in 16 pieces 400 ms apart: a download the service is still at after 5 s)
  files = createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '/');
    const slow = url.startsWith('/slow/');
    const path = join(dir, url.slice(slow ? 6 : 1));
    if (!existsSync(path)) return void res.writeHead(404).end();
    const body = readFileSync(path);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': body.length,
    });
    if (!slow || req.headers.range) return void res.end(body);
    const piece = Math.ceil(body.length / 16);
    const next = (i: number): void => {
      if (i * piece >= body.length) return void res.end();
      res.write(body.subarray(i * piece, (i + 1) * piece));
      setTimeout(() => next(i + 1), 400);
    };
    next(0);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/`;
  stack = await startStack({
    driver: { vlans: { device: 'eth1', min: 300, max: 399 }, imageUrlAllow: [filesUrl] },
  });
  network = (await stack.request('GET', '/v1/networks')).body.items[0];
  env = { XCD_URL: stack.url, XCD_TOKEN: stack.tokens.admin, XCD_CONFIG: join(dir, 'none') };
  one = oneDrivers(dir, () => env);
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => files?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const exec = (file: string, args: string[], stdin?: string) => one.exec(file, args, stdin);
const ds = (
  action: string,
  id: number,
  image: Record<string, string | number>,
  template?: Record<string, string>,
) => one.ds(action, id, image, template);
const tm = (line: string) => one.tm(line);
const vmm = (action: string, args: string[], vm: VmSpec, stdinXml?: string) =>
  one.vmm(action, args, vm, stdinXml);
const deploy = (vm: VmSpec, contextSh?: string) => one.deploy(vm, contextSh);

const imageDisk = (diskId: number, imageId: number, sizeMb: number) => ({
  DISK_ID: diskId,
  IMAGE_ID: imageId,
  SOURCE: `one-image-${imageId}`,
  TM_MAD: 'xcd',
  CLONE: 'YES',
  DATASTORE_ID: IMAGE_DS,
  TYPE: 'FILE',
  FORMAT: 'qcow2',
  SIZE: sizeMb,
  TARGET: `xvd${'abcdefgh'[diskId]}`,
});
const volatileDisk = (diskId: number, sizeMb: number) => ({
  DISK_ID: diskId,
  TYPE: 'fs',
  FORMAT: 'raw',
  SIZE: sizeMb,
  TARGET: `xvd${'abcdefgh'[diskId]}`,
});

function poolVm(name: string): { ref: string; rec: any } | undefined {
  for (const [ref, rec] of stack.sim.store.all('VM'))
    if (rec.name_label === name && !rec.is_a_template && !rec.is_a_snapshot) return { ref, rec };
  return undefined;
}

/** The VM's disks by device: [userdevice, type, virtual size, VDI uuid]. */
function vbds(vmRef: string) {
  const store = stack.sim.store;
  return (store.get('VM', vmRef).VBDs as string[])
    .map((r) => store.get('VBD', r) as any)
    .map((b) => {
      const vdi = b.VDI === 'OpaqueRef:NULL' ? undefined : (store.get('VDI', b.VDI) as any);
      return {
        device: b.userdevice as string,
        type: b.type as string,
        size: Number(vdi?.virtual_size ?? 0),
        vdi,
      };
    })
    .sort((a, b) => Number(a.device) - Number(b.device));
}

/** Everything the service made that is still in the pool: tagged VDIs, VMs, snapshots, images. */
async function leftovers() {
  const vdis = [...stack.sim.store.all('VDI').values()].filter((r: any) =>
    Object.keys(r.other_config ?? {}).some((k) => k.startsWith('xcd_')),
  );
  const vms = [...stack.sim.store.all('VM').values()].filter(
    (r: any) => r.other_config?.xcd_instance_id,
  );
  const images = (await stack.request('GET', '/v1/images')).body.items;
  return { vdis: vdis.length, vms: vms.length, images: images.map((i: any) => i.id) };
}
const EMPTY = { vdis: 0, vms: 0, images: [] };

const mbOf = (bytes: number) => Math.ceil(bytes / 1024 ** 2);

test('a whole life: image cp, deploy from its DISKs, resize, hot-attach, save-as, terminate, rm', async () => {
  const size = Number(
    JSON.parse(execFileSync('qemu-img', ['info', '--output=json', qcow2]).toString())[
      'virtual-size'
    ],
  );
  const image = { ID: 7, NAME: 'debian', PATH: qcow2, SIZE: 0, TYPE: 'OS' };

  // STAT then CP: the size in MB, then "SOURCE FORMAT"; progress as INFO lines
  const st = await ds('stat', 7, image);
  expect(st).toMatchObject({ code: 0, stdout: `${mbOf(size)}\n` });
  const cp = await ds('cp', 7, { ...image, SIZE: mbOf(size) });
  expect(cp).toMatchObject({ code: 0, stdout: 'one-image-7 qcow2\n', info: '' });
  expect(cp.logs).toContain('INFO: one-image-7 upload: 100% (0 of 0 MiB)');
  const imported = (await stack.request('GET', '/v1/images/one-image-7')).body;
  expect(imported).toMatchObject({
    status: 'active',
    format: 'qcow2',
    name: 'debian',
    virtual_size: size,
  });

  // MONITOR of the image datastore and of the system datastore (tm/xcd/monitor): the SR's space
  const sr = (await stack.request('GET', '/v1/srs')).body.items.find((s: any) => s.default);
  for (const mon of [
    await ds('monitor', IMAGE_DS, {}),
    await exec(
      join(one.remotes, 'tm', 'xcd', 'monitor'),
      [String(SYSTEM_DS)],
      b64(
        '<DS_DRIVER_ACTION_DATA><DATASTORE><ID>0</ID><TEMPLATE/></DATASTORE></DS_DRIVER_ACTION_DATA>',
      ),
    ),
  ]) {
    expect(mon.code).toBe(0);
    expect(mon.stdout).toBe(
      `USED_MB=${sr.used_gb * 1024}\nTOTAL_MB=${sr.size_gb * 1024}\nFREE_MB=${sr.free_gb * 1024}\n`,
    );
  }

  // PROLOG (the transfer file oned writes) then DEPLOY: image DISK 0, volatile DISK 1, CONTEXT
  // as disk 2, a NIC on a bridge and one on VLAN 330
  const vm: VmSpec = {
    id: 50,
    name: 'web-50',
    disks: [imageDisk(0, 7, 2048), volatileDisk(1, 1024)],
    nics: [
      { NIC_ID: 0, BRIDGE: network.bridge, MAC: '02:00:0a:00:00:32' },
      { NIC_ID: 1, BRIDGE: 'onebr.330', VLAN_ID: 330, MAC: '02:00:0a:00:01:32', VN_MAD: '802.1Q' },
    ],
    context: {
      DISK_ID: '2',
      NETWORK: 'YES',
      TARGET: 'hda',
      SSH_PUBLIC_KEY: 'ssh-ed25519 AAAA x@y',
    },
  };
  for (const line of [
    `CLONE xcd one-frontend:one-image-7 ${sysDir(50)}/disk.0 50 ${IMAGE_DS}`,
    `MKIMAGE xcd 1024 raw ${sysDir(50)}/disk.1 50 ${SYSTEM_DS}`,
    `CONTEXT xcd ${join(dir, 'vms', '50', 'context.sh')} ${sysDir(50)}/disk.2 50 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
  expect(poolVm('web-50')).toBeUndefined(); // the prolog builds nothing: deploy does
  const contextSh =
    "# Context variables generated by OpenNebula\nDISK_ID='2'\nETH0_IP='10.0.0.50'\n" +
    "NETWORK='YES'\nSSH_PUBLIC_KEY='ssh-ed25519 AAAA x@y'\nMOTD='it'\\''s $(not) `run`'\nTARGET='hda'\n";
  const dep = await deploy(vm, contextSh);
  expect(dep).toMatchObject({ code: 0, stdout: 'one-50\n' });
  const made = poolVm('web-50')!;
  expect(made.rec.power_state).toBe('Running');
  const disks = vbds(made.ref);
  expect(disks.map((d) => [d.device, d.type])).toEqual([
    ['0', 'Disk'],
    ['1', 'CD'],
    ['2', 'Disk'],
  ]);
  expect(disks[0]!.size).toBe(2 * GiB); // the image's clone, grown to the DISK's SIZE
  expect((await stack.request('GET', '/v1/instances/one-50')).body.template).toBe(
    'image-id:one-image-7',
  );
  expect(disks[2]!.size).toBe(1 * GiB);
  const cd = await fetch(`${stack.sim.url}/export_raw_vdi?vdi=${disks[1]!.vdi.uuid}`, {
    headers: {
      authorization: `Basic ${Buffer.from(`${stack.sim.user}:${stack.sim.password}`).toString('base64')}`,
    },
  });
  const meta = JSON.parse(
    readIso(Buffer.from(await cd.arrayBuffer()))
      .files.get('openstack/latest/meta_data.json')!
      .toString(),
  );
  expect(meta).toMatchObject({
    meta: { ETH0_IP: '10.0.0.50', MOTD: "it's $(not) `run`", NETWORK: 'YES' },
    public_keys: { 'one-0': 'ssh-ed25519 AAAA x@y' },
  });
  const vlanOf = (vifRef: string) =>
    (stack.sim.store.get('network', stack.sim.store.get('VIF', vifRef).network as string) as any)
      .other_config.xcd_vlan;
  expect((made.rec.VIFs as string[]).map(vlanOf)).toEqual([undefined, '330']);

  // RESIZE within VCPU_MAX / MEMORY_MAX: live, same domain
  const domid = made.rec.domid;
  vm.vcpu = 2;
  vm.memory = 1024;
  expect(await vmm('resize', ['one-50'], vm)).toMatchObject({ code: 0, stdout: '' });
  const resized = poolVm('web-50')!.rec;
  expect([
    resized.power_state,
    resized.domid,
    Number(resized.VCPUs_at_startup),
    Number(resized.memory_dynamic_max),
  ]).toEqual(['Running', domid, 2, 1024 * 1024 ** 2]);

  // ATTACHDISK of a volatile disk (TM mkimage, then attach_disk) and of the image (TM clone)
  for (const [disk, line] of [
    [volatileDisk(3, 2048), `MKIMAGE xcd 2048 raw ${sysDir(50)}/disk.3 50 ${SYSTEM_DS}`],
    [
      imageDisk(4, 7, 1024),
      `CLONE xcd one-frontend:one-image-7 ${sysDir(50)}/disk.4 50 ${IMAGE_DS}`,
    ],
  ] as const) {
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
    const attaching: VmSpec = { ...vm, disks: [...vm.disks, { ...disk, ATTACH: 'YES' }] };
    const data = actionData(attaching, 'one-50');
    const r = await vmm(
      'attach_disk',
      [
        'one-50',
        `/var/lib/one/datastores/0/50/disk.${disk.DISK_ID}`,
        disk.TARGET,
        String(disk.DISK_ID),
        b64(data),
      ],
      attaching,
      data,
    );
    expect(r).toMatchObject({ code: 0, stdout: '' });
    vm.disks.push(disk);
  }
  const attached = vbds(made.ref);
  expect(attached.map((d) => [d.device, d.type, d.size])).toEqual([
    ['0', 'Disk', 2 * GiB],
    ['1', 'CD', attached[1]!.size],
    ['2', 'Disk', 1 * GiB],
    ['4', 'Disk', 2 * GiB],
    ['5', 'Disk', 1 * GiB],
  ]);
  expect(attached[4]!.vdi.other_config.xcd_from_image).toBe('one-image-7');

  // disk RESIZE: TM resize grows it (live), then the VMM's resize_disk
  expect(await tm(`RESIZE xcd ${sysDir(50)}/disk.1 3072 50 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
  });
  vm.disks[1]!.SIZE = 3072;
  expect(
    await vmm('resize_disk', ['one-50', '1', '3072', b64(actionData(vm, 'one-50')), HOST], vm),
  ).toMatchObject({ code: 0, stdout: '' });
  expect(vbds(made.ref).find((d) => d.device === '2')!.size).toBe(3 * GiB);

  // disk-saveas (hot): DS mkfs of an image with FORMAT save_as names it, TM cpds fills it
  const mkfs = await ds('mkfs', 8, {
    ID: 8,
    NAME: 'web-50 root',
    FORMAT: 'save_as',
    SIZE: 2048,
    TYPE: 'OS',
  });
  expect(mkfs).toMatchObject({ code: 0, stdout: 'one-image-8\n' });
  const cpds = await tm(`CPDS xcd ${sysDir(50)}/disk.0 one-image-8 -1 50 ${SYSTEM_DS}`);
  expect(cpds).toMatchObject({ code: 0, stdout: '', info: '' });
  expect((await stack.request('GET', '/v1/images/one-image-8')).body).toMatchObject({
    status: 'active',
    format: 'vhd',
    virtual_size: 2 * GiB,
  });
  expect((await stack.request('GET', '/v1/instances/one-50/snapshots')).body.items).toEqual([]);

  // DETACHDISK: attach_disk's counterpart, then TM delete of that disk
  const detaching: VmSpec = {
    ...vm,
    disks: vm.disks.map((d) => (d.DISK_ID === 3 ? { ...d, ATTACH: 'YES' } : d)),
  };
  expect(
    await vmm(
      'detach_disk',
      ['one-50', '/var/lib/one/datastores/0/50/disk.3', 'xvdd', '3'],
      detaching,
    ),
  ).toMatchObject({ code: 0 });
  expect(await tm(`DELETE xcd ${sysDir(50)}/disk.3 50 ${SYSTEM_DS}`)).toMatchObject({ code: 0 });
  expect(vbds(made.ref).map((d) => d.device)).toEqual(['0', '1', '2', '5']);

  // terminate: SHUTDOWN (LCM_STATE SHUTDOWN), then the epilog's DELETE lines
  expect(await vmm('shutdown', ['one-50', HOST], { ...vm, lcm: 12 })).toMatchObject({ code: 0 });
  for (const line of [
    `DELETE xcd ${sysDir(50)}/disk.0 50 ${IMAGE_DS}`,
    `DELETE xcd ${sysDir(50)}/disk.1 50 ${SYSTEM_DS}`,
    `DELETE xcd ${sysDir(50)} 50 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0 });
  expect(poolVm('web-50')).toBeUndefined();

  // the images go with RM: nothing of the life is left
  for (const id of [8, 7])
    expect(await ds('rm', id, { ID: id, SOURCE: `one-image-${id}` })).toMatchObject({
      code: 0,
      stdout: '',
    });
  expect(await leftovers()).toEqual(EMPTY);
}, 120_000);

test('cp from an http(s) URL: the service downloads it; a URL off its allow-list is refused', async () => {
  const url = `${filesUrl}debian.qcow2`;
  const image = { ID: 20, NAME: 'from-url', PATH: url, SIZE: 16, TYPE: 'OS' };
  expect(await ds('stat', 20, image)).toMatchObject({ code: 0, stdout: '16\n' });
  expect(await ds('cp', 20, image)).toMatchObject({ code: 0, stdout: 'one-image-20 qcow2\n' });
  expect((await stack.request('GET', '/v1/images/one-image-20')).body).toMatchObject({
    status: 'active',
    format: 'qcow2',
    name: 'from-url',
  });

  // DS clone (oneimage clone): the copy travels as VHD; export writes a staging file
  const clone = await ds('clone', 21, {
    ID: 21,
    NAME: 'copy',
    PATH: 'one-image-20',
    SIZE: 16,
    CLONING_ID: 20,
  });
  expect(clone).toMatchObject({ code: 0, stdout: 'one-image-21 vhd\n' });
  expect((await stack.request('GET', '/v1/images/one-image-21')).body).toMatchObject({
    status: 'active',
    format: 'vhd',
    virtual_size: 16 * 1024 ** 2,
  });
  const exp = await ds(
    'export',
    21,
    { ID: 21, SOURCE: 'one-image-21', SIZE: 16 },
    { STAGING_DIR: dir },
  );
  expect(exp.code).toBe(0);
  const importSource = /<IMPORT_SOURCE><!\[CDATA\[([^\]]+)\]\]>/.exec(exp.stdout)![1]!;
  expect(importSource.startsWith(join(dir, 'xcd-export-'))).toBe(true);
  expect(exp.stdout).toContain(
    `<DISPOSE>YES</DISPOSE><DISPOSE_CMD><![CDATA[rm -f ${importSource}]]></DISPOSE_CMD>`,
  );
  const md5 = /<MD5><!\[CDATA\[([0-9a-f]{32})\]\]>/.exec(exp.stdout)![1];
  expect(md5).toBe(createHash('md5').update(readFileSync(importSource)).digest('hex'));
  expect(readFileSync(importSource).subarray(-512, -504).toString()).toBe('conectix'); // a VHD footer
  rmSync(importSource);

  // a DATABLOCK made empty by mkfs (SIZE MB)
  expect(
    await ds('mkfs', 22, { ID: 22, NAME: 'data', FORMAT: 'raw', SIZE: 8, TYPE: 'DATABLOCK' }),
  ).toMatchObject({ code: 0, stdout: 'one-image-22\n' });
  expect((await stack.request('GET', '/v1/images/one-image-22')).body).toMatchObject({
    status: 'active',
    virtual_size: 8 * 1024 ** 2,
  });

  // a download the service takes a while over: its progress as INFO lines
  const slow = await ds('cp', 24, {
    ID: 24,
    NAME: 'slow',
    PATH: `${filesUrl}slow/debian.qcow2`,
    SIZE: 16,
  });
  expect(slow).toMatchObject({ code: 0, stdout: 'one-image-24 qcow2\n' });
  expect(
    slow.logs.filter((l) => /^INFO: one-image-24 download: \d+%$/.test(l)).length,
  ).toBeGreaterThan(0);

  const off = await ds('cp', 23, {
    ID: 23,
    NAME: 'off-list',
    PATH: url.replace('127.0.0.1', 'localhost'),
    SIZE: 16,
  });
  expect(off.code).toBe(1);
  expect(off.logs.some((l) => l.startsWith('ERROR: cp 23: url_not_allowed (400)'))).toBe(true);
  expect(off.info).toMatch(/^cp: url_not_allowed/);

  for (const id of [20, 21, 22, 24])
    expect(await ds('rm', id, { ID: id, SOURCE: `one-image-${id}` })).toMatchObject({ code: 0 });
  expect(await ds('rm', 21, { ID: 21, SOURCE: 'one-image-21' })).toMatchObject({ code: 0 }); // gone already
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);

test('bad images fail with ERROR lines and leave nothing: missing, a directory, vmdk, larger than the SR', async () => {
  const vmdk = join(dir, 'disk.vmdk');
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', vmdk, '16M']);
  const huge = join(dir, 'huge.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', huge, '64T']);
  const gz = join(dir, 'debian.qcow2.gz');
  writeFileSync(gz, gzipSync(readFileSync(qcow2)));
  const cases: Array<[string, RegExp]> = [
    [join(dir, 'missing.qcow2'), /^cp: no image file at /],
    [dir, /^cp: no image file at /],
    [vmdk, /^cp: the image is vmdk; the pool takes raw, qcow2, vhd$/],
    [gz, /^cp: the image is gzip-compressed; the pool takes raw, qcow2, vhd$/],
    [huge, /^cp: insufficient_storage \(507\)/],
  ];
  for (const [path, reason] of cases) {
    const r = await ds('cp', 30, { ID: 30, NAME: 'bad', PATH: path, SIZE: 16 });
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.logs.some((l) => l.startsWith('ERROR: cp 30: '))).toBe(true);
    expect(r.info).toMatch(reason);
  }
  const st = await ds('stat', 30, { ID: 30, PATH: vmdk });
  expect(st).toMatchObject({ code: 1, stdout: '' });
  expect(await ds('cp', 30, { ID: 30, NAME: 'no path' })).toMatchObject({
    code: 1,
    info: 'cp: the image has no PATH',
  });
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);

test('what the xcd TM refuses: bad snapshot ids, CONTEXT files, images it lacks', async () => {
  const refusals: Array<[string, RegExp]> = [
    [
      `LN xcd one-frontend:one-image-404 ${sysDir(60)}/disk.1 60 ${IMAGE_DS}`,
      /^ln: the service has no image one-image-404$/,
    ],
    [
      `MVDS xcd ${sysDir(60)}/disk.1 one-image-404 60 ${IMAGE_DS}`,
      /^mvds: the service has no image one-image-404$/,
    ],
    [
      `SNAP_CREATE xcd ${sysDir(60)}/disk.0 x 60 ${SYSTEM_DS}`,
      /^snap_create: not a disk snapshot id: 'x'$/,
    ],
    [
      `SNAP_REVERT xcd ${sysDir(60)}/disk.0 0 60 ${SYSTEM_DS}`,
      /^snap_revert: instance_not_found \(404\)/,
    ],
    [
      `CONTEXT xcd /var/lib/one/vms/60/context.sh /srv/init.sh ${sysDir(60)}/disk.1 60 ${SYSTEM_DS}`,
      /^context: CONTEXT FILES/,
    ],
    [
      `CLONE xcd one-frontend:one-image-404 ${sysDir(60)}/disk.0 60 ${IMAGE_DS}`,
      /^clone: the service has no image one-image-404$/,
    ],
    [
      `CLONE xcd one-frontend:/var/lib/one/datastores/1/abc ${sysDir(60)}/disk.0 60 ${IMAGE_DS}`,
      /^clone: not an image of an xcd datastore/,
    ],
    [`MKIMAGE xcd 0 raw ${sysDir(60)}/disk.1 60 ${SYSTEM_DS}`, /^mkimage: a disk of 0 MB$/],
    [
      `CPDS xcd ${sysDir(60)}/disk.0 one-image-9 3 60 ${SYSTEM_DS}`,
      /^cpds: instance_not_found \(404\)/,
    ],
  ];
  for (const [line, reason] of refusals) {
    const r = await tm(line);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.info).toMatch(reason);
  }
  // migrations and undeploy's MV move nothing: the pool's hosts share its storage
  for (const line of [
    `PREMIGRATE xcd xen01 xen02 /var/lib/one/datastores/0/60 60 ${SYSTEM_DS}`,
    `POSTMIGRATE xcd xen01 xen02 /var/lib/one/datastores/0/60 60 ${SYSTEM_DS}`,
    `MV xcd ${sysDir(60)}/disk.0 one-frontend:/var/lib/one/datastores/0/60/disk.0 60 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
});

test('a deploy that fails leaves nothing: a VLAN outside the range, an image the service lacks', async () => {
  expect(await ds('cp', 40, { ID: 40, NAME: 'base', PATH: qcow2, SIZE: 16 })).toMatchObject({
    code: 0,
  });
  const base = { id: 61, disks: [imageDisk(0, 40, 1024)] };
  const outside = await deploy({
    ...base,
    nics: [{ NIC_ID: 0, BRIDGE: 'onebr.500', VLAN_ID: 500, MAC: '02:00:0a:00:00:3d' }],
  });
  expect(outside).toMatchObject({ code: 1, stdout: '' });
  expect(outside.info).toMatch(/^deploy: vlan_not_allowed \(422\)/);
  // the second disk's image is missing: the spawned instance is removed again
  const missing = await deploy({
    ...base,
    disks: [imageDisk(0, 40, 1024), imageDisk(1, 41, 1024)],
  });
  expect(missing).toMatchObject({ code: 1, stdout: '' });
  expect(missing.info).toMatch(/^deploy: image_not_found \(404\)/);
  expect(poolVm('vm-61')).toBeUndefined();
  expect(await ds('rm', 40, { ID: 40, SOURCE: 'one-image-40' })).toMatchObject({ code: 0 });
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);

test('poweroff: disks attached and detached while off, the next deploy, terminate while off', async () => {
  expect(await ds('cp', 42, { ID: 42, NAME: 'base', PATH: qcow2, SIZE: 16 })).toMatchObject({
    code: 0,
  });
  const vm: VmSpec = { id: 62, disks: [imageDisk(0, 42, 1024), volatileDisk(1, 1024)] };
  expect(await deploy(vm)).toMatchObject({ code: 0, stdout: 'one-62\n' });
  const ref = poolVm('vm-62')!.ref;
  expect(await vmm('shutdown', ['one-62', HOST], { ...vm, lcm: 18 })).toMatchObject({ code: 0 }); // poweroff
  // disk-attach while POWEROFF runs the TM only; disk-detach while POWEROFF runs TM delete only
  expect(await tm(`MKIMAGE xcd 2048 raw ${sysDir(62)}/disk.2 62 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
  });
  vm.disks.push(volatileDisk(2, 2048));
  expect(await tm(`DELETE xcd ${sysDir(62)}/disk.1 62 ${SYSTEM_DS}`)).toMatchObject({ code: 0 });
  vm.disks.splice(1, 1);
  expect(vbds(ref).map((d) => d.device)).toEqual(['0']);
  expect(await deploy(vm)).toMatchObject({ code: 0, stdout: 'one-62\n' });
  expect(vbds(ref).map((d) => [d.device, d.size])).toEqual([
    ['0', GiB],
    ['3', 2 * GiB],
  ]);
  expect(poolVm('vm-62')!.rec.power_state).toBe('Running');
  // terminate while powered off: no VMM action, the epilog deletes each disk, then the directory
  expect(await vmm('shutdown', ['one-62', HOST], { ...vm, lcm: 18 })).toMatchObject({ code: 0 });
  for (const line of [
    `DELETE xcd ${sysDir(62)}/disk.0 62 ${IMAGE_DS}`,
    `DELETE xcd ${sysDir(62)}/disk.2 62 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
  expect(vbds(ref).map((d) => d.device)).toEqual(['0']); // the root goes with the instance
  expect(await tm(`DELETE xcd ${sysDir(62)} 62 ${SYSTEM_DS}`)).toMatchObject({ code: 0 });
  expect(poolVm('vm-62')).toBeUndefined();
  expect(await ds('rm', 42, { ID: 42, SOURCE: 'one-image-42' })).toMatchObject({ code: 0 });
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);

test('disk snapshots: snap_create_live, snap_create, snap_revert, snap_delete as one_tm runs them', async () => {
  expect(await ds('cp', 45, { ID: 45, NAME: 'base', PATH: qcow2, SIZE: 16 })).toMatchObject({
    code: 0,
  });
  const vm: VmSpec = { id: 64, disks: [imageDisk(0, 45, 1024), volatileDisk(1, 1024)] };
  expect(await deploy(vm)).toMatchObject({ code: 0, stdout: 'one-64\n' });
  const ref = poolVm('vm-64')!.ref;
  const vdiAt = (dev: string) => vbds(ref).find((d) => d.device === dev)!.vdi;
  const write = (dev: string, text: string) =>
    stack.xapi.httpPut(
      '/import_raw_vdi',
      { vdi: stack.sim.store.byUuid('VDI', vdiAt(dev).uuid)! },
      Buffer.from(text),
    );
  const read = (dev: string) =>
    readFileSync(stack.sim.vdiContent(vdiAt(dev).uuid))
      .subarray(0, 3)
      .toString();
  const snaps = async (dev: string) =>
    (await stack.request('GET', `/v1/instances/one-64/disks/${dev}/snapshots`)).body.items.map(
      (s: any) => s.id,
    );

  // RUNNING: one_vmm_exec's disk_snapshot_create runs the TM_COMMAND as SNAP_CREATE_LIVE
  await write('2', 'one');
  const live = `SNAP_CREATE_LIVE xcd ${sysDir(64)}/disk.1 0 64 ${SYSTEM_DS}`;
  expect(await tm(live)).toMatchObject({ code: 0, stdout: '', logs: [] });
  expect(await tm(live)).toMatchObject({ code: 0, stdout: '' }); // a retry: the same snapshot
  await write('2', 'two');
  expect(await tm(`SNAP_CREATE_LIVE xcd ${sysDir(64)}/disk.1 1 64 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
  });
  expect(await snaps('2')).toEqual(['0', '1']);
  expect((await stack.request('GET', '/v1/instances/one-64/snapshots')).body.items).toEqual([]);
  // disk-saveas --snapshot 0: DS mkfs names the image, TM cpds streams that snapshot into it
  expect(
    await ds('mkfs', 47, { ID: 47, NAME: 'disk 1 at 0', FORMAT: 'save_as', SIZE: 1024 }),
  ).toMatchObject({ code: 0, stdout: 'one-image-47\n' });
  expect(await tm(`CPDS xcd ${sysDir(64)}/disk.1 one-image-47 0 64 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
    stdout: '',
    info: '',
  });
  expect((await stack.request('GET', '/v1/images/one-image-47')).body).toMatchObject({
    status: 'active',
    format: 'vhd',
    virtual_size: GiB,
  });
  const saved = await fetch(`${stack.url}/v1/images/one-image-47/file?format=raw`, {
    headers: { authorization: `Bearer ${stack.tokens.admin}` },
  });
  const reader = saved.body!.getReader(); // the first bytes only, not the whole GiB
  const first = (await reader.read()).value!;
  await reader.cancel();
  expect(Buffer.from(first).subarray(0, 3).toString()).toBe('one');
  const noSnap = await tm(`CPDS xcd ${sysDir(64)}/disk.1 one-image-48 5 64 ${SYSTEM_DS}`);
  expect(noSnap).toMatchObject({ code: 1, stdout: '' });
  expect(noSnap.info).toMatch(/^cpds: snapshot_not_found \(404\)/);
  // the root disk cannot be reverted while running: the ERROR line carries the service's code
  expect(await tm(`SNAP_CREATE_LIVE xcd ${sysDir(64)}/disk.0 0 64 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
  });
  const refused = await tm(`SNAP_REVERT xcd ${sysDir(64)}/disk.0 0 64 ${SYSTEM_DS}`);
  expect(refused).toMatchObject({ code: 1, stdout: '' });
  expect(refused.logs[0]).toMatch(/^ERROR: snap_revert: invalid_power_state \(409\)/);
  expect(refused.info).toMatch(/^snap_revert: invalid_power_state \(409\)/);

  // POWEROFF: snap_revert brings disk 1's bytes back; the snapshots stay
  expect(await vmm('shutdown', ['one-64', HOST], { ...vm, lcm: 18 })).toMatchObject({ code: 0 });
  await write('2', 'new');
  const before = vdiAt('2').uuid;
  expect(await tm(`SNAP_REVERT xcd ${sysDir(64)}/disk.1 0 64 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
    stdout: '',
  });
  expect(vdiAt('2').uuid).not.toBe(before);
  expect(read('2')).toBe('one');
  expect(await tm(`SNAP_REVERT xcd ${sysDir(64)}/disk.1 1 64 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
  });
  expect(read('2')).toBe('two');
  expect(await snaps('2')).toEqual(['0', '1']);
  expect(await tm(`SNAP_REVERT xcd ${sysDir(64)}/disk.0 0 64 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
  });
  expect(await tm(`SNAP_CREATE xcd ${sysDir(64)}/disk.0 1 64 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
  });
  expect(await snaps('0')).toEqual(['0', '1']);
  const unknown = await tm(`SNAP_REVERT xcd ${sysDir(64)}/disk.1 7 64 ${SYSTEM_DS}`);
  expect(unknown).toMatchObject({ code: 1 });
  expect(unknown.info).toMatch(/^snap_revert: snapshot_not_found \(404\)/);

  // SNAP_DELETE (gone already is fine), then the next deploy starts it with the reverted disk
  for (const line of [
    `SNAP_DELETE xcd ${sysDir(64)}/disk.1 0 64 ${SYSTEM_DS}`,
    `SNAP_DELETE xcd ${sysDir(64)}/disk.1 0 64 ${SYSTEM_DS}`,
    `SNAP_DELETE xcd ${sysDir(64)}/disk.0 1 64 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
  expect(await snaps('2')).toEqual(['1']);
  expect(await snaps('0')).toEqual(['0']);
  expect(await deploy(vm)).toMatchObject({ code: 0, stdout: 'one-64\n' });
  expect(poolVm('vm-64')!.rec.power_state).toBe('Running');
  expect(read('2')).toBe('two');

  // terminate: the instance's disk snapshots go with it
  expect(await vmm('shutdown', ['one-64', HOST], { ...vm, lcm: 12 })).toMatchObject({ code: 0 });
  for (const line of [
    `DELETE xcd ${sysDir(64)}/disk.0 64 ${IMAGE_DS}`,
    `DELETE xcd ${sysDir(64)}/disk.1 64 ${SYSTEM_DS}`,
    `DELETE xcd ${sysDir(64)} 64 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0 });
  for (const id of [45, 47])
    expect(await ds('rm', id, { ID: id, SOURCE: `one-image-${id}` })).toMatchObject({ code: 0 });
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);

test('context updates: reconfigure after updateconf and a NIC attach, deploy after poweroff', async () => {
  expect(await ds('cp', 46, { ID: 46, NAME: 'base', PATH: qcow2, SIZE: 16 })).toMatchObject({
    code: 0,
  });
  const vm: VmSpec = {
    id: 65,
    disks: [imageDisk(0, 46, 1024)],
    nics: [{ NIC_ID: 0, BRIDGE: network.bridge, MAC: '02:00:0a:00:00:41' }],
    context: { DISK_ID: '1', TARGET: 'hda', NETWORK: 'YES' },
  };
  const contextSh = join(dir, 'vms', '65', 'context.sh');
  expect(await deploy(vm, "DISK_ID='1'\nTARGET='hda'\nMOTD='first'\n")).toMatchObject({
    code: 0,
    stdout: 'one-65\n',
  });
  const ref = poolVm('vm-65')!.ref;
  const drive = () => vbds(ref).find((d) => d.type === 'CD')!;
  const isoFiles = () => readIso(readFileSync(stack.sim.vdiContent(drive().vdi.uuid))).files;
  const meta = () => JSON.parse(isoFiles().get('openstack/latest/meta_data.json')!.toString());
  const links = () =>
    JSON.parse(isoFiles().get('openstack/latest/network_data.json')!.toString()).links.map(
      (l: any) => l.ethernet_mac_address,
    );
  expect(meta().meta.MOTD).toBe('first');
  const domid = poolVm('vm-65')!.rec.domid;

  // UPDATECONF of a running VM: oned writes context.sh again, then prereconfigure, the TM's
  // CONTEXT line (TM_COMMAND) and reconfigure <deploy id> <target> <target path>
  const reconfigure = async (spec: VmSpec) => {
    const tmCommand = `CONTEXT xcd ${contextSh} ${sysDir(65)}/disk.1 65 ${SYSTEM_DS}`;
    const data = actionData(spec, 'one-65').replace(
      '<TM_COMMAND/>',
      `<TM_COMMAND>${cdata(tmCommand)}</TM_COMMAND>`,
    );
    expect(await vmm('prereconfigure', ['one-65', 'hda'], spec, data)).toMatchObject({ code: 0 });
    expect(await tm(tmCommand)).toMatchObject({ code: 0 });
    return vmm('reconfigure', ['one-65', 'hda', '/var/lib/one/datastores/0/65/disk.1'], spec, data);
  };
  const before = drive().vdi.uuid;
  writeFileSync(contextSh, "DISK_ID='1'\nTARGET='hda'\nMOTD='second'\nUSER_DATA='#cloud-config'\n");
  expect(await reconfigure(vm)).toMatchObject({ code: 0, stdout: '' });
  expect(drive().vdi.uuid).not.toBe(before);
  expect(meta().meta.MOTD).toBe('second');
  expect(isoFiles().get('openstack/latest/user_data')!.toString()).toBe('#cloud-config');
  expect(poolVm('vm-65')!.rec).toMatchObject({ power_state: 'Running', domid });

  // ATTACHNIC: attach_nic, then the context with the new NIC's ETH1_ variables
  const nic = { NIC_ID: 1, BRIDGE: network.bridge, MAC: '02:00:0a:00:00:42' };
  const withNic: VmSpec = { ...vm, nics: [...vm.nics!, { ...nic, ATTACH: 'YES' }] };
  expect(
    await vmm('attach_nic', ['one-65', nic.MAC, nic.BRIDGE, '-', 'bridge', 'xvif1'], withNic),
  ).toMatchObject({ code: 0 });
  writeFileSync(
    contextSh,
    "DISK_ID='1'\nTARGET='hda'\nMOTD='second'\nETH1_MAC='02:00:0a:00:00:42'\n",
  );
  expect(await reconfigure(withNic)).toMatchObject({ code: 0 });
  expect(links()).toEqual(['02:00:0a:00:00:41', '02:00:0a:00:00:42']);
  expect(meta().meta.ETH1_MAC).toBe('02:00:0a:00:00:42');

  // UPDATECONF while POWEROFF runs no driver: the next DEPLOY writes the context as it is then
  vm.nics!.push(nic);
  expect(await vmm('shutdown', ['one-65', HOST], { ...vm, lcm: 18 })).toMatchObject({ code: 0 });
  expect(await deploy(vm, "DISK_ID='1'\nTARGET='hda'\nMOTD='third'\n")).toMatchObject({
    code: 0,
    stdout: 'one-65\n',
  });
  expect(poolVm('vm-65')!.rec.power_state).toBe('Running');
  expect(meta().meta.MOTD).toBe('third');

  expect(await vmm('shutdown', ['one-65', HOST], { ...vm, lcm: 12 })).toMatchObject({ code: 0 });
  expect(await tm(`DELETE xcd ${sysDir(65)} 65 ${SYSTEM_DS}`)).toMatchObject({ code: 0 });
  expect(await ds('rm', 46, { ID: 46, SOURCE: 'one-image-46' })).toMatchObject({ code: 0 });
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);

test('hostile names, paths and sources stay data', async () => {
  const canary = join(dir, 'pwned');
  const evil = `x'; touch ${canary}; echo '$(touch ${canary})\`touch ${canary}\``;
  const cp = await ds('cp', 43, {
    ID: 43,
    NAME: evil,
    PATH: qcow2,
    SIZE: 16,
    MD5: `$(touch ${canary})`,
  });
  expect(cp).toMatchObject({ code: 0, stdout: 'one-image-43 qcow2\n' });
  expect((await stack.request('GET', '/v1/images/one-image-43')).body.name).toBe(evil);
  expect(
    await ds('cp', 44, { ID: 44, NAME: 'p', PATH: `${qcow2}; touch ${canary}`, SIZE: 16 }),
  ).toMatchObject({ code: 1 });
  expect(
    await ds('cp', 44, { ID: `44; touch ${canary}`, NAME: 'p', PATH: qcow2, SIZE: 16 }),
  ).toMatchObject({ code: 1 });
  expect(await ds('rm', 43, { ID: 43, SOURCE: `one-image-43$(touch ${canary})` })).toMatchObject({
    code: 1,
  });
  expect(
    await tm(
      `CLONE xcd one-frontend:one-image-43;touch${canary} ${sysDir(63)}/disk.0 63 ${IMAGE_DS}`,
    ),
  ).toMatchObject({ code: 1 });
  expect(await tm(`DELETE xcd ${sysDir(63)} 63;touch${canary} ${SYSTEM_DS}`)).toMatchObject({
    code: 1,
  });
  const vm: VmSpec = {
    id: 63,
    name: evil,
    disks: [imageDisk(0, 43, 1024)],
    context: { DISK_ID: '1', START_SCRIPT: `touch ${canary}` },
  };
  const evilVlan = await deploy({
    ...vm,
    nics: [
      { NIC_ID: 0, BRIDGE: 'br0', VLAN_ID: `330$(touch ${canary})`, MAC: '02:00:0a:00:00:3f' },
    ],
  });
  expect(evilVlan).toMatchObject({ code: 1, stdout: '' });
  expect(evilVlan.info).toMatch(/^deploy: NIC 0: VLAN_ID .* is not a VLAN tag$/);
  expect(poolVm(evil)).toBeUndefined();
  expect(
    await deploy(vm, `START_SCRIPT='touch ${canary}'\nX='$(touch ${canary})'\n`),
  ).toMatchObject({ code: 0, stdout: 'one-63\n' });
  expect(poolVm(evil)).toBeDefined();
  expect(await vmm('cancel', ['one-63', HOST], { ...vm, lcm: 13 })).toMatchObject({ code: 0 });
  expect(await ds('rm', 43, { ID: 43, SOURCE: 'one-image-43' })).toMatchObject({ code: 0 });
  expect(existsSync(canary)).toBe(false);
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);

test('formats told by qemu-img info and, on a front-end without it, by magic bytes', async () => {
  const vhd = join(dir, 'disk.vhd');
  execFileSync('qemu-img', ['create', '-q', '-f', 'vpc', vhd, '8M']);
  const vhdSize = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', vhd]).toString())[
    'virtual-size'
  ];
  expect(vhdSize).toBeGreaterThanOrEqual(8 * 1024 ** 2); // the VHD's geometry rounds it up
  const raw = join(dir, 'disk.raw');
  writeFileSync(raw, Buffer.alloc(4 * 1024 ** 2, 7));
  const vmdk = join(dir, 'other.vmdk');
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', vmdk, '8M']);
  // a PATH holding python3 only: no qemu-img on this front-end
  const bare = join(dir, 'bare-bin');
  mkdirSync(bare, { recursive: true });
  execFileSync('ln', ['-sf', '/usr/bin/python3', join(bare, 'python3')]);
  const withQemu = env.PATH;
  for (const path of [undefined, bare]) {
    if (path) env.PATH = path;
    try {
      const cpVhd = await ds('cp', 50, { ID: 50, NAME: 'vhd', PATH: vhd, SIZE: 8 });
      expect(cpVhd).toMatchObject({ code: 0, stdout: 'one-image-50 vhd\n' });
      expect(await ds('cp', 51, { ID: 51, NAME: 'raw', PATH: raw, SIZE: 4 })).toMatchObject({
        code: 0,
        stdout: 'one-image-51 raw\n',
      });
      expect(await ds('cp', 52, { ID: 52, NAME: 'qcow2', PATH: qcow2, SIZE: 16 })).toMatchObject({
        code: 0,
        stdout: 'one-image-52 qcow2\n',
      });
      expect((await ds('cp', 53, { ID: 53, NAME: 'vmdk', PATH: vmdk, SIZE: 8 })).info).toBe(
        'cp: the image is vmdk; the pool takes raw, qcow2, vhd',
      );
      // an empty DATABLOCK: qcow2 made by qemu-img, else raw zeros of a known length
      expect(
        await ds('mkfs', 54, { ID: 54, NAME: 'data', FORMAT: 'raw', SIZE: 4, TYPE: 'DATABLOCK' }),
      ).toMatchObject({ code: 0, stdout: 'one-image-54\n' });
      const images = (await stack.request('GET', '/v1/images')).body.items.map((i: any) => [
        i.id,
        i.format,
        i.virtual_size,
      ]);
      expect(images).toEqual([
        ['one-image-50', 'vhd', vhdSize],
        ['one-image-51', 'raw', 4 * 1024 ** 2],
        ['one-image-52', 'qcow2', 16 * 1024 ** 2],
        ['one-image-54', path ? 'raw' : 'qcow2', 4 * 1024 ** 2],
      ]);
      for (const id of [50, 51, 52, 54])
        expect(await ds('rm', id, { ID: id, SOURCE: `one-image-${id}` })).toMatchObject({
          code: 0,
        });
    } finally {
      if (withQemu === undefined) delete env.PATH;
      else env.PATH = withQemu;
    }
  }
  expect(await leftovers()).toEqual(EMPTY);
}, 60_000);
