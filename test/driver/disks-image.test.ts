// Disks an instance owns made from an image (PUT .../disks/{device} with `image`): a clone of the
// image's base (copied once to another SR), holding the image's bytes, grown when asked, tagged
// as the instance's; a retry answered at once; each bad input (another namespace's image, an
// image still importing, a size below the image's) refused before any XAPI write; a fault at
// every XAPI call leaving the pool as it was; removal destroys the clone, never the base.
import { vdiHead } from '../helpers/vdi-head';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Caller } from '../../src/driver';
import type { Instance } from '../../src/driver/types';
import { isUnclaimedClone } from '../../src/driver/tags';
import { GiB, MiB } from '../../src/xapi/units';
import { done, setState, simVbdAt, spawnInstance, until } from './instance-helpers';
import { callPoints, failEachCall } from './fault-points';
import { alice, bob, poolSnapshot, settle, startDriverStack, type DriverStack } from './stack';

let stack: DriverStack;
let vmRef: string;
const bytes = randomBytes(2 * MiB);

async function importImage(
  id: string,
  body: Buffer,
  format: 'raw' | 'vhd',
  caller: Caller = alice,
): Promise<void> {
  const op = stack.driver.uploadImage(caller, id, { format }, Readable.from([body]), body.length);
  expect(await settle(stack, caller, op)).toMatchObject({ status: 'succeeded' });
}

