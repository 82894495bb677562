// Snapshots of an instance: disk-only (VM.snapshot) or with memory (VM.checkpoint), named by the
// orchestrator's id kept in the snapshot's other_config; listing and views from the mirror;
// revert (VM.revert, then the reverted disks re-tagged as the instance's); delete (the snapshot
// VM, then the snapshot VDIs and memory image nothing else uses). Never touches other disks.
import type { XapiClient } from '../../xapi';
import type { VBDRecord, VDIRecord, VMRecord } from '../../xapi/datamodel.generated';
import { ignoreGone, snapshotNotFound, type OpRun } from './common';
import { isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { runSteps } from '../steps';
import { SNAPSHOT_TAG, TAG, isOwnedBy, ownerTags, writeTags } from '../tags';
import { NULL_REF } from '../../xapi/ref';

/** A snapshot an interrupted create of this id left untagged (it carries the pending mark). */
async function interruptedSnapshot(
  xapi: XapiClient,
  vmRef: string,
  id: string,
): Promise<string | undefined> {
  for (const ref of await xapi.call<string[]>('VM.get_snapshots', vmRef)) {
    const oc = await ignoreGone(
      xapi.call<Record<string, string>>('VM.get_other_config', ref),
      isGone,
    );
    if (oc && oc[SNAPSHOT_TAG.id] === undefined && oc[SNAPSHOT_TAG.pending] === id) return ref;
  }
  return undefined;
}

/** Finds the snapshot through XAPI (not the mirror: a job runs after earlier operations). */
async function snapshotRef(
  xapi: XapiClient,
  vmRef: string,
  id: string,
): Promise<string | undefined> {
  const refs = await xapi.call<string[]>('VM.get_snapshots', vmRef);
  for (const ref of refs) {
    const oc = await ignoreGone(
      xapi.call<Record<string, string>>('VM.get_other_config', ref),
      isGone,
    );
    if (oc?.[SNAPSHOT_TAG.id] === id) return ref;
  }
  return undefined;
}

interface CreateState {
  id: string;
  name?: string | undefined;
  memory: boolean;
  run: OpRun;
  snapRef?: string;
}

export async function createSnapshot(
  xapi: XapiClient,
  req: { id: string; name?: string | undefined; memory: boolean },
  run: OpRun,
): Promise<void> {
  if (await snapshotRef(xapi, run.vmRef, req.id)) return; // a retry after the first one finished
  // Steps are chosen before the first runs: whether to adopt is decided here.
  const adopted = await interruptedSnapshot(xapi, run.vmRef, req.id);
  const state: CreateState = { ...req, run, ...(adopted ? { snapRef: adopted } : {}) };
  await runSteps<CreateState>(
    [
      {
        name: 'mark',
        run: async (s, ctx) => {
          await writeTags(xapi, 'VM', s.run.vmRef, { [SNAPSHOT_TAG.pending]: s.id });
          ctx.onUndo('unmark the instance', () =>
            writeTags(xapi, 'VM', s.run.vmRef, { [SNAPSHOT_TAG.pending]: undefined }),
          );
        },
      },
      {
        name: req.memory ? 'VM.checkpoint' : 'VM.snapshot',
        weight: 4,
        when: (s) => s.snapRef === undefined, // else adopted from an interrupted create
        run: async (s, ctx) => {
          const label =
            s.name ?? `${await xapi.call<string>('VM.get_name_label', s.run.vmRef)}-${s.id}`;
          const method = s.memory ? 'VM.checkpoint' : 'VM.snapshot';
          s.snapRef = await xapi.callAsync<string>(method, [s.run.vmRef, label], {
            signal: ctx.signal,
            onProgress: (f) => ctx.progress(f),
          });
          const snapRef = s.snapRef;
          ctx.onUndo('destroy the snapshot', () => removeSnapshot(xapi, snapRef));
        },
      },
      {
        name: 'tag',
        run: async (s) => {
          await writeTags(xapi, 'VM', s.snapRef!, {
            [SNAPSHOT_TAG.id]: s.id,
            [SNAPSHOT_TAG.memory]: String(s.memory),
            [SNAPSHOT_TAG.pending]: undefined,
            [TAG.operation]: undefined,
          });
        },
      },
      {
        name: 'unmark',
        run: async (s) => {
          await writeTags(xapi, 'VM', s.run.vmRef, { [SNAPSHOT_TAG.pending]: undefined });
        },
      },
    ],
    state,
    run.steps,
  );
  const snapRef = state.snapRef!;
  await mirrorWait(
    xapi,
    () => xapi.mirror.get('VM', snapRef)?.other_config?.[SNAPSHOT_TAG.id] === req.id,
    run.mirrorWaitMs,
  );
}

export async function revertSnapshot(
  xapi: XapiClient,
  id: string,
  powerOn: boolean,
  run: OpRun,
): Promise<void> {
  const snapRef = await snapshotRef(xapi, run.vmRef, id);
  if (!snapRef) throw snapshotNotFound(id);
  await xapi.callAsync('VM.revert', [snapRef], {
    signal: run.signal,
    onProgress: (f) => run.onProgress(f * 0.7, 'VM.revert'),
  });
  // The reverted disks are clones of the snapshot's: make sure they carry the instance's tags,
  // so a later destroy removes them and reconcile does not take them for orphans.
  const vm = await xapi.call<VMRecord>('VM.get_record', run.vmRef);
  for (const vbdRef of vm.VBDs) {
    const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', vbdRef), isGone);
    if (!vbd || vbd.type === 'CD' || vbd.VDI === NULL_REF) continue;
    const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vbd.VDI), isGone);
    if (vdi && !isOwnedBy(vdi.other_config, run.owner) && !vdi.other_config?.[TAG.namespace])
      await writeTags(xapi, 'VDI', vbd.VDI, { ...ownerTags(run.owner, { [TAG.role]: 'disk' }) });
  }
  run.onProgress(0.8, 'revert');
  let target = vm.power_state;
  if (powerOn && vm.power_state === 'Halted') {
    await xapi.callAsync('VM.start', [run.vmRef, false, false], { signal: run.signal });
    target = 'Running';
  } else if (powerOn && vm.power_state === 'Suspended') {
    await xapi.callAsync('VM.resume', [run.vmRef, false, false], { signal: run.signal });
    target = 'Running';
  }
  await run.viewed((v) => v?.xapi_power_state === target);
}

