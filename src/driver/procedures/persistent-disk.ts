// Persistent disks: an image's own base VDI attached to one instance of its namespace (PUT
// .../disks/{device} with `persistent`), claimed by IMAGE_TAG.user and xcd_device on the base;
// released (its VBD gone, the claim removed, the base staying the image) by a detach, by the
// instance's destroy and by reconcile. Must never destroy a base, nor touch another image's.
import type { MirrorView, XapiClient } from '../../xapi';
import type { VBDRecord, VDIRecord } from '../../xapi/datamodel.generated';
import { createAndPlug, ignoreGone, type OpRun } from './common';
import { ApiError, isGone, xapiCode } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { imageInUse } from '../ownership';
import { runSteps, type StepContext } from '../steps';
import { IMAGE_TAG, TAG, mergeTags, ownerTags, writeTags, type Owner } from '../tags';

/** The xcd_role of the VBD that attaches an image's base as an instance's persistent disk. */
export const PERSISTENT_ROLE = 'image-disk';

/** Is this VDI an image's base claimed by the instance (at `device`, when given)? */
export function isClaimedBy(
  vdi: Pick<VDIRecord, 'other_config' | 'is_a_snapshot'> | undefined,
  owner: Owner,
  device?: string,
): boolean {
  const oc = vdi?.other_config;
  return (
    oc !== undefined &&
    vdi?.is_a_snapshot !== true &&
    oc[TAG.role] === 'image' &&
    oc[TAG.namespace] === owner.namespace &&
    oc[IMAGE_TAG.user] === owner.instanceId &&
    (device === undefined || oc[TAG.device] === device)
  );
}

/** The bases the instance claims (at `device`, when given), as the mirror shows them. */
export function claimedBases(
  mirror: MirrorView,
  owner: Owner,
  device?: string,
): Array<{ $ref: string; VBDs: string[] }> {
  return mirror
    .query('VDI', {
      where: {
        [`other_config.${TAG.role}`]: 'image',
        [`other_config.${TAG.namespace}`]: owner.namespace,
        [`other_config.${IMAGE_TAG.user}`]: owner.instanceId,
      },
      fields: ['other_config', 'is_a_snapshot', 'VBDs'],
    })
    .filter((v) => isClaimedBy(v, owner, device));
}

/** 409 operation_not_allowed while the instance holds a persistent disk: a snapshot of the
 * instance would copy the image's base, and a revert (VM.revert) destroys the disks it
 * replaces, the image among them. */
export function refuseWithPersistentDisk(mirror: MirrorView, owner: Owner, what: string): void {
  if (claimedBases(mirror, owner).length > 0)
    throw new ApiError(
      409,
      'operation_not_allowed',
      `the instance has a persistent disk (an image): ${what} it only once that disk is detached`,
    );
}

/** Removes the claim from a base in one write (a failure leaves it whole, for a retry to
 * find): it is the image again, for any instance to use. */
export async function release(xapi: XapiClient, baseRef: string): Promise<void> {
  await ignoreGone(
    mergeTags(xapi, 'VDI', baseRef, { [IMAGE_TAG.user]: undefined, [TAG.device]: undefined }),
    isGone,
  );
}

/** Releases the instance's claimed bases (at `device`, when given) that no VBD holds (asked of
 * XAPI): what a destroy, or a detach interrupted after VBD.destroy, leaves claimed. Waits
 * (bounded) until the mirror shows them released, so the image reads free once this is done. */
export async function releaseUnattached(
  xapi: XapiClient,
  owner: Owner,
  device?: string,
): Promise<void> {
  const released: string[] = [];
  for (const base of claimedBases(xapi.mirror, owner, device)) {
    const vbds = await ignoreGone(xapi.call<string[]>('VDI.get_VBDs', base.$ref), isGone);
    if (vbds && vbds.length === 0) {
      await release(xapi, base.$ref);
      released.push(base.$ref);
    }
  }
  if (released.length > 0)
    await waitForMirror(xapi.mirror, () =>
      released.every((ref) => !isClaimedBy(xapi.mirror.get('VDI', ref), owner)),
    );
}

/**
 * Claims the base for the instance at `device` (atomically: VDI.add_to_other_config fails on a
 * key already there; another instance's claim, or its own at another device, is 409
 * image_in_use; its own at this device a retry) and drops its checksum (its bytes change from
 * now on). The undo registered on `ctx` gives the base its tags back as they were.
 */
export async function claimBase(
  xapi: XapiClient,
  ctx: Pick<StepContext, 'onUndo'>,
  owner: Owner,
  device: string,
  image: { id: string; baseRef: string },
): Promise<void> {
  const before = await xapi.call<Record<string, string>>('VDI.get_other_config', image.baseRef);
  try {
    await xapi.call('VDI.add_to_other_config', image.baseRef, IMAGE_TAG.user, owner.instanceId);
  } catch (err) {
    if (xapiCode(err) !== 'MAP_DUPLICATE_KEY') throw err;
    const now = await xapi.call<Record<string, string>>('VDI.get_other_config', image.baseRef);
    // The instance's own claim is a retry when it is for this device (or for none yet).
    const at = now[TAG.device];
    if (now[IMAGE_TAG.user] !== owner.instanceId || (at !== undefined && at !== device))
      throw imageInUse(image.id);
  }
  ctx.onUndo('release the image', async () => {
    await ignoreGone(
      writeTags(xapi, 'VDI', image.baseRef, {
        [TAG.device]: before[TAG.device],
        [IMAGE_TAG.checksum]: before[IMAGE_TAG.checksum],
        [IMAGE_TAG.user]: before[IMAGE_TAG.user],
      }),
      isGone,
    );
  });
  await writeTags(xapi, 'VDI', image.baseRef, {
    [TAG.device]: device,
    [IMAGE_TAG.checksum]: undefined,
  });
}

/** Claims the base (claimBase), then attaches it at `device` (plugged when the VM runs). Each
 * step registers its undo: a failure gives the base back as it was. */
export async function attachPersistent(
  xapi: XapiClient,
  run: OpRun,
  device: string,
  image: { id: string; baseRef: string },
  bootable: boolean,
): Promise<void> {
  const { owner } = run;
  await runSteps<object>(
    [
      { name: 'claim', run: (_s, ctx) => claimBase(xapi, ctx, owner, device, image) },
      {
        name: 'attach',
        weight: 2,
        run: async () => {
          await createAndPlug(xapi, run, 'VBD', {
            VM: run.vmRef,
            VDI: image.baseRef,
            userdevice: device,
            bootable,
            mode: 'RW',
            type: 'Disk',
            empty: false,
            unpluggable: true,
            other_config: ownerTags(owner, { [TAG.role]: PERSISTENT_ROLE }),
            qos_algorithm_type: '',
            qos_algorithm_params: {},
          });
        },
      },
    ],
    {},
    run.steps,
  );
}

/** Detaches the instance's persistent disk held by `vbd` (unplugged when attached) and
 * releases its base, which stays the image. */
export async function detachPersistent(
  xapi: XapiClient,
  run: OpRun,
  vbd: Pick<VBDRecord, 'currently_attached' | 'VDI'> & { ref: string },
): Promise<void> {
  if (vbd.currently_attached) {
    await xapi.callAsync('VBD.unplug', [vbd.ref], {
      signal: run.signal,
      onProgress: (f) => run.onProgress(f * 0.6, 'VBD.unplug'),
    });
  }
  await ignoreGone(xapi.call('VBD.destroy', vbd.ref), isGone);
  await release(xapi, vbd.VDI);
}
