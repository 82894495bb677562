// Planning a spawn: resolves everything the request names (template by uuid or name_label,
// image VDI through the ownership check, SRs by uuid or the pool default, networks by uuid,
// name_label or bridge) from the mirror, before any XAPI call, so unknown names answer 404 and
// leave the pool untouched. Makes no XAPI call and holds no state.
import type { MirrorView } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import { ApiError } from '../errors';
import {
  IMAGE_NOT_FOUND,
  imageInUse,
  imageUser,
  persistentBase,
  requireImage,
  requireVdi,
} from '../ownership';
import { TAG, type Owner } from '../tags';
import type { SpawnRequest } from '../types';
import { NULL_REF } from '../../xapi/ref';
import { MiB, GiB } from '../../xapi/units';
import { bootOf, resolveBoot, type BootSettings } from '../boot';
import { planRootVolume, rootVolumeSource, type RootVolumePlan } from './root-volume';

export interface SpawnPlan {
  owner: Owner;
  hash: string;
  name: string;
  body: SpawnRequest;
  templateRef?: string;
  templateRec?: VMRecord;
  /** The template's other_config.disks XML, when provision must build its disks. */
  provisionXml?: string;
  imageVdiRef?: string;
  /** The image (/v1/images) whose base the root disk clones. */
  imageId?: string;
  /** With `persistent_image`: that base itself is the root disk (procedures/persistent-disk.ts). */
  persistentBaseRef?: string;
  source: string;
  /** SR for the root disk, the image copy and the config drive (undefined: the template's choice). */
  srRef?: string;
  srUuid?: string;
  disks: Array<{ bytes: number; srRef: string }>;
  /** A NIC with a `vlan` gets its network (found or made) in the spawn's nics step. */
  nics: Array<{ networkRef?: string; vlan?: number; portId?: string; mac?: string; mtu: number }>;
  userData?: Buffer;
  vcpus: number;
  memoryBytes: number;
  /** VCPUs_max and memory_static_max: the ceilings of a live resize (at least the above). */
  maxVcpus: number;
  maxMemoryBytes: number;
  /** The boot settings to write (boot.ts); undefined: the template's (or a blank VM's) stay. */
  boot?: BootSettings;
  /** Boot from volume: the volume at device 0, no root disk made (root-volume.ts). */
  rootVolume?: RootVolumePlan;
}

type Mirror = MirrorView;

function notFound(code: string, what: string, name: string): ApiError {
  return new ApiError(404, code, `${what} '${name}' not found`);
}

export function defaultSr(mirror: Mirror): { ref: string; uuid: string } | undefined {
  const pool = mirror.query('pool', { fields: ['default_SR'] })[0];
  const sr = pool && pool.default_SR !== NULL_REF ? mirror.get('SR', pool.default_SR) : undefined;
  return sr ? { ref: sr.$ref, uuid: sr.uuid } : undefined;
}

function resolveSr(mirror: Mirror, uuid: string | undefined): { ref: string; uuid: string } {
  if (uuid !== undefined) {
    const sr = mirror.getByUuid('SR', uuid);
    if (!sr) throw notFound('sr_not_found', 'SR', uuid);
    return { ref: sr.$ref, uuid: sr.uuid };
  }
  const d = defaultSr(mirror);
  if (!d) throw new ApiError(404, 'sr_not_found', 'no SR named and the pool has no default SR');
  return d;
}

function resolveNetwork(mirror: Mirror, name: string): { ref: string; mtu: number } {
  const byUuid = mirror.getByUuid('network', name);
  const found =
    byUuid ??
    mirror.query('network', { where: { name_label: name }, fields: ['MTU'], limit: 1 })[0] ??
    mirror.query('network', { where: { bridge: name }, fields: ['MTU'], limit: 1 })[0];
  if (!found) throw notFound('network_not_found', 'network', name);
  return { ref: found.$ref, mtu: Number(found.MTU) || 1500 };
}

function resolveTemplate(mirror: Mirror, name: string): VMRecord & { $ref: string } {
  const byUuid = mirror.getByUuid('VM', name);
  // A spawn's clone is a template until its build unmarks it: never resolve to one.
  const building = (oc: Record<string, string> | undefined): boolean =>
    oc?.[TAG.state] === 'building';
  if (byUuid && byUuid.is_a_template && !byUuid.is_a_snapshot && !building(byUuid.other_config))
    return byUuid;
  const row = mirror
    .query('VM', {
      where: { name_label: name, is_a_template: true, is_a_snapshot: false },
      fields: ['uuid', 'other_config'],
    })
    .find((r) => !building(r.other_config));
  const rec = row ? mirror.get('VM', row.$ref) : undefined;
  if (!rec) throw notFound('template_not_found', 'template', name);
  return rec;
}

/**
 * Resolves everything the body names, from the mirror, before any XAPI call (404s here). The
 * image VDI must pass the ownership check (ownership.ts): the caller's namespace's, or an unused
 * disk of one of `volumeSrs` (the operator's volume sources; none by default).
 */
