// Spawning from images against the simulator: a spawn clones the image's base in its SR and
// grows it; a second spawn uses the same base (no copy); concurrent spawns into an SR without a
// copy share one copy; another namespace's private image is 404 for spawns; a half-imported
// base left by a service that is gone is removed by reconcile, a live import is not.
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { Caller } from '../../src/driver';
import { GiB } from '../../src/xapi/units';
import { done, until } from './instance-helpers';
import { alice, bob, settle, startDriverStack, type DriverStack } from './stack';

let stack: DriverStack;
beforeAll(async () => {
  stack = await startDriverStack();
});
afterAll(async () => {
  await stack?.close();
});

const MiB = 1024 * 1024;

async function importRaw(id: string, caller: Caller = alice, sr?: string): Promise<void> {
  const bytes = randomBytes(2 * MiB);
  const op = stack.driver.uploadImage(
    caller,
    id,
    { format: 'raw', ...(sr ? { sr } : {}) },
    Readable.from([bytes]),
    bytes.length,
  );
  expect(await settle(stack, caller, op)).toMatchObject({ status: 'succeeded' });
}

const srNamed = (type: string): string => stack.driver.srs().find((s) => s.type === type)!.uuid;

function bases(id: string): Array<{ sr: string; state: string }> {
  return stack.xapi.mirror
    .query('VDI', {
      where: { 'other_config.xcd_image_id': id, 'other_config.xcd_role': 'image' },
      fields: ['SR', 'other_config'],
    })
    .map((v) => ({
      sr: stack.xapi.mirror.get('SR', v.SR)!.uuid,
      state: v.other_config.xcd_state,
    }));
}

test('a spawn from an image clones its base and grows it to root_disk_gb', async () => {
  const nfs = srNamed('nfs');
  await importRaw('cirros', alice, nfs);
  stack.calls.length = 0;
  const op = await done(
    stack,
    stack.driver.spawn(alice, 'from-img', {
      image: 'cirros',
      sr: nfs,
      root_disk_gb: 4,
      power_on: false,
    }).operation,
  );
  expect(op).toMatchObject({ status: 'succeeded' });
  expect(stack.calls).toContain('VDI.clone');
  expect(stack.calls).not.toContain('VDI.copy');
  const root = op.result!.disks.find((d) => d.device === '0')!;
  expect(root).toMatchObject({ sr: nfs, size_gb: 4 });
  expect(bases('cirros')).toEqual([{ sr: nfs, state: 'active' }]);
  // The clone is the instance's disk, not a second base.
  const rootVdi = stack.xapi.mirror.getByUuid('VDI', root.uuid)!;
  expect(rootVdi.other_config).toMatchObject({ xcd_instance_id: 'from-img', xcd_role: 'root' });
  expect(rootVdi.other_config.xcd_image_id).toBeUndefined();
  expect(Number(rootVdi.virtual_size)).toBe(4 * GiB);
});

test('concurrent spawns into an SR without a copy copy the image once, then clone', async () => {
  const nfs = srNamed('nfs');
  const local = stack.driver.srs().find((s) => s.type === 'lvm')!.uuid;
  await importRaw('shared-copy', alice, nfs);
  stack.calls.length = 0;
  const ops = ['c1', 'c2', 'c3'].map(
    (id) =>
      stack.driver.spawn(alice, id, { image: 'shared-copy', sr: local, power_on: false }).operation,
  );
  for (const op of ops) expect(await done(stack, op)).toMatchObject({ status: 'succeeded' });
  expect(stack.calls.filter((c) => c === 'VDI.copy')).toHaveLength(1);
  expect(stack.calls.filter((c) => c === 'VDI.clone')).toHaveLength(3);
  expect(bases('shared-copy').sort((a, b) => (a.sr < b.sr ? -1 : 1))).toEqual(
    [
      { sr: nfs, state: 'active' },
      { sr: local, state: 'active' },
    ].sort((a, b) => (a.sr < b.sr ? -1 : 1)),
  );
  // From the cache now: no copy.
  stack.calls.length = 0;
  await done(
    stack,
    stack.driver.spawn(alice, 'c4', { image: 'shared-copy', sr: local, power_on: false }).operation,
  );
  expect(stack.calls).not.toContain('VDI.copy');
  expect(stack.driver.getImage(alice, 'shared-copy').srs.sort()).toEqual([local, nfs].sort());
});

