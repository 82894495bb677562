// Ownership of every VDI a request names (a spawn's image_vdi or image, a volume to attach, a
// disk to grow, an image to read, export, delete or use as a persistent disk; an iSCSI volume
// by its volume id): the one
// check deciding whether the caller may use it, answered from the mirror. "Absent"
// and "not yours" must stay indistinguishable to callers: nothing here says why a VDI is refused.
// Makes no XAPI call and holds no state.
import type { MirrorView } from '../xapi';
import type { VDIRecord } from '../xapi/datamodel.generated';
import { ApiError } from './errors';
import { IMAGE_TAG, ISCSI_ROLE, TAG, VOLUME_TAG, isUnclaimedClone } from './tags';
import { NULL_REF } from '../xapi/ref';

type VdiRec = VDIRecord & { $ref: string };

/** What the caller does with the VDI. */
export type VdiUse =
  /** Copied as the root disk of a new instance. */
  | { kind: 'image' }
  /** Attached to, or grown on, the caller's instance whose VM is `vmRef`. */
  | { kind: 'device'; vmRef: string };

export interface VdiPolicy {
  /** The caller's namespace (the xcd_namespace tag of what it owns). */
  namespace: string;
  /** The operator's volume sources: SR uuids whose untagged plain user disks, attached to no
   * other VM, any namespace may use as images and volumes. Default: none. */
  volumeSrs?: readonly string[];
}

/**
 * The VDI when the caller may use it this way, undefined otherwise (absent and refused alike).
 *
 * Allowed: a guest disk (type 'user', or 'system' when tagged; not a snapshot's, not any VM's
 * suspend image) that no
 * VM outside the caller's namespace holds, and that is either tagged with the caller's namespace
 * (its instances' disks, its kept disks) or untagged on one of the operator's volume SRs and held
 * by no VM but the instance it is used on.
 */
export function usableVdi(
  mirror: MirrorView,
  policy: VdiPolicy,
  vdi: { uuid: string } | { ref: string },
  use: VdiUse,
): VdiRec | undefined {
  const rec = 'uuid' in vdi ? mirror.getByUuid('VDI', vdi.uuid) : mirror.get('VDI', vdi.ref);
  if (!rec) return undefined;
  // Snapshots' disks, and disks that are not a guest's (suspend images, crashdumps, HA and
  // metadata disks ...). A provisioned root disk is 'system' (as xapi's default templates make
  // it): that is a guest disk too, but only the caller's own, tagged ones are usable.
  const owner = rec.other_config?.[TAG.namespace];
  const guestDisk = rec.type === 'user' || (rec.type === 'system' && owner !== undefined);
  if (!guestDisk || rec.is_a_snapshot || (rec.snapshot_of ?? NULL_REF) !== NULL_REF)
    return undefined;
  // An image's base VDI is used through its image id alone (usableImage), never as a disk; an
  // iSCSI LUN through its volume id alone (iscsiVolumeVdi).
  const role = rec.other_config?.[TAG.role];
  if (role === 'image' || role === ISCSI_ROLE.vdi) return undefined;
  // A suspend image marked 'user' (VM.suspend_VDI of any VM, snapshots and checkpoints included).
  if (mirror.count('VM', { suspend_VDI: rec.$ref }) > 0) return undefined;
  const here = use.kind === 'device' ? use.vmRef : undefined;
  let heldElsewhere = false;
  for (const vbdRef of rec.VBDs) {
    const vmRef = mirror.get('VBD', vbdRef)?.VM;
    if (!vmRef || vmRef === NULL_REF || vmRef === here) continue;
    heldElsewhere = true;
    const vm = mirror.get('VM', vmRef);
    if (vm?.other_config?.[TAG.namespace] !== policy.namespace) return undefined; // another's VM
  }
  if (owner !== undefined) return owner === policy.namespace ? rec : undefined;
  const sr = mirror.get('SR', rec.SR);
  if (!sr || !(policy.volumeSrs ?? []).includes(sr.uuid) || heldElsewhere) return undefined;
  return rec;
}

/** usableVdi, or the route's not-found answer: the same status, code and message shape whether
 * the VDI is absent or not the caller's. */
export function requireVdi(
  mirror: MirrorView,
  policy: VdiPolicy,
  uuid: string,
  use: VdiUse,
  notFound: { code: string; what: string },
): VdiRec {
  const rec = usableVdi(mirror, policy, { uuid }, use);
  if (!rec) throw vdiNotFound(notFound.code, notFound.what, uuid);
  return rec;
}

export function vdiNotFound(code: string, what: string, uuid: string): ApiError {
  return new ApiError(404, code, `${what} '${uuid}' not found`);
}

/** The answer of a volume route for a VDI the caller may not attach (or that does not exist). */
export const VOLUME_NOT_FOUND = { code: 'volume_not_found', what: 'VDI' } as const;
/** The answer of a spawn whose image_vdi the caller may not copy (or that does not exist). */
export const IMAGE_NOT_FOUND = { code: 'image_not_found', what: 'image VDI' } as const;

