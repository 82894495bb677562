// Disks an instance owns: a new VDI made at a device, blank (VDI.create, tagged as the instance's
// disk for that device from its creation) or a clone of an image's base in the SR (VDI.clone,
// tagged at once, grown when asked), then VBD.create and VBD.plug when it runs; and such a
// disk detached and destroyed, with its disk snapshots; an image's own base as a persistent
// disk (procedures/persistent-disk.ts) attached and released, never destroyed. Each step
// registers its undo, so a failed add leaves the pool as it was; a disk an interrupted add or
// remove left unattached is taken up (add) or destroyed (remove) by the retry. Never destroys a
// VDI the instance does not own (volumes stay detach-only: procedures/volume.ts).
import type { MirrorView, XapiClient } from '../../xapi';
import type { VBDRecord, VDIRecord } from '../../xapi/datamodel.generated';
import { createAndPlug, ignoreGone, type OpRun } from './common';
import { destroyDiskSnapshots } from './disk-snapshot';
import { ApiError, isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { imageInUse, imageUser, persistentBase, requireImage } from '../ownership';
import {
  attachPersistent,
  claimedBases,
  detachPersistent,
  isClaimedBy,
  releaseUnattached,
} from './persistent-disk';
import { runSteps } from '../steps';
import { IMAGE_TAG, TAG, isIscsiSr, isOwnedBy, ownerTags, type Owner } from '../tags';
import type { Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';
import { GiB } from '../../xapi/units';

type DiskAddRequest = Schema<'DiskAddRequest'>;

/** An image's active base VDI in an SR, copied there first when it has none (images.ts). */
export type ImageBaseIn = (
  namespace: string,
  imageId: string,
  srRef: string,
  signal: AbortSignal,
) => Promise<string>;

/** The role of a data disk the instance owns (the spawn's `disks` and those added here). */
export const DISK_ROLE = 'disk';

/** SR types that never hold a guest's disks: ISO libraries and removable media. */
const NOT_FOR_DISKS = new Set(['iso', 'udev']);

export interface DiskTarget {
  srRef: string;
  srUuid: string;
  bytes: number;
  /** A clone of this image (its id and its base's virtual size); a blank disk without. */
  image?: { id: string; bytes: number };
  /** With `persistent`: the image's own base, attached as it is (no clone). */
  persistent?: { id: string; baseRef: string };
}

/**
 * The SR (named by uuid, or the pool's default), size and source of a new disk, checked from the
 * mirror: 404 sr_not_found for an SR that does not exist or cannot hold disks (the same answer),
 * 507 insufficient_storage when a blank disk is larger than the SR's free space. An image is one
 * the caller may use (404 image_not_found), imported (409 image_busy), and no larger than the
 * size asked (422 disk_smaller_than_image), in no instance's persistent use (409 image_in_use);
 * its base is copied to the SR once (images.ts checks that copy's space), and the clone shares
 * it. With `persistent` the target is the image's own base, for the instance at `device`
 * (persistentTarget).
 */
export function diskTarget(
  mirror: MirrorView,
  owner: Owner,
  device: string,
  body: DiskAddRequest,
): DiskTarget {
  const { namespace } = owner;
  if ('image' in body && body.persistent === true)
    return persistentTarget(mirror, owner, device, body);
  const pool = mirror.query('pool', { fields: ['default_SR'] })[0];
  const defaultRef = pool && pool.default_SR !== NULL_REF ? pool.default_SR : undefined;
  const sr =
    body.sr !== undefined
      ? mirror.getByUuid('SR', body.sr)
      : defaultRef !== undefined
        ? mirror.get('SR', defaultRef)
        : undefined;
  // The SRs the service introduced for iSCSI volumes hold one LUN per VDI, not new disks.
  const refused = (s: NonNullable<typeof sr>): boolean =>
    NOT_FOR_DISKS.has(s.type) ||
    s.content_type === 'iso' ||
    s.is_tools_sr === true ||
    isIscsiSr(s.other_config);
  if (!sr || refused(sr))
    throw new ApiError(
      404,
      'sr_not_found',
      body.sr !== undefined
        ? `SR '${body.sr}' not found`
        : 'no SR named and the pool has no default SR for disks',
    );
  if ('image' in body) return imageTarget(mirror, namespace, body, sr);
  const bytes = body.size_gb * GiB;
  const free = Number(sr.physical_size) - Number(sr.physical_utilisation);
  if (bytes > free)
    throw new ApiError(
      507,
      'insufficient_storage',
      `the storage repository is full: ${bytes} bytes requested, ${Math.max(0, free)} available`,
      { extra: { requested_bytes: bytes, maximum_bytes: Math.max(0, free) } },
    );
  return { srRef: sr.$ref, srUuid: sr.uuid, bytes };
}

function imageTarget(
  mirror: MirrorView,
  namespace: string,
  body: Schema<'ImageDiskRequest'>,
  sr: { $ref: string; uuid: string },
): DiskTarget {
  const image = requireImage(mirror, namespace, body.image);
  if (imageUser(image) !== undefined) throw imageInUse(body.image);
  const base = image.bases.find((b) => b.other_config[TAG.state] === 'active');
  if (!base) throw new ApiError(409, 'image_busy', `image '${body.image}' is being imported`);
  const imageBytes = Number(base.virtual_size);
  const bytes = body.size_gb !== undefined ? body.size_gb * GiB : imageBytes;
  if (bytes < imageBytes)
    throw new ApiError(
      422,
      'disk_smaller_than_image',
      `image '${body.image}' is ${imageBytes} bytes: a disk of ${bytes} bytes cannot hold it`,
      { extra: { image_size_gb: Math.ceil(imageBytes / GiB) } },
    );
  return { srRef: sr.$ref, srUuid: sr.uuid, bytes, image: { id: body.image, bytes: imageBytes } };
}

/** A persistent disk: the image's own base (ownership.ts decides which), never grown. */
function persistentTarget(
  mirror: MirrorView,
  owner: Owner,
  device: string,
  body: Schema<'ImageDiskRequest'>,
): DiskTarget {
  if (body.size_gb !== undefined)
    throw new ApiError(
      400,
      'invalid_request',
      'a persistent disk is the image itself: it takes no size_gb (it is not grown)',
    );
  const base = persistentBase(
    mirror,
    owner.namespace,
    body.image,
    owner.instanceId,
    device,
    body.sr,
  );
  const sr = mirror.get('SR', base.SR);
  return {
    srRef: base.SR,
    srUuid: sr?.uuid ?? '',
    bytes: Number(base.virtual_size),
    persistent: { id: body.image, baseRef: base.$ref },
  };
}

/** What a device holds, as far as a disk add is concerned. */
export type DeviceHolding =
  | { kind: 'free' }
  /** The instance's own data disk of the asked size (on the asked SR): a retry. */
  | { kind: 'same' }
  | { kind: 'other' };

/** Compares what the device holds with the disk asked for (records from XAPI or the mirror). */
export function holding(
  owner: Owner,
  vbd: Pick<VBDRecord, 'type' | 'VDI'> | undefined,
  vdi: Pick<VDIRecord, 'other_config' | 'virtual_size' | 'SR'> | undefined,
  target: Pick<DiskTarget, 'srRef' | 'bytes' | 'image' | 'persistent'>,
  srNamed: boolean,
): DeviceHolding {
  if (!vbd) return { kind: 'free' };
  if (target.persistent) return { kind: vbd.VDI === target.persistent.baseRef ? 'same' : 'other' };
  const same =
    vbd.type === 'Disk' &&
    vdi !== undefined &&
    isOwnedBy(vdi.other_config, owner) &&
    vdi.other_config[TAG.role] === DISK_ROLE &&
    isDiskAsked(vdi, target, srNamed);
  return { kind: same ? 'same' : 'other' };
}

/** Is this disk of the instance the one asked: its size, SR (when named) and source. */
function isDiskAsked(
  vdi: Pick<VDIRecord, 'other_config' | 'virtual_size' | 'SR'>,
  target: Pick<DiskTarget, 'srRef' | 'bytes' | 'image'>,
  srNamed: boolean,
): boolean {
  return (
    Number(vdi.virtual_size) === target.bytes &&
    (!srNamed || vdi.SR === target.srRef) &&
    vdi.other_config[IMAGE_TAG.from] === target.image?.id
  );
}

export function deviceInUse(device: string): ApiError {
  return new ApiError(409, 'device_in_use', `device ${device} already holds a disk`, {
    extra: { device },
  });
}

async function vbdAt(
  xapi: XapiClient,
  vmRef: string,
  device: string,
): Promise<(VBDRecord & { ref: string }) | undefined> {
  for (const ref of await xapi.call<string[]>('VM.get_VBDs', vmRef)) {
    const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', ref), isGone);
    if (vbd && vbd.userdevice === device) return { ...vbd, ref };
  }
  return undefined;
}

interface AddState {
  vdiRef?: string;
  baseRef?: string;
}

/** The instance's disks tagged for `device` that no VBD holds (an interrupted add or remove
 * left them), as the mirror shows them. */
export function unattachedDisks(mirror: MirrorView, owner: Owner, device: string): VdiRow[] {
  return mirror
    .query('VDI', {
      where: {
        [`other_config.${TAG.namespace}`]: owner.namespace,
        [`other_config.${TAG.instanceId}`]: owner.instanceId,
        [`other_config.${TAG.device}`]: device,
      },
      fields: ['other_config', 'VBDs', 'virtual_size', 'SR', 'is_a_snapshot'],
    })
    .filter(
      // Never a snapshot of the disk: VDI.snapshot copies the disk's tags, and one a snapshot
      // of a single disk had not yet re-tagged still shows them (procedures/disk-snapshot.ts).
      (v) => v.other_config[TAG.role] === DISK_ROLE && v.VBDs.length === 0 && !v.is_a_snapshot,
    );
}

type VdiRow = { $ref: string } & Pick<VDIRecord, 'other_config' | 'VBDs' | 'virtual_size' | 'SR'>;

/** Of the unattached disks for the device, one of the asked size (and SR), asked of XAPI. */
async function leftFor(
  xapi: XapiClient,
  owner: Owner,
  device: string,
  target: DiskTarget,
  srNamed: boolean,
): Promise<string | undefined> {
  for (const v of unattachedDisks(xapi.mirror, owner, device)) {
    if (!isDiskAsked(v, target, srNamed)) continue;
    const vbds = await ignoreGone(xapi.call<string[]>('VDI.get_VBDs', v.$ref), isGone);
    if (vbds && vbds.length === 0) return v.$ref;
  }
  return undefined;
}

/** Makes the disk and attaches it at `device`, checked again in the instance's turn. */
export async function addDisk(
  xapi: XapiClient,
  device: string,
  body: DiskAddRequest,
  run: OpRun,
  imageBase: ImageBaseIn,
): Promise<void> {
  const target = diskTarget(xapi.mirror, run.owner, device, body);
  const at = await vbdAt(xapi, run.vmRef, device);
  const vdi =
    at && at.VDI !== NULL_REF
      ? await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', at.VDI), isGone)
      : undefined;
  const held = holding(run.owner, at, vdi, target, body.sr !== undefined);
  if (held.kind === 'same') return; // a retry: the disk is there
  if (held.kind === 'other') throw deviceInUse(device);
  if (target.persistent) {
    await attachPersistent(xapi, run, device, target.persistent, body.bootable === true);
    await run.viewed((v) => !!v?.disks.some((d) => d.device === device && d.type === 'disk'));
    return;
  }
  const name = xapi.mirror.get('VM', run.vmRef)?.name_label ?? run.owner.instanceId;
  const left = await leftFor(xapi, run.owner, device, target, body.sr !== undefined);
  const { image } = target;
  const tags = ownerTags(run.owner, {
    [TAG.role]: DISK_ROLE,
    [TAG.device]: device,
    ...(image ? { [IMAGE_TAG.from]: image.id } : {}),
  });
  await runSteps<AddState>(
    [
      {
        name: 'image-base',
        weight: 2,
        when: () => left === undefined && image !== undefined,
        run: async (s) => {
          // The image's base in the SR, shared by every clone there: never undone here.
          s.baseRef = await imageBase(run.owner.namespace, image!.id, target.srRef, run.signal);
        },
      },
      {
        name: 'VDI.clone',
        when: () => left === undefined && image !== undefined,
        run: async (s, ctx) => {
          // Copy-on-write, a quick metadata call; the clone carries the base's tags until the
          // next call makes it this instance's disk.
          const vdiRef = await xapi.call<string>('VDI.clone', s.baseRef, {});
          s.vdiRef = vdiRef;
          ctx.onUndo('destroy the disk', async () => {
            await ignoreGone(xapi.call('VDI.destroy', vdiRef), isGone);
          });
          await xapi.call('VDI.set_other_config', vdiRef, tags);
          await xapi.call('VDI.set_name_label', vdiRef, `${name} disk ${device}`);
        },
      },
      {
        name: 'VDI.resize',
        when: () => left === undefined && image !== undefined && target.bytes > image.bytes,
        run: async (s) => {
          await xapi.callAsync('VDI.resize', [s.vdiRef, target.bytes], { signal: run.signal });
        },
      },
      {
        name: 'VDI.create',
        when: () => left === undefined && image === undefined,
        run: async (s, ctx) => {
          const vdiRef = await xapi.call<string>('VDI.create', {
            name_label: `${name} disk ${device}`,
            name_description: `disk of instance ${run.owner.instanceId}`,
            SR: target.srRef,
            virtual_size: target.bytes,
            type: 'user',
            sharable: false,
            read_only: false,
            other_config: tags,
            xenstore_data: {},
            sm_config: {},
            tags: [],
          });
          s.vdiRef = vdiRef;
          ctx.onUndo('destroy the disk', async () => {
            await ignoreGone(xapi.call('VDI.destroy', vdiRef), isGone);
          });
        },
      },
      {
        name: 'attach',
        weight: 2,
        run: async (s) => {
          await createAndPlug(xapi, run, 'VBD', {
            VM: run.vmRef,
            VDI: s.vdiRef ?? left,
            userdevice: device,
            bootable: body.bootable === true,
            mode: 'RW',
            type: 'Disk',
            empty: false,
            unpluggable: true,
            other_config: ownerTags(run.owner, { [TAG.role]: DISK_ROLE }),
            qos_algorithm_type: '',
            qos_algorithm_params: {},
          });
        },
      },
    ],
    {},
    run.steps,
  );
  await run.viewed((v) => !!v?.disks.some((d) => d.device === device && d.type === 'disk'));
}

/** Is this a data disk the instance owns (not its root disk, config drive, or a volume)? */
export function isOwnedDataDisk(
  owner: Owner,
  vbd: Pick<VBDRecord, 'type' | 'other_config'>,
  vdi: Pick<VDIRecord, 'other_config'> | undefined,
): boolean {
  return (
    vbd.type === 'Disk' &&
    vbd.other_config?.[TAG.role] !== 'volume' &&
    vdi !== undefined &&
    isOwnedBy(vdi.other_config, owner) &&
    vdi.other_config[TAG.role] === DISK_ROLE
  );
}

/** Is this the instance's persistent disk (an image's base it claims)? */
export function isPersistentDisk(
  owner: Owner,
  vbd: Pick<VBDRecord, 'type'>,
  vdi: Pick<VDIRecord, 'other_config' | 'is_a_snapshot'> | undefined,
): boolean {
  return vbd.type === 'Disk' && isClaimedBy(vdi, owner);
}

export function notOwnedDisk(device: string): ApiError {
  return new ApiError(
    409,
    'operation_not_allowed',
    `device ${device} holds no data disk the instance owns (a volume detaches through /volumes; ` +
      'the root disk and config drive go with the instance)',
  );
}

/** Detaches the instance's data disk at `device` and destroys its VDI, and any disk tagged for
 * the device that an interrupted add or remove left unattached; nothing there: done. A
 * persistent disk is detached and its base released, never destroyed. */
export async function removeDisk(xapi: XapiClient, device: string, run: OpRun): Promise<void> {
  await releaseUnattached(xapi, run.owner, device);
  for (const v of unattachedDisks(xapi.mirror, run.owner, device)) {
    const vbds = await ignoreGone(xapi.call<string[]>('VDI.get_VBDs', v.$ref), isGone);
    if (vbds && vbds.length === 0) await ignoreGone(xapi.call('VDI.destroy', v.$ref), isGone);
  }
  const vbd = await vbdAt(xapi, run.vmRef, device);
  if (!vbd || vbd.VDI === NULL_REF) {
    await run.viewed(
      () =>
        unattachedDisks(xapi.mirror, run.owner, device).length === 0 &&
        claimedBases(xapi.mirror, run.owner, device).length === 0,
    );
    return;
  }
  const vdiRef = vbd.VDI;
  const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vdiRef), isGone);
  if (isPersistentDisk(run.owner, vbd, vdi)) {
    await detachPersistent(xapi, run, vbd);
    await waitForMirror(
      xapi.mirror,
      () =>
        !xapi.mirror.get('VBD', vbd.ref) && !isClaimedBy(xapi.mirror.get('VDI', vdiRef), run.owner),
      run.mirrorWaitMs,
    );
    await run.viewed((v) => !v?.disks.some((d) => d.device === device));
    return;
  }
  if (!isOwnedDataDisk(run.owner, vbd, vdi)) throw notOwnedDisk(device);
  if (vbd.currently_attached) {
    await xapi.callAsync('VBD.unplug', [vbd.ref], {
      signal: run.signal,
      onProgress: (f) => run.onProgress(f * 0.6, 'VBD.unplug'),
    });
  }
  await ignoreGone(xapi.call('VBD.destroy', vbd.ref), isGone);
  await ignoreGone(xapi.callAsync('VDI.destroy', [vdiRef], { signal: run.signal }), isGone);
  await destroyDiskSnapshots(xapi, run.owner, device);
  await waitForMirror(
    xapi.mirror,
    () => !xapi.mirror.get('VBD', vbd.ref) && !xapi.mirror.get('VDI', vdiRef),
    run.mirrorWaitMs,
  );
  await run.viewed((v) => !v?.disks.some((d) => d.device === device));
}
