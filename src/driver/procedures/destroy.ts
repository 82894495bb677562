// Destroying an instance: mark it deleting (so a crash can be finished by reconcile), hard
// shutdown if needed, destroy its snapshots, the VM, and the disks the service made for it
// (unless keep_disks: those stay, marked 'kept'; an image's base used as a persistent disk is
// released, never destroyed); an instance already gone counts as success.
// Also the clean-up spawn's undo and reconcile use. Reads state from XAPI, not the mirror.
import type { MirrorView, XapiClient } from '../../xapi';
import type { VBDRecord, VDIRecord, VMRecord } from '../../xapi/datamodel.generated';
import { isGone, xapiCode } from '../errors';
import { releaseUnattached } from './persistent-disk';
import { runSteps, type Step } from '../steps';
import { TAG, isOwnedBy, mergeTags, ownerOf, writeTags, type Owner } from '../tags';
import { NULL_REF } from '../../xapi/ref';

export interface RemoveOptions {
  owner: Owner;
  keepDisks: boolean;
  /** Spawn undo and reconcile of a half-built VM: its untagged disks are the clone's, so ours. */
  building?: boolean;
}

interface DiskPlan {
  vdiRef: string;
  destroy: boolean;
}

/** Calls that may meet an object already gone: HANDLE_INVALID / UUID_INVALID are success. */
async function ignoreGone<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

async function vmRecord(xapi: XapiClient, vmRef: string): Promise<VMRecord | undefined> {
  return ignoreGone(xapi.call<VMRecord>('VM.get_record', vmRef));
}

/** Which VDIs of a VM (or snapshot) to destroy, and which to keep. */
async function diskPlan(
  xapi: XapiClient,
  vm: VMRecord,
  opts: RemoveOptions,
  snapshot: boolean,
): Promise<DiskPlan[]> {
  const plan: DiskPlan[] = [];
  for (const vbdRef of vm.VBDs) {
    const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', vbdRef));
    if (!vbd || vbd.VDI === NULL_REF) continue;
    const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vbd.VDI));
    if (!vdi) continue;
    const owned = isOwnedBy(vdi.other_config, opts.owner);
    const foreign = !owned && ownerOf(vdi.other_config) !== undefined;
    // A volume (by uuid or connection, a root volume too) that is not the instance's own disk
    // stays, also where the spawn's undo or reconcile takes a half-built VM's untagged disks.
    if (!owned && vbd.other_config?.[TAG.role] === 'volume') continue;
    // An image's base (a persistent disk) is never destroyed: released once the VM is gone.
    if (vdi.other_config?.[TAG.role] === 'image' && !vdi.is_a_snapshot) continue;
    if (vbd.type === 'CD') {
      // Only the config drive the service made; ISO library media are never touched.
      if (owned) plan.push({ vdiRef: vbd.VDI, destroy: true });
      continue;
    }
    if (foreign) continue;
    const ours = owned || opts.building === true || (snapshot && vdi.is_a_snapshot);
    if (!ours) continue; // a volume attached by uuid: detached with the VM, never destroyed
    plan.push({ vdiRef: vbd.VDI, destroy: !opts.keepDisks });
  }
  if (vm.suspend_VDI && vm.suspend_VDI !== NULL_REF)
    plan.push({ vdiRef: vm.suspend_VDI, destroy: true });
  return plan;
}

/** Marks the disks to keep first: a crash after VM.destroy must not leave them as orphans. */
async function markKept(xapi: XapiClient, plan: DiskPlan[]): Promise<void> {
  for (const d of plan)
    if (!d.destroy) await ignoreGone(writeTags(xapi, 'VDI', d.vdiRef, { [TAG.state]: 'kept' }));
}

async function destroyDisks(xapi: XapiClient, plan: DiskPlan[]): Promise<void> {
  for (const d of plan) if (d.destroy) await ignoreGone(xapi.call('VDI.destroy', d.vdiRef));
}

async function hardShutdown(xapi: XapiClient, vmRef: string, signal?: AbortSignal): Promise<void> {
  try {
    await xapi.callAsync('VM.hard_shutdown', [vmRef], signal ? { signal } : {});
  } catch (err) {
    // Already halted (a race with the guest) is what we wanted.
    if (xapiCode(err) !== 'VM_BAD_POWER_STATE' && !isGone(err)) throw err;
  }
}

async function removeSnapshot(
  xapi: XapiClient,
  snapRef: string,
  opts: RemoveOptions,
): Promise<void> {
  const snap = await vmRecord(xapi, snapRef);
  if (!snap) return;
  const plan = await diskPlan(xapi, snap, opts, true);
  await markKept(xapi, plan);
  await ignoreGone(xapi.call('VM.destroy', snapRef));
  await destroyDisks(xapi, plan);
}

/** Cancels the tasks still running on a VM (a dead service's, at reconcile) and waits, bounded,
 * until XAPI shows none, so the VM can be shut down and destroyed. */
