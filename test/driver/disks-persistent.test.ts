// Persistent disks (PUT .../disks/{device} with `image` and `persistent`): the image's own base
// attached, no VDI made, claimed by one instance at a time; while claimed the image is neither
// cloned, exported, published, deleted nor attached elsewhere; a detach, the instance's destroy
// and reconcile release it, the base staying the image with the bytes written; bad input
// refused before any XAPI write; a fault at every XAPI call of an add leaving the pool as it was.
import { vdiHead } from '../helpers/vdi-head';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Caller } from '../../src/driver';
import type { Instance } from '../../src/driver/types';
import { MiB } from '../../src/xapi/units';
import { done, setState, simVbdAt, simVm, spawnInstance, until } from './instance-helpers';
import { callPoints, failEachCall } from './fault-points';
import { alice, bob, poolSnapshot, settle, startDriverStack, type DriverStack } from './stack';

let stack: DriverStack;
let vmRef: string;
const original = randomBytes(2 * MiB);

async function importImage(id: string, body: Buffer, caller: Caller = alice): Promise<void> {
  const op = stack.driver.uploadImage(
    caller,
    id,
    { format: 'raw' },
    Readable.from([body]),
    body.length,
  );
  expect(await settle(stack, caller, op)).toMatchObject({ status: 'succeeded' });
}

beforeAll(async () => {
  stack = await startDriverStack();
  vmRef = await spawnInstance(stack, 'pd-1', { vcpus: 1, memory_mb: 256 });
  await spawnInstance(stack, 'pd-2', { vcpus: 1, memory_mb: 256 });
  await importImage('disk', original);
  await importImage('shared', original);
  await importImage('bob-disk', original, bob);
  await stack.driver.setImagePublic(alice, 'shared', true);
});
afterAll(async () => {
  await stack?.close();
});

const baseOf = (id: string, ns = 'alice'): Record<string, any> => {
  const row = stack.xapi.mirror.query('VDI', {
    where: {
      'other_config.xcd_image_id': id,
      'other_config.xcd_role': 'image',
      'other_config.xcd_namespace': ns,
    },
    fields: ['other_config'],
  })[0]!;
  return { ...(stack.sim.store.get('VDI', row.$ref) as Record<string, any>), $ref: row.$ref };
};
const vbdAt = (ref: string, device: string): Record<string, any> | undefined =>
  simVbdAt(stack, ref, device);

const contentOf = (vdiRef: string, length: number): Promise<Buffer> =>
  vdiHead(stack.xapi, vdiRef, length);

const claimedAfter = async (ref: string, user: string | undefined): Promise<void> =>
  until(() => stack.xapi.mirror.get('VDI', ref)?.other_config.xcd_image_user === user);

it.each(['Running', 'Halted'] as const)(
  "attaches the image's own base, no copy, claimed by the instance (%s)",
  async (power) => {
    await setState(stack, vmRef, power);
    const base = baseOf('disk');
    const before = poolSnapshot(stack.sim).VDI;
    stack.calls.length = 0;
    const final = await done(
      stack,
      stack.driver.addDisk(alice, 'pd-1', '4', { image: 'disk', persistent: true }),
    );
    expect(final).toMatchObject({ status: 'succeeded', kind: 'add-disk' });
    for (const made of ['VDI.clone', 'VDI.copy', 'VDI.create', 'VDI.destroy'])
      expect(stack.calls).not.toContain(made);
    expect(stack.calls.includes('VBD.plug')).toBe(power === 'Running');
    expect(poolSnapshot(stack.sim).VDI).toEqual(before);
    expect(vbdAt(vmRef, '4')!.VDI).toBe(base.$ref);
    const claimed = baseOf('disk').other_config;
    expect(claimed).toMatchObject({
      xcd_role: 'image',
      xcd_image_id: 'disk',
      xcd_namespace: 'alice',
      xcd_image_user: 'pd-1',
      xcd_device: '4',
    });
    expect(claimed.xcd_instance_id).toBeUndefined();
    expect(claimed.xcd_image_checksum).toBeUndefined();
    expect(stack.driver.getImage(alice, 'disk')).toMatchObject({
      status: 'active',
      checksum: '',
      in_use_by: 'pd-1',
    });
    expect((final.result as Instance).disks).toContainEqual(
      expect.objectContaining({ device: '4', type: 'disk', uuid: base.uuid }),
    );
    // A retry is answered at once; the detach gives the image back, not destroyed.
    stack.calls.length = 0;
    const again = stack.driver.addDisk(alice, 'pd-1', '4', { image: 'disk', persistent: true });
    expect(again.status).toBe('succeeded');
    expect(stack.calls).toEqual([]);
    expect((await done(stack, stack.driver.removeDisk(alice, 'pd-1', '4'))).status).toBe(
      'succeeded',
    );
    expect(stack.calls).not.toContain('VDI.destroy');
    expect(stack.sim.store.has('VDI', base.$ref)).toBe(true);
    expect(vbdAt(vmRef, '4')).toBeUndefined();
    expect(baseOf('disk').other_config.xcd_image_user).toBeUndefined();
    expect(baseOf('disk').other_config.xcd_device).toBeUndefined();
    expect(stack.driver.getImage(alice, 'disk').in_use_by).toBeUndefined();
  },
);