export function planSpawn(
  mirror: Mirror,
  owner: Owner,
  hash: string,
  body: SpawnRequest,
  volumeSrs: readonly string[] = [],
): SpawnPlan {
  const plan: SpawnPlan = {
    owner,
    hash,
    body,
    name: body.name ?? owner.instanceId,
    source: '',
    disks: [],
    nics: [],
    vcpus: 1,
    memoryBytes: 512 * MiB,
    maxVcpus: 1,
    maxMemoryBytes: 512 * MiB,
  };
  const explicitSr = body.sr !== undefined ? resolveSr(mirror, body.sr) : undefined;
  if (body.template !== undefined) {
    const t = resolveTemplate(mirror, body.template);
    plan.templateRef = t.$ref;
    plan.templateRec = t;
    plan.source = t.uuid;
    plan.vcpus = Number(t.VCPUs_at_startup) || 1;
    plan.memoryBytes = Number(t.memory_static_max) || plan.memoryBytes;
    const xml = t.other_config?.disks;
    if (xml && /<disk\b/.test(xml) && t.VBDs.length === 0) plan.provisionXml = xml;
  } else if (body.image_vdi !== undefined) {
    const vdi = requireVdi(
      mirror,
      { namespace: owner.namespace, volumeSrs },
      body.image_vdi,
      { kind: 'image' },
      IMAGE_NOT_FOUND,
    );
    plan.imageVdiRef = vdi.$ref;
    plan.source = `image:${vdi.uuid}`;
  } else if (body.image !== undefined) {
    const image = requireImage(mirror, owner.namespace, body.image);
    // An image that is an instance's persistent disk is not cloned.
    if (body.persistent_image !== true && imageUser(image) !== undefined)
      throw imageInUse(body.image);
    plan.imageId = body.image;
    plan.source = `image-id:${body.image}`;
    if (body.persistent_image === true) {
      if (body.root_disk_gb !== undefined)
        throw new ApiError(
          400,
          'invalid_request',
          'a persistent image is not grown: no root_disk_gb',
        );
      const base = persistentBase(
        mirror,
        owner.namespace,
        body.image,
        owner.instanceId,
        '0',
        body.sr,
      );
      plan.persistentBaseRef = base.$ref;
    }
  } else if (body.root_volume !== undefined) {
    if (body.root_disk_gb !== undefined)
      throw new ApiError(400, 'invalid_request', 'root_disk_gb does not apply to a root_volume');
    plan.rootVolume = planRootVolume(mirror, owner, body.root_volume, volumeSrs);
    plan.source = rootVolumeSource(body.root_volume.volume_id);
  } else {
    throw new ApiError(
      400,
      'invalid_request',
      'a spawn names a template, an image_vdi, an image or a root_volume',
    );
  }
  if (body.persistent_image === true && body.image === undefined)
    throw new ApiError(400, 'invalid_request', 'persistent_image goes with an image');
  plan.boot = resolveBoot(
    body,
    plan.templateRec
      ? bootOf(plan.templateRec)
      : { vmMode: 'hvm', firmware: 'bios', secureBoot: false },
  );
  if (body.vcpus !== undefined) plan.vcpus = body.vcpus;
  if (body.memory_mb !== undefined) plan.memoryBytes = body.memory_mb * MiB;
  plan.maxVcpus = body.max_vcpus ?? plan.vcpus;
  plan.maxMemoryBytes =
    body.max_memory_mb !== undefined ? body.max_memory_mb * MiB : plan.memoryBytes;
  if (plan.maxVcpus < plan.vcpus || plan.maxMemoryBytes < plan.memoryBytes)
    throw new ApiError(
      422,
      'invalid_value',
      `max_vcpus and max_memory_mb must be at least the instance's ${plan.vcpus} vCPUs and ${plan.memoryBytes / MiB} MiB`,
    );
  const needsSr =
    plan.imageVdiRef !== undefined ||
    plan.imageId !== undefined ||
    body.user_data !== undefined ||
    body.metadata !== undefined;
  const sr = explicitSr ?? (needsSr ? resolveSr(mirror, undefined) : defaultSr(mirror));
  if (sr) {
    plan.srRef = sr.ref;
    plan.srUuid = sr.uuid;
  }
  for (const d of body.disks ?? []) {
    const dsr =
      d.sr !== undefined ? resolveSr(mirror, d.sr) : (explicitSr ?? resolveSr(mirror, undefined));
    plan.disks.push({ bytes: d.size_gb * GiB, srRef: dsr.ref });
  }
  for (const n of body.nics ?? []) {
    const net = n.vlan === undefined ? resolveNetwork(mirror, n.network ?? '') : undefined;
    plan.nics.push({
      ...(net ? { networkRef: net.ref } : { vlan: n.vlan }),
      mtu: net?.mtu ?? 1500,
      ...(n.port_id !== undefined ? { portId: n.port_id } : {}),
      ...(n.mac ? { mac: n.mac.toLowerCase() } : {}),
    });
  }
  if (body.user_data !== undefined) plan.userData = Buffer.from(body.user_data, 'base64');
  return plan;
}
