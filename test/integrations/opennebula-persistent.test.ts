// Persistent images through the OpenNebula drivers, called exactly as OpenNebula 7 calls them:
// one_datastore.rb (`<action> <image id>`, Base64 DS_DRIVER_ACTION_DATA on stdin), one_tm.rb (a
// transfer file's line as argv: `LN xcd fe:SOURCE host:dir/disk.N vmid dsid`, `MVDS xcd
// host:dir/disk.N SOURCE vmid dsid`) and one_vmm_exec.rb (argv + `<vmid> <host>`, one Base64
// line on stdin). An image made persistent is the VM's own disk (a data disk or the root disk):
// what the VM writes is in the image after terminate, and the next VM finds it there. Must
// not: use a shell.
import { vdiHead } from '../helpers/vdi-head';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../helpers/stack';
import {
  HOST,
  IMAGE_DS,
  SYSTEM_DS,
  actionData,
  b64,
  oneDrivers,
  sysDir,
  type OneDrivers,
  type VmSpec,
} from './opennebula-drivers';

const MiB = 1024 ** 2;

let stack: Stack;
let dir: string;
let one: OneDrivers;
const original = randomBytes(4 * MiB);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xcd-one-persistent-'));
  stack = await startStack();
  one = oneDrivers(dir, () => ({
    XCD_URL: stack.url,
    XCD_TOKEN: stack.tokens.admin,
    XCD_CONFIG: join(dir, 'none'),
  }));
}, 90_000);

afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ds = (action: string, id: number, image: Record<string, string | number>) =>
  one.ds(action, id, image);
const tm = (line: string) => one.tm(line);
const vmm = (action: string, args: string[], vm: VmSpec, stdinXml?: string) =>
  one.vmm(action, args, vm, stdinXml);
const deploy = (vm: VmSpec) => one.deploy(vm);

/** A DISK of an image as oned writes it; a persistent image's (oneimage persistent) carries
 * PERSISTENT="YES", CLONE="NO", SAVE="YES". */
const imageDisk = (diskId: number, imageId: number, persistent: boolean) => ({
  DISK_ID: diskId,
  IMAGE_ID: imageId,
  SOURCE: `one-image-${imageId}`,
  TM_MAD: 'xcd',
  DATASTORE_ID: IMAGE_DS,
  TYPE: 'FILE',
  FORMAT: 'raw',
  SIZE: 4,
  TARGET: `xvd${'abcdefgh'[diskId]}`,
  ...(persistent ? { PERSISTENT: 'YES', CLONE: 'NO', SAVE: 'YES' } : { CLONE: 'YES' }),
});

/** The pool VDI at a device of the VM one-<vmid>. */
function vdiAt(vmid: number, device: string): { ref: string; rec: any } | undefined {
  const store = stack.sim.store;
  for (const [, vm] of store.all('VM')) {
    if ((vm as any).name_label !== `vm-${vmid}` || (vm as any).is_a_snapshot) continue;
    for (const vbdRef of (vm as any).VBDs as string[]) {
      const vbd = store.get('VBD', vbdRef) as any;
      if (vbd.userdevice === device) return { ref: vbd.VDI, rec: store.get('VDI', vbd.VDI) };
    }
  }
  return undefined;
}

const bytesOf = (vdiRef: string): Promise<Buffer> => vdiHead(stack.xapi, vdiRef, original.length);

const image = async (id: string) => (await stack.request('GET', `/v1/images/${id}`)).body;

