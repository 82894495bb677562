// Boot from volume: a spawn's root disk is a volume the caller names (an iSCSI LUN by its
// connection, or a VDI it may attach), attached at device 0 bootable by the volume procedures
// (procedures/volume.ts, procedures/iscsi.ts) and detached again by them on undo; the release of
// an iSCSI root volume after its instance is destroyed. Makes no disk and never destroys one.
import type { MirrorView, XapiClient } from '../../xapi';
import { ApiError } from '../errors';
import { VOLUME_NOT_FOUND, iscsiVolumeVdi, requireVdi } from '../ownership';
import type { OpRun } from '../procedures/common';
import {
  attachIscsiVolume,
  detachIscsiVolume,
  parseConnection,
  releaseIscsiVolume,
  srUuidOf,
} from '../procedures/iscsi';
import { iscsiTurn } from '../procedures/iscsi-sr';
import { attachVolume, detachVolume, vbdsOf } from '../procedures/volume';
import type { StepContext } from '../steps';
import { ISCSI_ROLE, TAG, type Owner } from '../tags';
import type { Schema, SpawnRequest } from '../types';
import { NULL_REF } from '../../xapi/ref';

export interface RootVolumePlan {
  volumeId: string;
  mode: 'RW' | 'RO';
  connection?: Schema<'VolumeConnection'>;
  /** The SR of the connection's target (procedures/iscsi.ts). */
  srUuid?: string;
}

/** The source tag of an instance booted from a volume (TAG.source). */
const SOURCE_PREFIX = 'volume:';
export const rootVolumeSource = (volumeId: string): string => `${SOURCE_PREFIX}${volumeId}`;

/**
 * The spawn request as its identity (TAG.spec, a hash XAPI's readers see) is taken from: without
 * a root volume's CHAP password, which a hash of a known body would let them guess at offline.
 * A retry with other credentials is the same spawn.
 */
export function spawnIdentity(body: SpawnRequest): SpawnRequest {
  const data = body.root_volume?.connection?.data;
  if (data?.auth_password === undefined) return body;
  const rest = { ...data };
  delete rest.auth_password;
  return {
    ...body,
    root_volume: {
      ...body.root_volume!,
      connection: { ...body.root_volume!.connection!, data: rest },
    },
  };
}

/** The device a root volume takes. */
const ROOT_DEVICE = '0';

/**
 * Checks the request's root volume against the mirror before any XAPI call: a bad portal 400,
 * a LUN of the caller already attached somewhere 409 volume_in_use, a VDI the caller may not
 * attach 404 volume_not_found (absent and not allowed alike).
 */
export function planRootVolume(
  mirror: MirrorView,
  owner: Owner,
  rv: Schema<'RootVolume'>,
  volumeSrs: readonly string[],
): RootVolumePlan {
  const plan: RootVolumePlan = { volumeId: rv.volume_id, mode: rv.mode ?? 'RW' };
  if (rv.connection) {
    plan.connection = rv.connection;
    plan.srUuid = srUuidOf(parseConnection(rv.connection));
    if ((iscsiVolumeVdi(mirror, owner.namespace, rv.volume_id)?.VBDs.length ?? 0) > 0)
      throw new ApiError(
        409,
        'volume_in_use',
        `volume '${rv.volume_id}' is attached to another instance`,
      );
    return plan;
  }
  const policy = { namespace: owner.namespace, volumeSrs };
  requireVdi(mirror, policy, rv.volume_id, { kind: 'device', vmRef: NULL_REF }, VOLUME_NOT_FOUND);
  return plan;
}

/** What the volume procedures need of the spawn: no view to wait for (the spawn waits once, for
 * the whole instance, at its end). */
function spawnRun(
  vmRef: string,
  owner: Owner,
  signal: AbortSignal,
  mirrorWaitMs: number,
  progress: (f: number) => void = () => undefined,
): OpRun {
  return {
    vmRef,
    owner,
    signal,
    onProgress: (f) => progress(f),
    steps: { signal },
    mirrorWaitMs,
    viewed: () => Promise.resolve(true),
  };
}

/**
 * Attaches the root volume at device 0, bootable, and registers its detach as the undo (an
 * iSCSI LUN's SR forgotten when nothing else uses it). A failure inside the attach undoes it.
 */
export async function attachRootVolume(
  xapi: XapiClient,
  ctx: StepContext,
  s: {
    vmRef: string;
    owner: Owner;
    rv: RootVolumePlan;
    serviceId: string;
    volumeSrs: readonly string[];
    mirrorWaitMs: number;
  },
): Promise<void> {
  const { rv } = s;
  const run = spawnRun(s.vmRef, s.owner, ctx.signal, s.mirrorWaitMs, (f) => ctx.progress(f));
  // The undo runs also when the spawn was cancelled: with a signal of its own.
  const undoRun = (): OpRun =>
    spawnRun(s.vmRef, s.owner, new AbortController().signal, s.mirrorWaitMs);
  const body = { device: ROOT_DEVICE, bootable: true, mode: rv.mode };
  if (!rv.connection) {
    await attachVolume(xapi, rv.volumeId, body, run, s.volumeSrs);
    ctx.onUndo('detach the root volume', () => detachVolume(xapi, rv.volumeId, undoRun()));
    return;
  }
  const srUuid = rv.srUuid!;
  await iscsiTurn(xapi, srUuid, () =>
    attachIscsiVolume(xapi, rv.volumeId, { ...body, connection: rv.connection }, run, s.serviceId),
  );
  const root = (await vbdsOf(xapi, s.vmRef)).find((v) => v.userdevice === ROOT_DEVICE);
  if (!root) throw new Error('spawn: the root volume is not at device 0');
  const vdiRef = root.VDI;
  ctx.onUndo('detach the root volume', () =>
    iscsiTurn(xapi, srUuid, () => detachIscsiVolume(xapi, vdiRef, undoRun())),
  );
}

/** The LUN VDIs and SRs of the iSCSI volumes attached to an instance's VM `vmRef` (the one it
 * was booted from among them), as the mirror shows them. */
export function iscsiVolumesOf(
  mirror: MirrorView,
  namespace: string,
  vmRef: string,
): Array<{ vdiRef: string; srUuid: string }> {
  const found: Array<{ vdiRef: string; srUuid: string }> = [];
  for (const vbdRef of mirror.get('VM', vmRef)?.VBDs ?? []) {
    const vbd = mirror.get('VBD', vbdRef);
    const vdi = vbd && vbd.VDI !== NULL_REF ? mirror.get('VDI', vbd.VDI) : undefined;
    const oc = vdi?.other_config;
    if (!vdi || oc?.[TAG.role] !== ISCSI_ROLE.vdi || oc[TAG.namespace] !== namespace) continue;
    const sr = mirror.get('SR', vdi.SR);
    if (sr) found.push({ vdiRef: vdi.$ref, srUuid: sr.uuid });
  }
  return found;
}

/** After its instance is gone: the LUN's volume tags taken off, or its SR forgotten when no VBD
 * uses it any more, exactly as a detach ends. */
export async function releaseIscsiVolumeOf(
  xapi: XapiClient,
  volume: { vdiRef: string; srUuid: string },
  mirrorWaitMs: number,
): Promise<void> {
  await iscsiTurn(xapi, volume.srUuid, () => releaseIscsiVolume(xapi, volume.vdiRef, mirrorWaitMs));
}