test("another namespace's private image is 404 for spawns; a public one spawns", async () => {
  await importRaw('private-img', alice);
  expect(() => stack.driver.spawn(bob, 'b1', { image: 'private-img' })).toThrow(
    expect.objectContaining({ status: 404, code: 'image_not_found' }),
  );
  await stack.driver.setImagePublic({ ...alice, role: 'admin' }, 'private-img', true);
  const op = await done(
    stack,
    stack.driver.spawn(bob, 'b1', { image: 'private-img', power_on: false }).operation,
    bob,
  );
  expect(op).toMatchObject({ status: 'succeeded' });
});

test("an image's base VDI is never usable as a disk (image_vdi or volume)", async () => {
  await importRaw('not-a-disk', alice);
  const uuid = stack.xapi.mirror.query('VDI', {
    where: { 'other_config.xcd_image_id': 'not-a-disk' },
    fields: ['uuid'],
  })[0].uuid;
  expect(() => stack.driver.spawn(alice, 'x1', { image_vdi: uuid })).toThrow(
    expect.objectContaining({ status: 404, code: 'image_not_found' }),
  );
});

test('reconcile removes a base left importing by a service that is gone', async () => {
  const srRef = stack.xapi.mirror.getByUuid('SR', srNamed('nfs'))!.$ref;
  const make = (owner: string): Promise<string> =>
    stack.xapi.call<string>('VDI.create', {
      name_label: 'image left',
      name_description: '',
      SR: srRef,
      virtual_size: String(MiB),
      type: 'user',
      sharable: false,
      read_only: false,
      other_config: {
        xcd_image_id: `left-${owner}`,
        xcd_role: 'image',
        xcd_namespace: 'alice',
        xcd_state: 'importing',
        xcd_owner: owner,
      },
      xenstore_data: {},
      sm_config: {},
      tags: [],
    });
  const gone = await make('a-service-that-is-gone');
  await until(() => stack.xapi.mirror.get('VDI', gone) !== undefined);
  await stack.driver.reconcilePass();
  await until(() => stack.xapi.mirror.get('VDI', gone) === undefined);
  expect(stack.driver.lastReconcile?.images).toContain('alice/left-a-service-that-is-gone');
});

test('reconcile removes an image clone a crash left before it became a disk, never a base', async () => {
  const nfs = srNamed('nfs');
  await importRaw('crashy', alice, nfs);
  // A spawn marks the base with its own uuid before it clones it; so does a copy to another SR.
  const spawned = stack.driver.spawn(alice, 'crashy-1', {
    image: 'crashy',
    sr: nfs,
    power_on: false,
  });
  expect((await done(stack, spawned.operation)).status).toBe('succeeded');
  const local = srNamed('lvm');
  const other = await done(
    stack,
    stack.driver.addDisk(alice, 'crashy-1', '4', { image: 'crashy', sr: local }),
  );
  expect(other.status).toBe('succeeded');
  const baseRows = () =>
    stack.xapi.mirror.query('VDI', {
      where: { 'other_config.xcd_image_id': 'crashy', 'other_config.xcd_role': 'image' },
      fields: ['uuid', 'other_config', 'SR'],
    });
  const marked = baseRows();
  expect(marked).toHaveLength(2);
  for (const b of marked) expect(b.other_config.xcd_image_base).toBe(b.uuid);
  // The clone's retag never came: a clone of the base still tagged as the image.
  const base = marked.find((b) => stack.xapi.mirror.get('SR', b.SR)!.uuid === nfs)!;
  const left = await stack.xapi.call<string>('VDI.clone', base.$ref, {});
  await until(() => baseRows().length === 3);
  await stack.driver.reconcilePass();
  await until(() => stack.xapi.mirror.get('VDI', left) === undefined);
  expect(
    baseRows()
      .map((b) => b.$ref)
      .sort(),
  ).toEqual(marked.map((b) => b.$ref).sort());
  expect(stack.driver.lastReconcile?.images).toContain('alice/crashy');
  expect(stack.driver.getImage(alice, 'crashy')).toMatchObject({ id: 'crashy', status: 'active' });
});

test('an image being imported cannot be deleted (409 image_busy); once imported it can', async () => {
  const body = new PassThrough();
  const op = stack.driver.uploadImage(alice, 'in-flight', { format: 'raw' }, body, 2 * MiB);
  body.write(randomBytes(MiB));
  await until(() => bases('in-flight').length === 1);
  await expect(stack.driver.deleteImage(alice, 'in-flight')).rejects.toMatchObject({
    status: 409,
    code: 'image_busy',
  });
  body.end(randomBytes(MiB));
  expect(await settle(stack, alice, op)).toMatchObject({ status: 'succeeded' });
  await stack.driver.deleteImage(alice, 'in-flight');
  await until(() => bases('in-flight').length === 0);
});