test("a persistent image is the VM's disk: written, terminated (mvds), used again", async () => {
  // IMAGE CP of a root image and of a data image; `oneimage persistent 9` changes oned only
  const root = join(dir, 'root.raw');
  const data = join(dir, 'data.raw');
  writeFileSync(root, randomBytes(4 * MiB));
  writeFileSync(data, original);
  for (const [id, path] of [
    [8, root],
    [9, data],
  ] as const)
    expect(
      await ds('cp', id, { ID: id, NAME: `img-${id}`, PATH: path, SIZE: 4, TYPE: 'OS' }),
    ).toMatchObject({
      code: 0,
      stdout: `one-image-${id} raw\n`,
    });

  // PROLOG: CLONE of the root image, LN of the persistent one; DEPLOY attaches the image itself
  const vm: VmSpec = { id: 70, disks: [imageDisk(0, 8, false), imageDisk(1, 9, true)] };
  for (const line of [
    `CLONE xcd one-frontend:one-image-8 ${sysDir(70)}/disk.0 70 ${IMAGE_DS}`,
    `LN xcd one-frontend:one-image-9 ${sysDir(70)}/disk.1 70 ${IMAGE_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
  expect(await deploy(vm)).toMatchObject({ code: 0, stdout: 'one-70\n' });
  const disk = vdiAt(70, '2')!;
  expect(disk.rec.other_config).toMatchObject({
    xcd_role: 'image',
    xcd_image_id: 'one-image-9',
    xcd_image_user: 'one-70',
  });
  expect(await image('one-image-9')).toMatchObject({ in_use_by: 'one-70', status: 'active' });

  // the guest writes its disk
  const written = randomBytes(original.length);
  await stack.xapi.httpPut('/import_raw_vdi', { vdi: disk.ref, format: 'raw' }, written);

  // another VM cannot have it meanwhile; the datastore cannot export or clone it
  const other = await tm(`LN xcd one-frontend:one-image-9 ${sysDir(71)}/disk.1 71 ${IMAGE_DS}`);
  expect(other.code).toBe(1);
  expect(other.errors).toEqual(['ERROR: ln: the persistent image one-image-9 is in use by one-70']);
  const cloned = await ds('clone', 10, { ID: 10, NAME: 'copy', PATH: 'one-image-9', SIZE: 4 });
  expect(cloned.code).toBe(1);
  expect(cloned.errors.join(' ')).toMatch(/image_in_use/);

  // disk-saveas of the root disk beside it (DS mkfs, TM cpds): a snapshot of that disk alone;
  // of the persistent disk itself: refused (the image is the disk)
  expect(
    await ds('mkfs', 13, { ID: 13, NAME: 'root copy', FORMAT: 'save_as', SIZE: 4, TYPE: 'OS' }),
  ).toMatchObject({ code: 0, stdout: 'one-image-13\n' });
  expect(await tm(`CPDS xcd ${sysDir(70)}/disk.0 one-image-13 -1 70 ${SYSTEM_DS}`)).toMatchObject({
    code: 0,
    stdout: '',
  });
  expect(await image('one-image-13')).toMatchObject({ status: 'active', format: 'vhd' });
  const saveas = await tm(`CPDS xcd ${sysDir(70)}/disk.1 one-image-13 -1 70 ${SYSTEM_DS}`);
  expect(saveas.code).toBe(1);
  expect(saveas.errors).toEqual([
    'ERROR: cpds: operation_not_allowed (409): device 2 holds no disk the instance owns ' +
      '(volumes and the config drive have no disk snapshots)',
  ]);
  expect(await ds('rm', 13, { ID: 13, SOURCE: 'one-image-13' })).toMatchObject({ code: 0 });

  // terminate: SHUTDOWN (LCM_STATE SHUTDOWN), then the epilog: MVDS of the persistent disk,
  // DELETE of the rest
  expect(await vmm('shutdown', ['one-70', HOST], { ...vm, lcm: 12 })).toMatchObject({ code: 0 });
  for (const line of [
    `DELETE xcd ${sysDir(70)}/disk.0 70 ${IMAGE_DS}`,
    `MVDS xcd ${sysDir(70)}/disk.1 one-image-9 70 ${IMAGE_DS}`,
    `DELETE xcd ${sysDir(70)} 70 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
  expect(stack.sim.store.has('VDI', disk.ref)).toBe(true);
  const back = await image('one-image-9');
  expect(back).toMatchObject({ status: 'active', checksum: '' });
  expect(back.in_use_by).toBeUndefined();
  expect((await bytesOf(disk.ref)).equals(written)).toBe(true);

  // the next VM: LN and a hot ATTACHDISK of the image, which holds what VM 70 wrote
  const next: VmSpec = { id: 71, disks: [imageDisk(0, 8, false)] };
  expect(
    await tm(`CLONE xcd one-frontend:one-image-8 ${sysDir(71)}/disk.0 71 ${IMAGE_DS}`),
  ).toMatchObject({ code: 0 });
  expect(await deploy(next)).toMatchObject({ code: 0, stdout: 'one-71\n' });
  expect(
    await tm(`LN xcd one-frontend:one-image-9 ${sysDir(71)}/disk.1 71 ${IMAGE_DS}`),
  ).toMatchObject({ code: 0 });
  const attaching: VmSpec = {
    ...next,
    disks: [...next.disks, { ...imageDisk(1, 9, true), ATTACH: 'YES' }],
  };
  const msg = actionData(attaching);
  expect(
    await vmm(
      'attach_disk',
      ['one-71', '/var/lib/one/datastores/0/71/disk.1', 'xvdb', '1', b64(msg)],
      attaching,
      msg,
    ),
  ).toMatchObject({ code: 0 });
  const again = vdiAt(71, '2')!;
  expect(again.ref).toBe(disk.ref);
  expect((await bytesOf(again.ref)).equals(written)).toBe(true);
  expect(await image('one-image-9')).toMatchObject({ in_use_by: 'one-71' });

  // a persistent disk is the image: the service does not grow an image's own disk
  const grown = await tm(`RESIZE xcd ${sysDir(71)}/disk.1 8 71 ${SYSTEM_DS}`);
  expect(grown).toMatchObject({
    code: 1,
    errors: [
      "ERROR: resize: operation_not_allowed (409): device 2 is an image in persistent use: an image's own disk is not grown",
    ],
  });

  // DETACHDISK: the VMM's detach_disk, then the TM's MVDS: the image is free again
  expect(
    await vmm(
      'detach_disk',
      ['one-71', '/var/lib/one/datastores/0/71/disk.1', 'xvdb', '1'],
      attaching,
    ),
  ).toMatchObject({ code: 0 });
  expect(await tm(`MVDS xcd ${sysDir(71)}/disk.1 one-image-9 71 ${IMAGE_DS}`)).toMatchObject({
    code: 0,
  });
  expect(vdiAt(71, '2')).toBeUndefined();
  expect((await image('one-image-9')).in_use_by).toBeUndefined();
  expect(stack.sim.store.has('VDI', disk.ref)).toBe(true);

  // terminate VM 71, then IMAGE RM of both images: nothing left
  expect(await vmm('shutdown', ['one-71', HOST], { ...next, lcm: 12 })).toMatchObject({ code: 0 });
  expect(await tm(`DELETE xcd ${sysDir(71)} 71 ${SYSTEM_DS}`)).toMatchObject({ code: 0 });
  for (const id of [8, 9])
    expect(await ds('rm', id, { ID: id, SOURCE: `one-image-${id}` })).toMatchObject({ code: 0 });
  expect((await stack.request('GET', '/v1/images')).body.items).toEqual([]);
});

test('a persistent image as DISK 0 is the root disk: written, terminated from poweroff, booted again', async () => {
  writeFileSync(join(dir, 'p.raw'), original);
  expect(
    await ds('cp', 12, { ID: 12, NAME: 'p', PATH: join(dir, 'p.raw'), SIZE: 4, TYPE: 'OS' }),
  ).toMatchObject({ code: 0 });
  const vm: VmSpec = { id: 80, disks: [imageDisk(0, 12, true)] };
  expect(
    await tm(`LN xcd one-frontend:one-image-12 ${sysDir(80)}/disk.0 80 ${IMAGE_DS}`),
  ).toMatchObject({ code: 0 });
  expect(await deploy(vm)).toMatchObject({ code: 0, stdout: 'one-80\n' });
  const root = vdiAt(80, '0')!;
  expect(root.rec.other_config).toMatchObject({
    xcd_role: 'image',
    xcd_image_id: 'one-image-12',
    xcd_image_user: 'one-80',
    xcd_device: '0',
  });
  const written = randomBytes(original.length);
  await stack.xapi.httpPut('/import_raw_vdi', { vdi: root.ref, format: 'raw' }, written);

  // poweroff (LCM_STATE SHUTDOWN_POWEROFF), then terminate of the powered-off VM: the epilog
  // alone, MVDS of the root disk (the instance gives the image back), DELETE of the directory
  expect(await vmm('shutdown', ['one-80', HOST], { ...vm, lcm: 18 })).toMatchObject({ code: 0 });
  expect(await image('one-image-12')).toMatchObject({ in_use_by: 'one-80' });
  for (const line of [
    `MVDS xcd ${sysDir(80)}/disk.0 one-image-12 80 ${IMAGE_DS}`,
    `DELETE xcd ${sysDir(80)} 80 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
  expect((await image('one-image-12')).in_use_by).toBeUndefined();
  expect(stack.sim.store.has('VDI', root.ref)).toBe(true);

  // the next VM boots from what VM 80 wrote
  const next: VmSpec = { id: 81, disks: [imageDisk(0, 12, true)] };
  expect(
    await tm(`LN xcd one-frontend:one-image-12 ${sysDir(81)}/disk.0 81 ${IMAGE_DS}`),
  ).toMatchObject({ code: 0 });
  expect(await deploy(next)).toMatchObject({ code: 0, stdout: 'one-81\n' });
  const again = vdiAt(81, '0')!;
  expect(again.ref).toBe(root.ref);
  expect((await bytesOf(again.ref)).equals(written)).toBe(true);
  expect(await vmm('shutdown', ['one-81', HOST], { ...next, lcm: 12 })).toMatchObject({ code: 0 });
  for (const line of [
    `MVDS xcd ${sysDir(81)}/disk.0 one-image-12 81 ${IMAGE_DS}`,
    `DELETE xcd ${sysDir(81)} 81 ${SYSTEM_DS}`,
  ])
    expect(await tm(line)).toMatchObject({ code: 0, stdout: '' });
  expect(vdiAt(81, '0')).toBeUndefined();
  expect(await ds('rm', 12, { ID: 12, SOURCE: 'one-image-12' })).toMatchObject({ code: 0 });
  expect(stack.sim.store.has('VDI', root.ref)).toBe(false);
});
