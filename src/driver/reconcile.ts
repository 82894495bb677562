// Reconciliation from the tags alone, at start-up and as a periodic sweep: a VM left 'building'
// is removed with its disks, one left 'deleting' has its destroy finished, an operation left
// 'running' is recorded as interrupted, and tagged VDIs / VIFs whose instance no longer exists
// are removed, an iSCSI SR an attach left 'building' is settled and one no VBD uses any more is
// forgotten (procedures/iscsi-sr.ts). Work in flight is taken over only when its owner (xcd_owner, lease.ts) may be
// (the caller's mayTakeOver): two services on one pool never undo each other's live work.
// A clone / copy killed before its tags carries the reserved name instead (spawn-records.ts).
// What happened is recorded as operations (memory, and the VM's tag where the VM survives).
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import type { VBDRecord, VDIRecord, VMRecord } from '../xapi/datamodel.generated';
import { quiesceVm, removeQuiet } from './procedures/destroy';
import { forgetUnusedIscsiSr, iscsiTurn, settleIscsiSr } from './procedures/iscsi-sr';
import { waitForMirror } from './mirror-wait';
import { ApiError, isGone } from './errors';
import { Operations, parsePersisted, type PersistedOperation } from './operations';
import { RESERVED_NAME_PREFIX, parseReservedName } from './spawn/records';
import { release } from './procedures/persistent-disk';
import {
  IMAGE_TAG,
  ISCSI_ROLE,
  TAG,
  isOwnedBy,
  isUnclaimedClone,
  ownerOf,
  writeTags,
  type Owner,
} from './tags';
import { NULL_REF } from '../xapi/ref';

export interface ReconcileReport {
  /** Instance keys ('namespace/id') whose half-built VM was removed. */
  cleanedUp: string[];
  /** Instance keys whose interrupted destroy was finished. */
  destroyed: string[];
  /** Operations found 'running' on surviving VMs, now recorded as interrupted. */
  interrupted: string[];
  orphanVdis: number;
  orphanVifs: number;
  /** Images ('namespace/id') whose half-imported base VDI was removed. */
  images: string[];
  /** iSCSI SRs (uuids) an interrupted attach left 'building', now forgotten or kept active, and
   * 'active' ones no VBD used any more, forgotten. */
  iscsiSrs: string[];
  errors: Array<{ what: string; error: string }>;
}

const ownerKey = (o: Owner): string => `${o.namespace}/${o.instanceId}`;

function interruptedProblem(detail: string): PersistedOperation['error'] {
  return new ApiError(409, 'cancelled', detail).toJSON() as PersistedOperation['error'];
}

function finished(
  op: PersistedOperation | undefined,
  fallback: Omit<
    PersistedOperation,
    'status' | 'progress' | 'created_at' | 'finished_at' | 'error'
  >,
  status: PersistedOperation['status'],
  error: PersistedOperation['error'],
): PersistedOperation {
  const now = new Date().toISOString();
  const base = op ?? {
    ...fallback,
    status: 'running',
    progress: 0,
    created_at: now,
    finished_at: null,
    error: null,
  };
  const out: PersistedOperation = {
    ...base,
    status,
    finished_at: now,
    error,
    progress: status === 'succeeded' ? 1 : base.progress,
  };
  delete out.step;
  return out;
}

/** Tasks whose result may be a VM still carrying the reserved name, or that write a disk. */
const CLONE_TASKS = ['Async.VM.clone', 'Async.VM.copy', 'Async.VDI.copy'];

/** Waits (bounded) for running clone / copy tasks: which one a dead service started cannot be
 * told, so none is cancelled; returns how many still run after the wait. */
async function waitOutCloneTasks(xapi: XapiClient, timeoutMs: number): Promise<number> {
  const pending = (): number =>
    xapi.mirror.count('task', { name_label: { in: CLONE_TASKS }, status: 'pending' });
  if (pending() > 0) await waitForMirror(xapi.mirror, () => pending() === 0, timeoutMs);
  return pending();
}

/** A pass tries each repair once, briefly: what XAPI still refuses waits for the next sweep,
 * so one stuck VM never holds the pass (and the operations queued behind its instance). */
const ONE_TRY = { attempts: 1, quiesceMs: 5_000 };