beforeAll(async () => {
  stack = await startDriverStack();
  vmRef = await spawnInstance(stack, 'di-1', { vcpus: 1, memory_mb: 256 });
  await importImage('data', bytes, 'raw');
  await importImage('bob-data', bytes, 'raw', bob);
  // A sparse VHD of exactly 3 GiB: larger than a 1 or 2 GiB disk.
  const dir = mkdtempSync(join(tmpdir(), 'xcd-disk-image-'));
  try {
    const big = join(dir, 'big.vhd');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vpc', '-o', 'force_size=on', big, '3G']);
    await importImage('big', readFileSync(big), 'vhd');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
afterAll(async () => {
  await stack?.close();
});

const vbdAt = (device: string): Record<string, any> | undefined => simVbdAt(stack, vmRef, device);
const srNamed = (type: string): string => stack.driver.srs().find((s) => s.type === type)!.uuid;
/** The SRs of the image's bases (a clone between VDI.clone and its retag is none). */
const basesOf = (id: string): string[] =>
  stack.xapi.mirror
    .query('VDI', {
      where: { 'other_config.xcd_image_id': id, 'other_config.xcd_role': 'image' },
      fields: ['SR', 'uuid', 'other_config'],
    })
    .filter((v) => !isUnclaimedClone(v))
    .map((v) => stack.xapi.mirror.get('SR', v.SR)!.uuid)
    .sort();

const contentOf = (vdiRef: string, length: number): Promise<Buffer> =>
  vdiHead(stack.xapi, vdiRef, length);

it.each(['Running', 'Halted'] as const)(
  "adds a clone of an image holding the image's bytes, plugged when running (%s)",
  async (power) => {
    await setState(stack, vmRef, power);
    const device = power === 'Running' ? '4' : '5';
    const basesBefore = basesOf('data');
    stack.calls.length = 0;
    const final = await done(stack, stack.driver.addDisk(alice, 'di-1', device, { image: 'data' }));
    expect(final).toMatchObject({ status: 'succeeded', kind: 'add-disk' });
    expect(stack.calls).toContain('VDI.clone');
    expect(stack.calls).not.toContain('VDI.copy');
    expect(stack.calls).not.toContain('VDI.resize');
    expect(stack.calls.includes('VBD.plug')).toBe(power === 'Running');
    const vbd = vbdAt(device)!;
    const vdi = stack.sim.store.get('VDI', vbd.VDI) as Record<string, any>;
    expect(Number(vdi.virtual_size)).toBe(bytes.length);
    // The instance's disk, made from the image: not a second base of it.
    expect(vdi.other_config).toEqual({
      xcd_namespace: 'alice',
      xcd_instance_id: 'di-1',
      xcd_role: 'disk',
      xcd_device: device,
      xcd_from_image: 'data',
    });
    expect(basesOf('data')).toEqual(basesBefore);
    expect((await contentOf(vbd.VDI, bytes.length)).equals(bytes)).toBe(true);
    expect((final.result as Instance).disks).toContainEqual(
      expect.objectContaining({ device, type: 'disk' }),
    );
  },
);

test('copies the base to another SR once and grows the clone to size_gb', async () => {
  await setState(stack, vmRef, 'Halted');
  const local = srNamed('lvm'); // the pool's default SR is the NFS one
  expect(basesOf('data')).not.toContain(local);
  stack.calls.length = 0;
  const final = await done(
    stack,
    stack.driver.addDisk(alice, 'di-1', '6', { image: 'data', sr: local, size_gb: 2 }),
  );
  expect(final.status).toBe('succeeded');
  expect(stack.calls).toEqual(expect.arrayContaining(['VDI.clone', 'VDI.resize']));
  expect(basesOf('data')).toContain(local);
  const vdi = stack.sim.store.get('VDI', vbdAt('6')!.VDI) as Record<string, any>;
  expect(Number(vdi.virtual_size)).toBe(2 * GiB);
  expect(stack.xapi.mirror.get('SR', vdi.SR)!.uuid).toBe(local);
  expect((await contentOf(vbdAt('6')!.VDI, bytes.length)).equals(bytes)).toBe(true);
});

test('answers a retry at once; another image or size at the device is device_in_use', async () => {
  const vdis = stack.sim.store.count('VDI');
  stack.calls.length = 0;
  expect(stack.driver.addDisk(alice, 'di-1', '5', { image: 'data' })).toMatchObject({
    status: 'succeeded',
    kind: 'add-disk',
  });
  expect(stack.calls).toEqual([]);
  expect(stack.sim.store.count('VDI')).toBe(vdis);
  for (const body of [
    { image: 'big' },
    { image: 'data', size_gb: 1 },
    { size_gb: 1 }, // a blank disk where a disk from an image is
  ])
    expect(() => stack.driver.addDisk(alice, 'di-1', '5', body)).toThrow(
      expect.objectContaining({ status: 409, code: 'device_in_use' }),
    );
  expect(stack.calls).toEqual([]);
});

test('refuses bad images before any XAPI call, each with its code', async () => {
  const before = poolSnapshot(stack.sim);
  stack.calls.length = 0;
  const refused = (body: { image: string; size_gb?: number }): unknown => {
    try {
      stack.driver.addDisk(alice, 'di-1', '9', body);
    } catch (err) {
      return err;
    }
    throw new Error(`accepted ${JSON.stringify(body)}`);
  };
  // Absent, and another namespace's private image: the same answer.
  for (const image of ['nothing-here', 'bob-data'])
    expect(refused({ image })).toMatchObject({
      status: 404,
      code: 'image_not_found',
      detail: `image '${image}' not found`,
    });
  expect(refused({ image: 'big', size_gb: 2 })).toMatchObject({
    status: 422,
    code: 'disk_smaller_than_image',
    extra: { image_size_gb: 3 },
  });
  expect(stack.calls).toEqual([]);
  expect(poolSnapshot(stack.sim)).toEqual(before);
});

test('an image still importing answers 409 image_busy', async () => {
  const base = stack.xapi.mirror.query('VDI', {
    where: { 'other_config.xcd_image_id': 'big', 'other_config.xcd_role': 'image' },
    fields: ['other_config'],
  })[0]!;
  await stack.xapi.call('VDI.remove_from_other_config', base.$ref, 'xcd_state');
  await stack.xapi.call('VDI.add_to_other_config', base.$ref, 'xcd_state', 'importing');
  try {
    await until(
      () => stack.xapi.mirror.get('VDI', base.$ref)?.other_config.xcd_state === 'importing',
    );
    expect(() => stack.driver.addDisk(alice, 'di-1', '9', { image: 'big' })).toThrow(
      expect.objectContaining({ status: 409, code: 'image_busy' }),
    );
  } finally {
    await stack.xapi.call('VDI.remove_from_other_config', base.$ref, 'xcd_state');
    await stack.xapi.call('VDI.add_to_other_config', base.$ref, 'xcd_state', 'active');
  }
});

test('leaves the pool as it was when any XAPI call of an add from an image fails', async () => {
  await setState(stack, vmRef, 'Running');
  const body = { image: 'data', size_gb: 1 };
  stack.calls.length = 0;
  expect((await done(stack, stack.driver.addDisk(alice, 'di-1', '7', body))).status).toBe(
    'succeeded',
  );
  const points = callPoints(stack.calls);
  expect(points.map(([m]) => m)).toEqual(
    expect.arrayContaining(['VDI.clone', 'VDI.set_other_config', 'VDI.resize', 'VBD.plug']),
  );
  await done(stack, stack.driver.removeDisk(alice, 'di-1', '7'));
  const failures = await failEachCall(stack.sim, points, {
    attempt: () => settle(stack, alice, stack.driver.addDisk(alice, 'di-1', '7', body)),
    snapshot: () => {
      const { VDI, VBD } = poolSnapshot(stack.sim);
      return { VDI, VBD };
    },
  });
  expect(failures).toEqual([]);
  expect(vbdAt('7')).toBeUndefined();
});

test('removing the disk destroys the clone and keeps the image', async () => {
  const vdiRef = vbdAt('4')!.VDI as string;
  const basesBefore = basesOf('data');
  const final = await done(stack, stack.driver.removeDisk(alice, 'di-1', '4'));
  expect(final.status).toBe('succeeded');
  expect(stack.sim.store.has('VDI', vdiRef)).toBe(false);
  expect(basesOf('data')).toEqual(basesBefore);
  expect(stack.driver.getImage(alice, 'data')).toMatchObject({ id: 'data' });
});
