// Start-up reconciliation from the tags alone: a VM left 'building' by a crash is removed with
// its disks, one left 'deleting' has its destroy finished, an operation left 'running' is
// recorded as interrupted, and tagged VDIs / VIFs whose instance no longer exists are removed.
// What happened is recorded as operations (memory, and the VM's tag where the VM survives).
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import { quiesceVm, removeVm, type RemoveOptions } from './destroy';
import { waitForMirror } from './mirror-wait';
import { ApiError, isGone, xapiCode } from './errors';
import { Operations, parsePersisted, type PersistedOperation } from './operations';
import { TAG, isOwnedBy, ownerOf, writeTags, type Owner } from './tags';

export interface ReconcileReport {
  /** Instance keys ('namespace/id') whose half-built VM was removed. */
  cleanedUp: string[];
  /** Instance keys whose interrupted destroy was finished. */
  destroyed: string[];
  /** Operations found 'running' on surviving VMs, now recorded as interrupted. */
  interrupted: string[];
  orphanVdis: number;
  orphanVifs: number;
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

/** Removes a VM once the tasks a dead service left on it are over (retried if one lands late). */
async function removeQuiet(xapi: XapiClient, vmRef: string, opts: RemoveOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await quiesceVm(xapi, vmRef);
    try {
      await removeVm(xapi, vmRef, opts);
      return;
    } catch (err) {
      if (attempt >= 3 || xapiCode(err) !== 'OTHER_OPERATION_IN_PROGRESS') throw err;
    }
  }
}

export async function reconcile(
  xapi: XapiClient,
  ops: Operations,
  logger: Logger,
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    cleanedUp: [],
    destroyed: [],
    interrupted: [],
    orphanVdis: 0,
    orphanVifs: 0,
    errors: [],
  };
  const mirror = xapi.mirror;
  const live = new Set<string>();
  const removed: string[] = [];
  const note = (what: string, err: unknown): void => {
    report.errors.push({ what, error: err instanceof Error ? err.message : String(err) });
    logger.warn({ err, what }, 'reconcile: step failed');
  };

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
    const op = parsePersisted(vm.other_config[TAG.operation]);
    const state = vm.other_config[TAG.state];
    // A spawn stopped before provision leaves its clone still a template: that one is ours too.
    if (vm.is_a_template && state !== 'building') continue;
    const k = ownerKey(owner);
    try {
      if (state === 'building') {
        await removeQuiet(xapi, vm.$ref, { owner, keepDisks: false, building: true });
        removed.push(vm.$ref);
        ops.adopt(
          owner.namespace,
          finished(
            op,
            { id: `reconcile-${vm.uuid}`, kind: 'spawn', instance_id: owner.instanceId },
            'cancelled',
            interruptedProblem(
              'the service stopped during the spawn; the half-built instance was removed at restart',
            ),
          ),
        );
        report.cleanedUp.push(k);
        logger.info({ instance: k, vm: vm.uuid }, 'reconcile: removed a half-built instance');
      } else if (state === 'deleting') {
        const keepDisks = op?.args?.keep_disks === true;
        await removeQuiet(xapi, vm.$ref, { owner, keepDisks });
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
      } else {
        live.add(k);
        if (op && op.status === 'running') {
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
      }
    } catch (err) {
      if (!isGone(err)) note(`VM ${vm.uuid}`, err);
      if (state !== 'building' && state !== 'deleting') live.add(k);
    }
  }

  // Disks: tagged, not kept on purpose, attached nowhere, and their instance is gone.
  for (const vdi of mirror.query('VDI', {
    where: { [`other_config.${TAG.namespace}`]: { exists: true } },
    fields: ['other_config', 'VBDs', 'uuid'],
  })) {
    const owner = ownerOf(vdi.other_config);
    if (
      !owner ||
      vdi.other_config[TAG.state] === 'kept' ||
      vdi.VBDs.length > 0 ||
      live.has(ownerKey(owner))
    )
      continue;
    try {
      await xapi.call('VDI.destroy', vdi.$ref);
      report.orphanVdis++;
    } catch (err) {
      if (!isGone(err)) note(`VDI ${vdi.uuid}`, err);
    }
  }

  // NICs: tagged for an instance other than the VM they sit on.
  for (const vif of mirror.query('VIF', {
    where: { [`other_config.${TAG.namespace}`]: { exists: true } },
    fields: ['other_config', 'VM', 'uuid'],
  })) {
    const owner = ownerOf(vif.other_config);
    const vm = mirror.get('VM', vif.VM);
    if (!owner || (vm && isOwnedBy(vm.other_config, owner) && live.has(ownerKey(owner)))) continue;
    if (vm && !ownerOf(vm.other_config)) continue; // a foreign VM: never touched
    try {
      await xapi.call('VIF.destroy', vif.$ref);
      report.orphanVifs++;
    } catch (err) {
      if (!isGone(err)) note(`VIF ${vif.uuid}`, err);
    }
  }
  // Reads start once the mirror no longer shows what was removed.
  if (removed.length > 0)
    await waitForMirror(mirror, () => removed.every((ref) => !mirror.get('VM', ref)), 5000);
  return report;
}