test('what the instance writes stays in the image, which clones then carry', async () => {
  await setState(stack, vmRef, 'Halted');
  await done(stack, stack.driver.addDisk(alice, 'pd-1', '5', { image: 'disk', persistent: true }));
  const baseRef = vbdAt(vmRef, '5')!.VDI as string;
  // The guest's writes: new bytes into the attached disk.
  const written = randomBytes(original.length);
  await stack.xapi.httpPut('/import_raw_vdi', { vdi: baseRef, format: 'raw' }, written);
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '5'));
  await claimedAfter(baseRef, undefined);
  expect((await contentOf(baseRef, written.length)).equals(written)).toBe(true);
  expect(stack.driver.getImage(alice, 'disk')).toMatchObject({ status: 'active', checksum: '' });
  // A clone made afterwards holds the written bytes.
  await done(stack, stack.driver.addDisk(alice, 'pd-2', '6', { image: 'disk' }));
  const cloneVbd = (simVm(stack, vmRefOf('pd-2')).VBDs as string[])
    .map((r) => stack.sim.store.get('VBD', r) as Record<string, any>)
    .find((v) => v.userdevice === '6')!;
  expect(cloneVbd.VDI).not.toBe(baseRef);
  expect((await contentOf(cloneVbd.VDI, written.length)).equals(written)).toBe(true);
  await done(stack, stack.driver.removeDisk(alice, 'pd-2', '6'));
});

function vmRefOf(id: string): string {
  return stack.xapi.mirror.query('VM', {
    where: { 'other_config.xcd_instance_id': id, is_a_snapshot: false },
    fields: ['uuid'],
  })[0]!.$ref;
}

test('while in persistent use the image is not cloned, exported, published, deleted or shared', async () => {
  await setState(stack, vmRef, 'Running');
  await done(stack, stack.driver.addDisk(alice, 'pd-1', '7', { image: 'disk', persistent: true }));
  const before = poolSnapshot(stack.sim);
  stack.calls.length = 0;
  const inUse = expect.objectContaining({ status: 409, code: 'image_in_use' });
  expect(() =>
    stack.driver.addDisk(alice, 'pd-2', '7', { image: 'disk', persistent: true }),
  ).toThrow(inUse);
  expect(() => stack.driver.addDisk(alice, 'pd-2', '7', { image: 'disk' })).toThrow(inUse);
  await expect(stack.driver.exportImage(alice, 'disk', 'raw')).rejects.toEqual(inUse);
  await expect(stack.driver.deleteImage(alice, 'disk')).rejects.toEqual(inUse);
  await expect(stack.driver.setImagePublic(alice, 'disk', true)).rejects.toEqual(inUse);
  // Nor is a spawn made from it.
  expect(() => stack.driver.spawn(alice, 'pd-3', { image: 'disk' })).toThrow(inUse);
  expect(poolSnapshot(stack.sim)).toEqual(before);
  expect(stack.calls.filter((m) => /\.(create|clone|copy|destroy)$/.test(m))).toEqual([]);
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '7'));
});

