// The SR side of volumes by connection (procedures/iscsi.ts): the turns work on one target's SR
// takes, its PBDs, the tag edits an attach undoes, and taking an SR away again: forgotten with
// its PBDs after the last detach, settled by reconcile after an interrupted attach, or forgotten
// when no VBD uses it any more. Never sees a connection's credentials.
import type { XapiClient } from '../../xapi';
import type { PBDRecord, VDIRecord } from '../../xapi/datamodel.generated';
import { Scheduler } from '../concurrency';
import { isGone } from '../errors';
import { ISCSI_ROLE, TAG, VOLUME_TAG } from '../tags';
import { ignoreGone } from './common';

const turns = new WeakMap<XapiClient, Scheduler>();

/** Runs `fn` in the turn of SR `srUuid`: attaches, detaches and reconcile of one target's SR
 * never introduce or forget it under each other. */
export function iscsiTurn<T>(xapi: XapiClient, srUuid: string, fn: () => Promise<T>): Promise<T> {
  let s = turns.get(xapi);
  if (!s) {
    s = new Scheduler(Number.MAX_SAFE_INTEGER);
    turns.set(xapi, s);
  }
  return s.run(srUuid, fn);
}

/** The SR's PBDs with their records (gone ones left out). */
export async function pbdsOf(
  xapi: XapiClient,
  srRef: string,
): Promise<Array<PBDRecord & { ref: string }>> {
  const out: Array<PBDRecord & { ref: string }> = [];
  for (const ref of await xapi.call<string[]>('SR.get_PBDs', srRef)) {
    const pbd = await ignoreGone(xapi.call<PBDRecord>('PBD.get_record', ref), isGone);
    if (pbd) out.push({ ...pbd, ref });
  }
  return out;
}

/** Sets (or with undefined removes) keys of an SR's or VDI's other_config; returns the undo. */
export async function retag(
  xapi: XapiClient,
  cls: 'SR' | 'VDI',
  ref: string,
  tags: Record<string, string | undefined>,
): Promise<() => Promise<void>> {
  const before = await xapi.call<Record<string, string>>(`${cls}.get_other_config`, ref);
  const next: Record<string, string> = { ...before };
  for (const [k, v] of Object.entries(tags))
    if (v === undefined) delete next[k];
    else next[k] = v;
  await xapi.call(`${cls}.set_other_config`, ref, next);
  return async () => {
    await ignoreGone(xapi.call(`${cls}.set_other_config`, ref, before), isGone);
  };
}

/** The SR's tags once no attach works on it. */
export const ACTIVE_TAGS = {
  [TAG.state]: 'active',
  [TAG.owner]: undefined,
  [TAG.namespace]: undefined,
  [TAG.instanceId]: undefined,
};

/** Unplugs and destroys the SR's PBDs, then forgets it (the LUNs' data stays on the target). */
export async function forgetIscsiSr(xapi: XapiClient, srRef: string): Promise<void> {
  const pbds = await pbdsOf(xapi, srRef);
  for (const pbd of pbds)
    if (pbd.currently_attached) await ignoreGone(xapi.call('PBD.unplug', pbd.ref), isGone);
  for (const pbd of pbds) await ignoreGone(xapi.call('PBD.destroy', pbd.ref), isGone);
  await ignoreGone(xapi.call('SR.forget', srRef), isGone);
}

/**
 * Settles an SR an interrupted attach left 'building' (reconcile.ts): volume tags of LUNs
 * attached nowhere are taken off; an SR that a VBD still uses becomes 'active' again (kept,
 * returns true), any other is forgotten with its PBDs (returns false).
 */
export async function settleIscsiSr(xapi: XapiClient, srRef: string): Promise<boolean> {
  let used = false;
  for (const vdiRef of await xapi.call<string[]>('SR.get_VDIs', srRef)) {
    const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vdiRef), isGone);
    if (!vdi) continue;
    if (vdi.VBDs.length > 0) used = true;
    else if (vdi.other_config[VOLUME_TAG.id] !== undefined)
      await retag(xapi, 'VDI', vdiRef, {
        [TAG.role]: undefined,
        [TAG.namespace]: undefined,
        [VOLUME_TAG.id]: undefined,
      });
  }
  if (!used) {
    await forgetIscsiSr(xapi, srRef);
    return false;
  }
  await retag(xapi, 'SR', srRef, ACTIVE_TAGS);
  return true;
}

/** Forgets an 'active' SR of the service that no VBD uses any more (its volumes' instances were
 * destroyed with them attached), checked again through XAPI; true when it was forgotten. Run it
 * in the SR's iscsiTurn. */
export async function forgetUnusedIscsiSr(xapi: XapiClient, srRef: string): Promise<boolean> {
  const oc = await ignoreGone(
    xapi.call<Record<string, string>>('SR.get_other_config', srRef),
    isGone,
  );
  if (oc?.[TAG.role] !== ISCSI_ROLE.sr || oc[TAG.state] !== 'active') return false;
  for (const vdiRef of await xapi.call<string[]>('SR.get_VDIs', srRef)) {
    const vbds = await ignoreGone(xapi.call<string[]>('VDI.get_VBDs', vdiRef), isGone);
    if (vbds && vbds.length > 0) return false;
  }
  await forgetIscsiSr(xapi, srRef);
  return true;
}