export async function quiesceVm(
  xapi: XapiClient,
  vmRef: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let cancelled = false;
  for (;;) {
    const ops = await ignoreGone(
      xapi.call<Record<string, string>>('VM.get_current_operations', vmRef),
    );
    const tasks = Object.keys(ops ?? {});
    if (tasks.length === 0 || Date.now() > deadline) return;
    if (!cancelled) {
      for (const taskRef of tasks) await xapi.call('task.cancel', taskRef).catch(() => undefined);
      cancelled = true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Removes a VM and what the service made for it; no error when it is already gone. */
export async function removeVm(
  xapi: XapiClient,
  vmRef: string,
  opts: RemoveOptions,
): Promise<void> {
  const vm = await vmRecord(xapi, vmRef);
  if (!vm) return;
  if (vm.power_state !== 'Halted') await hardShutdown(xapi, vmRef);
  for (const snapRef of vm.snapshots) await removeSnapshot(xapi, snapRef, opts);
  const plan = await diskPlan(xapi, vm, opts, false);
  await markKept(xapi, plan);
  await ignoreGone(xapi.call('VM.destroy', vmRef));
  await destroyDisks(xapi, plan);
  await releaseUnattached(xapi, opts.owner);
}

/** removeVm once the tasks still running on the VM are over, retried (with a pause) while XAPI
 * refuses: a spawn's undo and reconcile must not give up on the first transient error. */
export async function removeQuiet(
  xapi: XapiClient,
  vmRef: string,
  opts: RemoveOptions,
  retry: { attempts?: number; quiesceMs?: number } = {},
): Promise<void> {
  const attempts = retry.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      await quiesceVm(xapi, vmRef, retry.quiesceMs);
      await removeVm(xapi, vmRef, opts);
      return;
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100 * 4 ** attempt));
    }
  }
}

interface DestroyState {
  vmRef: string;
  /** This service's id (lease.ts): the owner of the destroy while it is in flight. */
  serviceId: string;
  opts: RemoveOptions;
  vm?: VMRecord;
  plan: DiskPlan[];
  operationJson: () => string;
}

/** The destroy operation as named steps (none can be undone; a crash is finished by reconcile). */
export function destroySteps(xapi: XapiClient): Array<Step<DestroyState>> {
  return [
    {
      name: 'mark-deleting',
      run: async (s) => {
        s.vm = await vmRecord(xapi, s.vmRef);
        if (!s.vm) return;
        await ignoreGone(
          mergeTags(xapi, 'VM', s.vmRef, {
            [TAG.state]: 'deleting',
            [TAG.owner]: s.serviceId,
            [TAG.operation]: s.operationJson(),
          }),
        );
      },
    },
    {
      name: 'shutdown',
      weight: 2,
      run: async (s, ctx) => {
        if (s.vm && s.vm.power_state !== 'Halted') await hardShutdown(xapi, s.vmRef, ctx.signal);
      },
    },
    {
      name: 'snapshots',
      run: async (s) => {
        for (const snapRef of s.vm?.snapshots ?? []) await removeSnapshot(xapi, snapRef, s.opts);
      },
    },
    {
      name: 'destroy-vm',
      run: async (s) => {
        if (!s.vm) return;
        s.plan = await diskPlan(xapi, s.vm, s.opts, false);
        await markKept(xapi, s.plan);
        await ignoreGone(xapi.call('VM.destroy', s.vmRef));
      },
    },
    {
      name: 'disks',
      weight: 2,
      run: async (s) => destroyDisks(xapi, s.plan),
    },
    {
      name: 'release-images',
      run: async (s) => releaseUnattached(xapi, s.opts.owner),
    },
  ];
}

export async function destroyInstance(
  xapi: XapiClient,
  vmRef: string,
  opts: RemoveOptions,
  run: {
    serviceId: string;
    signal: AbortSignal;
    onProgress: (f: number, step: string) => void;
    operationJson: () => string;
  },
): Promise<void> {
  const state: DestroyState = {
    vmRef,
    serviceId: run.serviceId,
    opts,
    plan: [],
    operationJson: run.operationJson,
  };
  try {
    await runSteps(destroySteps(xapi), state, { signal: run.signal, onProgress: run.onProgress });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause ?? err;
    throw cause;
  }
}

/** Disks an instance that has no VM any more still holds (a destroy that failed after
 * VM.destroy): tagged as its, not kept on purpose, attached nowhere (or, with `attached`,
 * wherever they are). Read from the mirror. */
export function leftoverDisks(mirror: MirrorView, owner: Owner, attached = false): string[] {
  return mirror
    .query('VDI', {
      where: {
        [`other_config.${TAG.namespace}`]: owner.namespace,
        [`other_config.${TAG.instanceId}`]: owner.instanceId,
      },
      fields: ['other_config', 'VBDs'],
    })
    .filter((vdi) => vdi.other_config[TAG.state] !== 'kept' && (attached || vdi.VBDs.length === 0))
    .map((vdi) => vdi.$ref);
}

/** Destroys the instance's leftover disks (a retried DELETE finishes what the first one left);
 * whether a disk is attached is asked of XAPI, not the mirror. */
export async function destroyLeftovers(xapi: XapiClient, owner: Owner): Promise<void> {
  const candidates = xapi.mirror
    .query('VDI', {
      where: {
        [`other_config.${TAG.namespace}`]: owner.namespace,
        [`other_config.${TAG.instanceId}`]: owner.instanceId,
      },
      fields: ['other_config'],
    })
    .filter((vdi) => vdi.other_config[TAG.state] !== 'kept');
  for (const { $ref } of candidates) {
    const vbds = await ignoreGone(xapi.call<string[]>('VDI.get_VBDs', $ref));
    if (vbds && vbds.length === 0) await ignoreGone(xapi.call('VDI.destroy', $ref));
  }
}

/** The current refs of VMs known by refs that may predate a XAPI restart (refs change, uuids
 * stay): each is looked up again by its uuid; a VM XAPI no longer has is left out. */
export async function currentVmRefs(xapi: XapiClient, vmRefs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const vmRef of vmRefs) {
    const uuid = xapi.mirror.get('VM', vmRef)?.uuid;
    if (!uuid) continue;
    const ref = await ignoreGone(xapi.call<string>('VM.get_by_uuid', uuid));
    if (ref) out.push(ref);
  }
  return out;
}