/** Removes an untagged VM left by a killed clone / copy, with the disks attached to it alone. */
async function removeUnclaimed(xapi: XapiClient, vmRef: string): Promise<void> {
  await quiesceVm(xapi, vmRef, ONE_TRY.quiesceMs);
  const vm = await xapi.call<VMRecord>('VM.get_record', vmRef);
  if (vm.power_state !== 'Halted') await xapi.call('VM.hard_shutdown', vmRef);
  const disks: string[] = [];
  for (const vbdRef of vm.VBDs) {
    const vbd = await xapi.call<VBDRecord>('VBD.get_record', vbdRef);
    if (vbd.type !== 'Disk' || vbd.VDI === NULL_REF) continue;
    const vdi = await xapi.call<VDIRecord>('VDI.get_record', vbd.VDI);
    if (vdi.VBDs.every((r) => vm.VBDs.includes(r))) disks.push(vbd.VDI);
  }
  await xapi.call('VM.destroy', vmRef);
  for (const vdiRef of disks)
    await xapi.call('VDI.destroy', vdiRef).catch((err: unknown) => {
      if (!isGone(err)) throw err;
    });
}

export interface ReconcileOptions {
  /** How long the pass waits for running clone / copy tasks (0: not at all). */
  cloneWaitMs?: number;
  /** May this pass take over the work in flight of this instance, which the service `owner`
   * (its xcd_owner tag, or the service id a reserved name carries) started? */
  mayTakeOver: (owner: Owner, serviceId: string | undefined) => boolean;
  /** Runs the repair of one instance in that instance's turn (the driver's scheduler). */
  exclusive?: (owner: Owner, fn: () => Promise<void>) => Promise<void>;
}

