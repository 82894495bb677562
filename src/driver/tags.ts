// The driver's only persistent state: keys it writes into `other_config` of the VMs, VDIs, VBDs,
// VIFs and SRs it creates or introduces, with helpers to read them from records and to write them through XAPI.
// Must not keep any other state: a restarted service rebuilds everything from these tags.
import { createHash } from 'node:crypto';
import type { XapiClient } from '../xapi';

export const TAG = {
  instanceId: 'xcd_instance_id',
  namespace: 'xcd_namespace',
  /** building | active | deleting on VMs; 'kept' on disks left behind by destroy(keep_disks). */
  state: 'xcd_state',
  /** The service id whose work in flight (building, deleting) this is: see lease.ts. */
  owner: 'xcd_owner',
  /** Hash of the spawn body, for idempotent retries. */
  spec: 'xcd_spec',
  /** JSON of the last operation (id, kind, status, ...), so GET answers after a restart. */
  operation: 'xcd_operation',
  /** What a device is for: 'root', 'disk', 'config-drive', 'nic'. */
  role: 'xcd_role',
  /** On a disk added at a device (PUT .../disks/{device}): that device, so a retry after a
   * crash between VDI.create and VBD.create finds the disk instead of making another. */
  device: 'xcd_device',
  /** The template uuid or 'image:<vdi uuid>' the instance was spawned from. */
  source: 'xcd_source',
  /** ISO 8601 time the spawn started. */
  createdAt: 'xcd_created_at',
} as const;

/** Keys on the networks the service makes (VLAN networks). */
export const NETWORK_TAG = {
  /** 'true' on a network the service made. */
  managed: 'xcd_managed',
  /** The VLAN tag the network carries on the service's VLAN device. */
  vlan: 'xcd_vlan',
} as const;

/** Keys on an image's base VDIs (one per SR; xcd_role 'image', xcd_namespace the importer's,
 * xcd_state 'importing' until its bytes are in, then 'active'; xcd_owner while importing). */
export const IMAGE_TAG = {
  id: 'xcd_image_id',
  /** The format the bytes were received in. */
  format: 'xcd_image_format',
  /** 'sha256:<hex>' of the bytes received. */
  checksum: 'xcd_image_checksum',
  name: 'xcd_image_name',
  /** 'true' when an admin made the image visible to every namespace. */
  public: 'xcd_image_public',
  /** On an instance's disk cloned from an image (PUT .../disks/{device} with `image`): the
   * image id, so a retry tells that disk from a blank one or another image's. */
  from: 'xcd_from_image',
  /** On a base: its own uuid, set before anything clones it. A clone copies it, so a VDI whose
   * mark is not its own uuid is a clone a crash left before it became an instance's disk. */
  base: 'xcd_image_base',
  /** On a base in persistent use (PUT .../disks/{device} with `persistent`): the instance id
   * (of the base's own namespace) whose disk it is, beside xcd_device; one instance at a time.
   * While it is set the image is neither cloned, exported, published nor deleted. */
  user: 'xcd_image_user',
} as const;

/** Is this VDI, tagged as an image's base, a clone of one not yet made an instance's disk (its
 * xcd_image_base mark names another uuid)? That is the moment between VDI.clone and the retag,
 * or what a crash there left: never a base, and what reconcile removes. */
export function isUnclaimedClone(vdi: {
  uuid: string;
  other_config: Record<string, string>;
}): boolean {
  const mark = vdi.other_config[IMAGE_TAG.base];
  return vdi.other_config[TAG.role] === 'image' && mark !== undefined && mark !== vdi.uuid;
}

/** Keys on the snapshots the service makes (and, while one is made, on the instance). */
export const SNAPSHOT_TAG = {
  id: 'xcd_snapshot_id',
  memory: 'xcd_snapshot_memory',
  /** Set on the instance while VM.snapshot runs, so the snapshot carries it: a create
   * interrupted before its 'tag' step is found (and adopted) by a retry of the same id. */
  pending: 'xcd_snapshot_pending',
} as const;