export async function deleteSnapshot(xapi: XapiClient, id: string, run: OpRun): Promise<void> {
  const snapRef = await snapshotRef(xapi, run.vmRef, id);
  if (!snapRef) return; // already gone
  run.onProgress(0.1, 'VM.destroy');
  await removeSnapshot(xapi, snapRef);
  await mirrorWait(xapi, () => !xapi.mirror.get('VM', snapRef), run.mirrorWaitMs);
}

/** Destroys a snapshot VM, then its snapshot VDIs and memory image that nothing else uses. */
export async function removeSnapshot(xapi: XapiClient, snapRef: string): Promise<void> {
  const snap = await ignoreGone(xapi.call<VMRecord>('VM.get_record', snapRef), isGone);
  if (!snap) return;
  const vdiRefs: string[] = [];
  for (const vbdRef of snap.VBDs) {
    const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', vbdRef), isGone);
    if (vbd && vbd.VDI !== NULL_REF) vdiRefs.push(vbd.VDI);
  }
  const suspendVdi =
    snap.suspend_VDI && snap.suspend_VDI !== NULL_REF ? snap.suspend_VDI : undefined;
  await ignoreGone(xapi.call('VM.destroy', snapRef), isGone);
  for (const vdiRef of vdiRefs) {
    const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vdiRef), isGone);
    // Only the disks the snapshot made: snapshot VDIs no other VM uses (never a shared ISO).
    if (vdi && vdi.is_a_snapshot && vdi.VBDs.length === 0)
      await ignoreGone(xapi.call('VDI.destroy', vdiRef), isGone);
  }
  if (suspendVdi) await ignoreGone(xapi.call('VDI.destroy', suspendVdi), isGone);
}

function mirrorWait(xapi: XapiClient, check: () => boolean, timeoutMs: number): Promise<boolean> {
  return waitForMirror(xapi.mirror, check, timeoutMs);
}