test('refuses bad input before any XAPI call, each with its code', async () => {
  const refused = (caller: Caller, body: Record<string, unknown>): unknown => {
    try {
      stack.driver.addDisk(caller, caller === bob ? 'pd-b' : 'pd-1', '9', body as never);
    } catch (err) {
      return err;
    }
    throw new Error(`accepted ${JSON.stringify(body)}`);
  };
  await spawnInstance(stack, 'pd-b', { vcpus: 1, memory_mb: 256 }, bob);
  const snap = poolSnapshot(stack.sim);
  stack.calls.length = 0;
  // Absent, and another namespace's private image: the same answer.
  for (const image of ['nothing-here', 'bob-disk'])
    expect(refused(alice, { image, persistent: true })).toMatchObject({
      status: 404,
      code: 'image_not_found',
    });
  // Another namespace's public image: readable, never another's disk.
  expect(refused(bob, { image: 'shared', persistent: true })).toMatchObject({
    status: 403,
    code: 'forbidden',
  });
  expect(refused(alice, { image: 'disk', persistent: true, size_gb: 4 })).toMatchObject({
    status: 400,
    code: 'invalid_request',
  });
  const nfs = stack.driver.srs().find((s) => s.uuid !== baseSrUuid('disk'))!.uuid;
  expect(refused(alice, { image: 'disk', persistent: true, sr: nfs })).toMatchObject({
    status: 400,
    code: 'invalid_request',
    detail: `image 'disk' has no copy in SR '${nfs}'`,
  });
  expect(stack.calls).toEqual([]);
  expect(poolSnapshot(stack.sim)).toEqual(snap);
});

function baseSrUuid(id: string): string {
  return stack.xapi.mirror.get('SR', baseOf(id).SR as string)!.uuid;
}

test('an image with copies in several SRs needs `sr`, and attaches the copy it names', async () => {
  await setState(stack, vmRef, 'Halted');
  await importImage('two', original);
  const first = baseSrUuid('two');
  const other = stack.driver
    .srs()
    .find((s) => s.uuid !== first && (s.type === 'lvm' || s.type === 'nfs'))!.uuid;
  // A clone on the other SR copies the base there once: two copies.
  await done(stack, stack.driver.addDisk(alice, 'pd-2', '8', { image: 'two', sr: other }));
  await done(stack, stack.driver.removeDisk(alice, 'pd-2', '8'));
  expect(stack.driver.getImage(alice, 'two').srs).toHaveLength(2);
  expect(() =>
    stack.driver.addDisk(alice, 'pd-1', '8', { image: 'two', persistent: true }),
  ).toThrow(expect.objectContaining({ status: 400, code: 'invalid_request' }));
  await done(
    stack,
    stack.driver.addDisk(alice, 'pd-1', '8', { image: 'two', persistent: true, sr: other }),
  );
  const vdi = stack.sim.store.get('VDI', vbdAt(vmRef, '8')!.VDI) as Record<string, any>;
  expect(stack.sim.store.get('SR', vdi.SR as string)).toMatchObject({ uuid: other });
  expect(vdi.other_config).toMatchObject({ xcd_role: 'image', xcd_image_user: 'pd-1' });
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '8'));
});

test('leaves the pool as it was when any XAPI call of a persistent add fails', async () => {
  await setState(stack, vmRef, 'Running');
  const body = { image: 'disk', persistent: true };
  stack.calls.length = 0;
  await done(stack, stack.driver.addDisk(alice, 'pd-1', '10', body));
  const points = callPoints(stack.calls);
  expect(points.map(([m]) => m)).toEqual(
    expect.arrayContaining(['VDI.add_to_other_config', 'VBD.create', 'VBD.plug']),
  );
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '10'));
  const base = baseOf('disk');
  const tags = JSON.stringify(base.other_config);
  const failures = await failEachCall(stack.sim, points, {
    attempt: () => settle(stack, alice, stack.driver.addDisk(alice, 'pd-1', '10', body)),
    snapshot: () => {
      const { VDI, VBD } = poolSnapshot(stack.sim);
      return { VDI, VBD };
    },
    check: (where) => {
      const now = JSON.stringify((stack.sim.store.get('VDI', base.$ref) as any).other_config);
      return now === tags ? [] : [`${where}: base tags ${now}`];
    },
  });
  expect(failures).toEqual([]);
  expect(vbdAt(vmRef, '10')).toBeUndefined();
});