/** An image as its base VDIs show it: one per SR. */
export interface ImageBases {
  namespace: string;
  public: boolean;
  bases: VdiRec[];
}

/**
 * The image `imageId` as the caller may use it, undefined otherwise (absent and another
 * namespace's private image alike). An image is its base VDIs (xcd_role 'image'): the caller's
 * namespace's own, or a public one, which every namespace reads and spawns from. Deleting a
 * public image is an admin's (the resource module answers 403); the bases of one image id in
 * one namespace are found whatever their state.
 */
export function usableImage(
  mirror: MirrorView,
  namespace: string,
  imageId: string,
): ImageBases | undefined {
  const rows = mirror.query('VDI', {
    where: { [`other_config.${IMAGE_TAG.id}`]: imageId, [`other_config.${TAG.role}`]: 'image' },
    fields: ['other_config'],
  });
  const own: VdiRec[] = [];
  const shared = new Map<string, VdiRec[]>();
  for (const row of rows) {
    const rec = mirror.get('VDI', row.$ref);
    if (!rec || rec.is_a_snapshot || isUnclaimedClone(rec)) continue;
    const ns = rec.other_config[TAG.namespace];
    if (ns === namespace) own.push(rec);
    else if (ns !== undefined && rec.other_config[IMAGE_TAG.public] === 'true')
      shared.set(ns, [...(shared.get(ns) ?? []), rec]);
  }
  if (own.length > 0)
    return {
      namespace,
      public: own.some((r) => r.other_config[IMAGE_TAG.public] === 'true'),
      bases: own,
    };
  const [first] = [...shared.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return first ? { namespace: first[0], public: true, bases: first[1] } : undefined;
}

/** usableImage, or 404 image_not_found (absent and not the caller's answer alike). */
export function requireImage(mirror: MirrorView, namespace: string, imageId: string): ImageBases {
  const image = usableImage(mirror, namespace, imageId);
  if (!image) throw new ApiError(404, 'image_not_found', `image '${imageId}' not found`);
  return image;
}

/** The instance whose persistent disk the image is (a base claimed by IMAGE_TAG.user), or
 * undefined when no instance uses it so. */
export function imageUser(image: ImageBases): string | undefined {
  return image.bases.map((b) => b.other_config[IMAGE_TAG.user]).find((u) => u !== undefined);
}

/** 409 image_in_use: the image is an instance's persistent disk. */
export function imageInUse(imageId: string): ApiError {
  return new ApiError(
    409,
    'image_in_use',
    `image '${imageId}' is in use as an instance's persistent disk`,
  );
}

/**
 * The base VDI a persistent disk of the caller's instance is: the image's own active base (the
 * one in `srUuid` when named; an image with copies in several SRs must name one). Only the
 * caller's own image: another namespace's public image answers 403 forbidden, an absent one
 * 404 image_not_found, one still importing 409 image_busy, one another instance (or this one at
 * another device) uses 409 image_in_use (the claim of `instanceId` at `device` is a retry).
 */
export function persistentBase(
  mirror: MirrorView,
  namespace: string,
  imageId: string,
  instanceId: string,
  device: string,
  srUuid?: string,
): VdiRec {
  const image = requireImage(mirror, namespace, imageId);
  if (image.namespace !== namespace)
    throw new ApiError(403, 'forbidden', "another namespace's image cannot be a persistent disk");
  const user = imageUser(image);
  const at = image.bases.map((b) => b.other_config[TAG.device]).find((d) => d !== undefined);
  if (user !== undefined && (user !== instanceId || (at !== undefined && at !== device)))
    throw imageInUse(imageId);
  const active = image.bases.filter((b) => b.other_config[TAG.state] === 'active');
  if (active.length === 0)
    throw new ApiError(409, 'image_busy', `image '${imageId}' is being imported`);
  const srRef = srUuid !== undefined ? mirror.getByUuid('SR', srUuid)?.$ref : undefined;
  const named = srUuid !== undefined ? active.filter((b) => b.SR === srRef) : active;
  if (named.length !== 1)
    throw new ApiError(
      400,
      'invalid_request',
      srUuid !== undefined
        ? `image '${imageId}' has no copy in SR '${srUuid}'`
        : `image '${imageId}' has copies in several SRs: name one with \`sr\``,
    );
  return named[0]!;
}

/**
 * The VDI of the caller's volume attached by connection (an iSCSI LUN) with this volume id, or
 * undefined (absent and another namespace's alike): the VDI tagged with the caller's namespace
 * and the volume id.
 */
export function iscsiVolumeVdi(
  mirror: MirrorView,
  namespace: string,
  volumeId: string,
): VdiRec | undefined {
  const rows = mirror.query('VDI', {
    where: {
      [`other_config.${VOLUME_TAG.id}`]: volumeId,
      [`other_config.${TAG.role}`]: ISCSI_ROLE.vdi,
      [`other_config.${TAG.namespace}`]: namespace,
    },
    fields: ['uuid'],
  });
  return rows.length > 0 ? mirror.get('VDI', rows[0]!.$ref) : undefined;
}