export async function reconcile(
  xapi: XapiClient,
  ops: Operations,
  logger: Logger,
  opts: ReconcileOptions,
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    cleanedUp: [],
    destroyed: [],
    interrupted: [],
    orphanVdis: 0,
    orphanVifs: 0,
    images: [],
    iscsiSrs: [],
    errors: [],
  };
  const mirror = xapi.mirror;
  const exclusive = opts.exclusive ?? ((_o: Owner, fn: () => Promise<void>) => fn());
  const removed: string[] = [];
  const note = (what: string, err: unknown): void => {
    report.errors.push({ what, error: err instanceof Error ? err.message : String(err) });
    logger.warn({ err, what }, 'reconcile: step failed');
  };
  /** Does a VM of this instance (other than one removed here) exist now? Asked of the mirror at
   * the moment of acting: the mirror shows a VM before the disks and NICs made after it. */
  const instanceExists = (owner: Owner): boolean =>
    mirror
      .query('VM', {
        where: {
          [`other_config.${TAG.namespace}`]: owner.namespace,
          [`other_config.${TAG.instanceId}`]: owner.instanceId,
          is_a_snapshot: false,
        },
        fields: ['uuid'],
      })
      .some((vm) => !removed.includes(vm.$ref));

  const vms = mirror.query('VM', {
    where: {
      [`other_config.${TAG.namespace}`]: { exists: true },
      is_a_snapshot: false,
    },
    fields: ['other_config', 'uuid', 'is_a_template'],
  });
  for (const vm of vms) {
    const owner = ownerOf(vm.other_config);
    if (!owner) continue;
    const state = vm.other_config[TAG.state];
    // A spawn stopped before provision leaves its clone still a template: that one is ours too.
    if (vm.is_a_template && state !== 'building') continue;
    if (
      (state === 'building' || state === 'deleting') &&
      !opts.mayTakeOver(owner, vm.other_config[TAG.owner])
    )
      continue;
    const k = ownerKey(owner);
    try {
      await exclusive(owner, async () => {
        // Read again in the instance's turn: the work may have ended meanwhile.
        const now = mirror.get('VM', vm.$ref);
        if (!now) return;
        const oc = now.other_config;
        if (oc[TAG.state] !== state) return;
        const op = parsePersisted(oc[TAG.operation]);
        if (state === 'building') {
          await removeQuiet(xapi, vm.$ref, { owner, keepDisks: false, building: true }, ONE_TRY);
          removed.push(vm.$ref);
          ops.adopt(
            owner.namespace,
            finished(
              op,
              { id: `reconcile-${vm.uuid}`, kind: 'spawn', instance_id: owner.instanceId },
              'cancelled',
              interruptedProblem(
                'the service stopped during the spawn (or its undo failed); the half-built instance was removed at restart or by the periodic sweep',
              ),
            ),
          );
          report.cleanedUp.push(k);
          logger.info({ instance: k, vm: vm.uuid }, 'reconcile: removed a half-built instance');
        } else if (state === 'deleting') {
          const keepDisks = op?.args?.keep_disks === true;
          await removeQuiet(xapi, vm.$ref, { owner, keepDisks }, ONE_TRY);
          removed.push(vm.$ref);
          ops.adopt(
            owner.namespace,
            finished(
              op,
              { id: `reconcile-${vm.uuid}`, kind: 'destroy', instance_id: owner.instanceId },
              'succeeded',
              null,
            ),
          );
          report.destroyed.push(k);
          logger.info({ instance: k, vm: vm.uuid }, 'reconcile: finished an interrupted destroy');
        } else if (
          op &&
          op.status === 'running' &&
          !ops.running().some((e) => e.data.id === op.id)
        ) {
          const done = finished(
            op,
            op,
            'cancelled',
            interruptedProblem(
              'the service stopped during the operation; its outcome is the instance state',
            ),
          );
          ops.adopt(owner.namespace, done);
          await writeTags(xapi, 'VM', vm.$ref, { [TAG.operation]: JSON.stringify(done) });
          report.interrupted.push(op.id);
        }
      });
    } catch (err) {
      if (!isGone(err)) note(`VM ${vm.uuid}`, err);
    }
  }

  // VMs a clone / copy made before its service stopped: the reserved name, no tags.
  if (opts.cloneWaitMs) {
    const stillRunning = await waitOutCloneTasks(xapi, opts.cloneWaitMs);
    if (stillRunning > 0)
      logger.warn(
        { tasks: stillRunning },
        'reconcile: clone tasks still running; a VM they leave is removed by a later sweep',
      );
  }
  // A clone of a template made from an instance carries that instance's tags: only tags of
  // the instance the name encodes claim the VM (then it was handled above as 'building').
  for (const vm of mirror.query('VM', {
    where: { is_a_snapshot: false },
    fields: ['name_label', 'uuid', 'other_config'],
  })) {
    if (!vm.name_label.startsWith(RESERVED_NAME_PREFIX)) continue;
    const parsed = parseReservedName(vm.name_label);
    if (!parsed) continue;
    const { owner, serviceId } = parsed;
    if (isOwnedBy(vm.other_config, owner) || removed.includes(vm.$ref)) continue;
    if (!opts.mayTakeOver(owner, serviceId)) continue;
    try {
      await exclusive(owner, async () => {
        if (!mirror.get('VM', vm.$ref)) return;
        await removeUnclaimed(xapi, vm.$ref);
        removed.push(vm.$ref);
        ops.adopt(
          owner.namespace,
          finished(
            undefined,
            { id: `reconcile-${vm.uuid}`, kind: 'spawn', instance_id: owner.instanceId },
            'cancelled',
            interruptedProblem(
              'the spawn stopped while cloning the template; the clone was removed',
            ),
          ),
        );
        report.cleanedUp.push(ownerKey(owner));
        logger.info(
          { instance: ownerKey(owner), vm: vm.uuid },
          'reconcile: removed an untagged clone',
        );
      });
    } catch (err) {
      if (!isGone(err)) note(`VM ${vm.uuid}`, err);
    }
  }

  // Disks: tagged, not kept on purpose, attached nowhere, and their instance is gone.
  for (const vdi of mirror.query('VDI', {
    where: { [`other_config.${TAG.namespace}`]: { exists: true } },
    fields: ['other_config', 'VBDs', 'uuid'],
  })) {
    const owner = ownerOf(vdi.other_config);
    if (!owner || vdi.other_config[TAG.state] === 'kept' || vdi.VBDs.length > 0) continue;
    if (instanceExists(owner) || !opts.mayTakeOver(owner, undefined)) continue;
    try {
      const now = mirror.get('VDI', vdi.$ref);
      if (!now || now.VBDs.length > 0 || now.other_config[TAG.state] === 'kept') continue;
      await xapi.call('VDI.destroy', vdi.$ref);
      report.orphanVdis++;
    } catch (err) {
      if (!isGone(err)) note(`VDI ${vdi.uuid}`, err);
    }
  }

  // Images: a base VDI left 'importing' (an upload or a copy its service did not finish).
  for (const vdi of mirror.query('VDI', {
    where: { [`other_config.${TAG.role}`]: 'image', [`other_config.${TAG.state}`]: 'importing' },
    fields: ['other_config', 'uuid'],
  })) {
    const oc = vdi.other_config;
    const namespace = oc[TAG.namespace];
    const imageId = oc[IMAGE_TAG.id];
    if (namespace === undefined || imageId === undefined) continue;
    if (!opts.mayTakeOver({ namespace, instanceId: `image/${imageId}` }, oc[TAG.owner])) continue;
    try {
      await xapi.call('VDI.destroy', vdi.$ref);
      report.images.push(`${namespace}/${imageId}`);
      logger.info(
        { image: `${namespace}/${imageId}`, vdi: vdi.uuid },
        'reconcile: removed a half-imported image',
      );
    } catch (err) {
      if (!isGone(err)) note(`VDI ${vdi.uuid}`, err);
    }
  }

  // Clones of an image's base a crash left before they were made an instance's disk: they carry
  // the base's mark (its own uuid) under another uuid. The retag follows the clone at once, so
  // what still carries it after a quiet moment is left over.
  const clones = mirror
    .query('VDI', {
      where: { [`other_config.${TAG.role}`]: 'image' },
      fields: ['other_config', 'uuid', 'VBDs'],
    })
    .filter((v) => isUnclaimedClone(v) && v.VBDs.length === 0);
  if (clones.length > 0) await new Promise((resolve) => setTimeout(resolve, ONE_TRY.quiesceMs));
  for (const vdi of clones) {
    try {
      const now = await xapi.call<VDIRecord>('VDI.get_record', vdi.$ref);
      if (!isUnclaimedClone(now) || now.VBDs.length > 0) continue;
      await xapi.call('VDI.destroy', vdi.$ref);
      const key = `${now.other_config[TAG.namespace]}/${now.other_config[IMAGE_TAG.id]}`;
      report.images.push(key);
      logger.info({ image: key, vdi: vdi.uuid }, 'reconcile: removed an unclaimed image clone');
    } catch (err) {
      if (!isGone(err)) note(`VDI ${vdi.uuid}`, err);
    }
  }

  // Images claimed as the persistent disk of an instance that no longer exists (a destroy or a
  // detach that stopped after its VM or VBD went): the claim is released, the base stays.
  for (const vdi of mirror.query('VDI', {
    where: {
      [`other_config.${TAG.role}`]: 'image',
      [`other_config.${IMAGE_TAG.user}`]: { exists: true },
    },
    fields: ['other_config', 'uuid', 'is_a_snapshot'],
  })) {
    const owner = {
      namespace: vdi.other_config[TAG.namespace] ?? '',
      instanceId: vdi.other_config[IMAGE_TAG.user]!,
    };
    if (vdi.is_a_snapshot || instanceExists(owner)) continue;
    try {
      await exclusive(owner, async () => {
        if (instanceExists(owner)) return;
        await release(xapi, vdi.$ref);
        const key = `${owner.namespace}/${vdi.other_config[IMAGE_TAG.id]}`;
        report.images.push(key);
        logger.info({ image: key, vdi: vdi.uuid }, 'reconcile: released a persistent image');
      });
    } catch (err) {
      if (!isGone(err)) note(`VDI ${vdi.uuid}`, err);
    }
  }

  // iSCSI SRs an attach left 'building' (tagged with the attaching instance and its service).
  for (const sr of mirror.query('SR', {
    where: {
      [`other_config.${TAG.role}`]: ISCSI_ROLE.sr,
      [`other_config.${TAG.state}`]: 'building',
    },
    fields: ['other_config', 'uuid'],
  })) {
    const owner = ownerOf(sr.other_config);
    if (!owner || !opts.mayTakeOver(owner, sr.other_config[TAG.owner])) continue;
    try {
      await exclusive(owner, async () => {
        if (mirror.get('SR', sr.$ref)?.other_config[TAG.state] !== 'building') return;
        const kept = await iscsiTurn(xapi, sr.uuid, () => settleIscsiSr(xapi, sr.$ref));
        report.iscsiSrs.push(sr.uuid);
        logger.info(
          { sr: sr.uuid, kept },
          kept
            ? 'reconcile: an interrupted iSCSI attach left its SR in use; marked active'
            : 'reconcile: forgot the SR of an interrupted iSCSI attach',
        );
      });
    } catch (err) {
      if (!isGone(err)) note(`SR ${sr.uuid}`, err);
    }
  }

  // iSCSI SRs no VBD uses any more: their volumes' instances were destroyed with them attached.
  for (const sr of mirror.query('SR', {
    where: { [`other_config.${TAG.role}`]: ISCSI_ROLE.sr, [`other_config.${TAG.state}`]: 'active' },
    fields: ['uuid', 'VDIs'],
  })) {
    if (sr.VDIs.some((v) => (mirror.get('VDI', v)?.VBDs.length ?? 0) > 0)) continue;
    try {
      if (await iscsiTurn(xapi, sr.uuid, () => forgetUnusedIscsiSr(xapi, sr.$ref))) {
        report.iscsiSrs.push(sr.uuid);
        logger.info({ sr: sr.uuid }, 'reconcile: forgot an iSCSI SR no volume uses');
      }
    } catch (err) {
      if (!isGone(err)) note(`SR ${sr.uuid}`, err);
    }
  }

  // NICs: tagged for an instance other than the VM they sit on, or whose instance is gone.
  for (const vif of mirror.query('VIF', {
    where: { [`other_config.${TAG.namespace}`]: { exists: true } },
    fields: ['other_config', 'VM', 'uuid'],
  })) {
    const owner = ownerOf(vif.other_config);
    const vm = mirror.get('VM', vif.VM);
    if (!owner) continue;
    if (vm && !ownerOf(vm.other_config)) continue; // a foreign VM: never touched
    if (vm && isOwnedBy(vm.other_config, owner) && !removed.includes(vif.VM)) continue;
    if (!opts.mayTakeOver(owner, undefined)) continue;
    try {
      await xapi.call('VIF.destroy', vif.$ref);
      report.orphanVifs++;
    } catch (err) {
      if (!isGone(err)) note(`VIF ${vif.uuid}`, err);
    }
  }
  // Operations the journal holds as running that no service of ours runs (their service
  // stopped before recording the end): settled from what the pool shows now.
  for (const entry of ops.unowned()) {
    if (entry.finished) continue;
    const owner = { namespace: entry.namespace, instanceId: entry.data.instance_id };
    const vms = mirror
      .query('VM', {
        where: {
          [`other_config.${TAG.namespace}`]: owner.namespace,
          [`other_config.${TAG.instanceId}`]: owner.instanceId,
          is_a_snapshot: false,
        },
        fields: ['other_config'],
      })
      .filter((vm) => !removed.includes(vm.$ref));
    const inFlight = vms.find((vm) => {
      const state = vm.other_config[TAG.state];
      return state === 'building' || state === 'deleting';
    });
    if (inFlight && !opts.mayTakeOver(owner, inFlight.other_config[TAG.owner])) continue;
    if (!opts.mayTakeOver(owner, undefined)) continue;
    const active = vms.some((vm) => vm.other_config[TAG.state] === 'active');
    const outcome =
      entry.data.kind === 'spawn'
        ? active
        : entry.data.kind === 'destroy'
          ? vms.length === 0
          : undefined;
    ops.adopt(
      owner.namespace,
      outcome === true
        ? finished(entry.data, entry.data, 'succeeded', null)
        : finished(
            entry.data,
            entry.data,
            'cancelled',
            interruptedProblem(
              'the service stopped during the operation; its outcome is the instance state',
            ),
          ),
    );
    report.interrupted.push(entry.data.id);
  }

  // Reads start once the mirror no longer shows what was removed.
  if (removed.length > 0)
    await waitForMirror(mirror, () => removed.every((ref) => !mirror.get('VM', ref)), 5000);
  return report;
}