test("the instance's destroy releases the image, which stays", async () => {
  const ref = await spawnInstance(stack, 'pd-gone', { vcpus: 1, memory_mb: 256 });
  await setState(stack, ref, 'Running');
  await done(
    stack,
    stack.driver.addDisk(alice, 'pd-gone', '4', { image: 'disk', persistent: true }),
  );
  const base = baseOf('disk');
  expect(base.other_config.xcd_image_user).toBe('pd-gone');
  stack.calls.length = 0;
  expect((await done(stack, stack.driver.destroy(alice, 'pd-gone', {}))).status).toBe('succeeded');
  expect(stack.sim.store.has('VM', ref)).toBe(false);
  expect(stack.sim.store.has('VDI', base.$ref)).toBe(true);
  expect(baseOf('disk').other_config.xcd_image_user).toBeUndefined();
  expect(stack.driver.getImage(alice, 'disk')).toMatchObject({ status: 'active' });
  expect(stack.driver.getImage(alice, 'disk').in_use_by).toBeUndefined();
});

test('reconcile releases the claim of an instance that no longer exists, and no other', async () => {
  await setState(stack, vmRef, 'Halted');
  await done(
    stack,
    stack.driver.addDisk(alice, 'pd-1', '11', { image: 'shared', persistent: true }),
  );
  // A claim left by an instance whose destroy stopped after VM.destroy.
  const stale = baseOf('disk');
  await stack.xapi.call('VDI.add_to_other_config', stale.$ref, 'xcd_image_user', 'pd-vanished');
  await claimedAfter(stale.$ref, 'pd-vanished');
  await stack.driver.reconcilePass();
  await claimedAfter(stale.$ref, undefined);
  expect(stack.sim.store.has('VDI', stale.$ref)).toBe(true);
  // pd-1 exists: its claim stays.
  expect(baseOf('shared').other_config.xcd_image_user).toBe('pd-1');
  // The public image's user is alice's to know, not bob's.
  expect(stack.driver.getImage(alice, 'shared').in_use_by).toBe('pd-1');
  expect(stack.driver.getImage(bob, 'shared')).toMatchObject({ id: 'shared', namespace: 'alice' });
  expect(stack.driver.getImage(bob, 'shared').in_use_by).toBeUndefined();
  expect(
    stack.driver.listImages(bob, { limit: 50, offset: 0 }).items.find((i) => i.id === 'shared'),
  ).not.toHaveProperty('in_use_by');
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '11'));
  expect(baseOf('shared').other_config.xcd_image_user).toBeUndefined();
});

test('no instance snapshot is made or reverted while the instance has a persistent disk', async () => {
  await setState(stack, vmRef, 'Halted');
  const made = await done(stack, stack.driver.createSnapshot(alice, 'pd-1', 'before', {}));
  expect(made.status).toBe('succeeded');
  await done(stack, stack.driver.addDisk(alice, 'pd-1', '12', { image: 'disk', persistent: true }));
  const base = baseOf('disk');
  const refused = expect.objectContaining({ status: 409, code: 'operation_not_allowed' });
  expect(() => stack.driver.createSnapshot(alice, 'pd-1', 'with-image', {})).toThrow(refused);
  // A revert would destroy the disks it replaces: the image among them.
  expect(() => stack.driver.revertSnapshot(alice, 'pd-1', 'before', {})).toThrow(refused);
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '12'));
  expect((await done(stack, stack.driver.revertSnapshot(alice, 'pd-1', 'before', {}))).status).toBe(
    'succeeded',
  );
  expect(stack.sim.store.has('VDI', base.$ref)).toBe(true);
  expect(stack.driver.getImage(alice, 'disk')).toMatchObject({ status: 'active' });
});