/** Keys on the snapshots of one disk (procedures/disk-snapshot.ts): the snapshot VDI carries
 * the instance's tags, xcd_role 'disk-snapshot', xcd_device and the id; while VDI.snapshot runs
 * the disk carries `pending` ('<device>/<id>'; so the snapshot does too, and a retry adopts
 * it). */
export const DISK_SNAPSHOT_TAG = {
  id: 'xcd_disk_snapshot_id',
  pending: 'xcd_disk_snapshot_pending',
} as const;

/** Keys of volumes attached by connection (iSCSI). The SR the service introduces for a target
 * carries xcd_role 'iscsi-sr', the target's portal and IQN, and while an attach runs xcd_state
 * 'building' with the attaching instance's owner tags and xcd_owner ('active' otherwise); the
 * LUN's VDI carries xcd_role 'iscsi-volume', xcd_namespace and the volume id, and so does its
 * VBD (with the instance's tags). Never a credential. */
export const VOLUME_TAG = {
  /** The id the volume was attached by (Cinder's volume id). */
  id: 'xcd_volume_id',
  /** On an iSCSI SR: the target's portal, `host:port`. */
  portal: 'xcd_iscsi_portal',
  /** On an iSCSI SR: the target's IQN. */
  iqn: 'xcd_iscsi_iqn',
} as const;

/** xcd_role values of what a volume by connection is made of. */
export const ISCSI_ROLE = { sr: 'iscsi-sr', vdi: 'iscsi-volume' } as const;

/** Is this SR one the service introduced for iSCSI volumes (one LUN per VDI)? */
export const isIscsiSr = (otherConfig: Record<string, string> | undefined): boolean =>
  otherConfig?.[TAG.role] === ISCSI_ROLE.sr;

export type InstanceState = 'building' | 'active' | 'deleting';
export type TaggedClass = 'VM' | 'VDI' | 'VBD' | 'VIF' | 'SR';

export interface Owner {
  namespace: string;
  instanceId: string;
}

/** The tags every object of an instance carries. */
export function ownerTags(
  owner: Owner,
  extra: Record<string, string> = {},
): Record<string, string> {
  return { [TAG.instanceId]: owner.instanceId, [TAG.namespace]: owner.namespace, ...extra };
}

export function ownerOf(otherConfig: Record<string, string> | undefined): Owner | undefined {
  const instanceId = otherConfig?.[TAG.instanceId];
  const namespace = otherConfig?.[TAG.namespace];
  return instanceId !== undefined && namespace !== undefined
    ? { instanceId, namespace }
    : undefined;
}

export function isOwnedBy(otherConfig: Record<string, string> | undefined, owner: Owner): boolean {
  const o = ownerOf(otherConfig);
  return o !== undefined && o.instanceId === owner.instanceId && o.namespace === owner.namespace;
}

/** Writes (or with `undefined` removes) keys of an object's other_config, one key at a time as
 * XAPI's map setters require: remove first, then add, so an existing key is replaced. */
export async function writeTags(
  xapi: XapiClient,
  cls: TaggedClass,
  ref: string,
  tags: Record<string, string | undefined>,
): Promise<void> {
  for (const [key, value] of Object.entries(tags)) {
    await xapi.call(`${cls}.remove_from_other_config`, ref, key);
    if (value !== undefined) await xapi.call(`${cls}.add_to_other_config`, ref, key, value);
  }
}

/** Merges tags into an object's other_config with one read and one write (`undefined`
 * removes a key). */
export async function mergeTags(
  xapi: XapiClient,
  cls: TaggedClass,
  ref: string,
  tags: Record<string, string | undefined>,
): Promise<void> {
  const current = await xapi.call<Record<string, string>>(`${cls}.get_other_config`, ref);
  const next: Record<string, string> = { ...current };
  for (const [k, v] of Object.entries(tags))
    if (v === undefined) delete next[k];
    else next[k] = v;
  await xapi.call(`${cls}.set_other_config`, ref, next);
}

/** Stable hash of a request body: keys sorted at every level, so key order does not matter. */
export function specHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, 32);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