test("a spawn with persistent_image boots from the image's own base, released by destroy", async () => {
  const base = baseOf('disk');
  stack.calls.length = 0;
  const { operation } = stack.driver.spawn(alice, 'pd-root', {
    image: 'disk',
    persistent_image: true,
    vcpus: 1,
    memory_mb: 256,
  });
  expect(await settle(stack, alice, operation)).toMatchObject({ status: 'succeeded' });
  for (const made of ['VDI.clone', 'VDI.copy']) expect(stack.calls).not.toContain(made);
  const ref = vmRefOf('pd-root');
  const root = vbdAt(ref, '0')!;
  expect([root.VDI, root.bootable]).toEqual([base.$ref, true]);
  expect(baseOf('disk').other_config).toMatchObject({
    xcd_image_user: 'pd-root',
    xcd_device: '0',
  });
  // Another instance cannot have it; a persistent image takes no root_disk_gb.
  const refused = (body: Record<string, unknown>): unknown => {
    try {
      stack.driver.spawn(alice, 'pd-root-2', { image: 'disk', ...body } as never);
    } catch (err) {
      return err;
    }
    throw new Error('accepted');
  };
  expect(refused({ persistent_image: true })).toMatchObject({ status: 409, code: 'image_in_use' });
  expect(refused({})).toMatchObject({ status: 409, code: 'image_in_use' });
  expect(() =>
    stack.driver.spawn(alice, 'pd-root-3', {
      image: 'shared',
      persistent_image: true,
      root_disk_gb: 8,
    }),
  ).toThrow(expect.objectContaining({ status: 400, code: 'invalid_request' }));
  expect((await done(stack, stack.driver.destroy(alice, 'pd-root', {}))).status).toBe('succeeded');
  expect(stack.sim.store.has('VDI', base.$ref)).toBe(true);
  expect(baseOf('disk').other_config.xcd_image_user).toBeUndefined();
  expect(stack.driver.getImage(alice, 'disk').in_use_by).toBeUndefined();
});

test('leaves the pool and the image as they were when any XAPI call of a persistent spawn fails', async () => {
  const body = { image: 'disk', persistent_image: true, vcpus: 1, memory_mb: 256 };
  stack.calls.length = 0;
  const first = stack.driver.spawn(alice, 'pd-f', body);
  expect(await settle(stack, alice, first.operation)).toMatchObject({ status: 'succeeded' });
  const points = callPoints(stack.calls);
  expect(points.map(([m]) => m)).toEqual(
    expect.arrayContaining(['VDI.add_to_other_config', 'VBD.create']),
  );
  await done(stack, stack.driver.destroy(alice, 'pd-f', {}));
  const base = baseOf('disk');
  const tags = JSON.stringify(base.other_config);
  const failures = await failEachCall(stack.sim, points, {
    attempt: async () => {
      const final = await settle(stack, alice, stack.driver.spawn(alice, 'pd-f', body).operation);
      return final;
    },
    snapshot: () => {
      const { VM, VDI, VBD } = poolSnapshot(stack.sim);
      return { VM, VDI, VBD };
    },
    check: async (where) => {
      await until(
        () => JSON.stringify(stack.xapi.mirror.get('VDI', base.$ref)?.other_config) === tags,
        5000,
      ).catch(() => undefined);
      const now = JSON.stringify((stack.sim.store.get('VDI', base.$ref) as any).other_config);
      return now === tags ? [] : [`${where}: base tags ${now}`];
    },
  });
  expect(failures).toEqual([]);
});

test('a detach stopped by a failed XAPI call is finished by its retry: the image released', async () => {
  await setState(stack, vmRef, 'Running');
  const body = { image: 'disk', persistent: true };
  await done(stack, stack.driver.addDisk(alice, 'pd-1', '13', body));
  const base = baseOf('disk');
  stack.calls.length = 0;
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '13'));
  const points = callPoints(stack.calls);
  expect(points.map(([m]) => m)).toEqual(
    expect.arrayContaining(['VBD.unplug', 'VBD.destroy', 'VDI.set_other_config']),
  );
  await done(stack, stack.driver.addDisk(alice, 'pd-1', '13', body));
  const failures = await failEachCall(stack.sim, points, {
    attempt: () => settle(stack, alice, stack.driver.removeDisk(alice, 'pd-1', '13')!),
    snapshot: () => ({ VDI: poolSnapshot(stack.sim).VDI }),
    check: async (where) => {
      const out: string[] = [];
      const retry = stack.driver.removeDisk(alice, 'pd-1', '13');
      if (retry && (await settle(stack, alice, retry)).status !== 'succeeded')
        out.push(`${where}: the retry did not succeed`);
      if (vbdAt(vmRef, '13')) out.push(`${where}: still attached`);
      const oc = (stack.sim.store.get('VDI', base.$ref) as any).other_config;
      if (oc.xcd_image_user !== undefined || oc.xcd_device !== undefined)
        out.push(`${where}: still claimed ${JSON.stringify(oc)}`);
      await done(stack, stack.driver.addDisk(alice, 'pd-1', '13', body));
      return out;
    },
  });
  expect(failures).toEqual([]);
  await done(stack, stack.driver.removeDisk(alice, 'pd-1', '13'));
  expect(stack.sim.store.has('VDI', base.$ref)).toBe(true);
});
