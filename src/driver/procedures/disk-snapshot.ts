// Snapshots of one disk an instance owns (its root disk or a data disk): VDI.snapshot of that
// disk, tagged with the instance, device and the orchestrator's id; revert (a clone of the
// snapshot swapped in at the device, the former VDI destroyed) and delete (VDI.destroy). Each
// step registers its undo, so a failure leaves the disk as it was. Never touches a volume, the
// config drive, or a VDI the instance does not own.
import type { MirrorView, XapiClient } from '../../xapi';
import type { VBDRecord, VDIRecord } from '../../xapi/datamodel.generated';
import { badPowerState, createAndPlug, ignoreGone, snapshotNotFound, type OpRun } from './common';
import { ApiError, isGone } from '../errors';
import { waitForMirror } from '../mirror-wait';
import { runSteps } from '../steps';
import { DISK_SNAPSHOT_TAG, TAG, isOwnedBy, ownerTags, writeTags, type Owner } from '../tags';
import { NULL_REF } from '../../xapi/ref';

/** xcd_role of a disk snapshot's VDI. */
export const DISK_SNAPSHOT_ROLE = 'disk-snapshot';

/** The roles of the disks an instance owns that may be snapshotted. */
const SNAPSHOT_ROLES = new Set(['root', 'disk']);

type VdiRow = { $ref: string } & Pick<
  VDIRecord,
  'uuid' | 'name_label' | 'other_config' | 'virtual_size' | 'snapshot_time' | 'is_a_snapshot'
>;

/** Is this VBD and VDI a disk of the instance's own (root or data disk, never a volume)? */
export function isOwnedDisk(
  owner: Owner,
  vbd: Pick<VBDRecord, 'type' | 'other_config'>,
  vdi: Pick<VDIRecord, 'other_config' | 'is_a_snapshot'> | undefined,
): boolean {
  return (
    vbd.type === 'Disk' &&
    vbd.other_config?.[TAG.role] !== 'volume' &&
    vdi !== undefined &&
    !vdi.is_a_snapshot &&
    isOwnedBy(vdi.other_config, owner) &&
    SNAPSHOT_ROLES.has(vdi.other_config[TAG.role] ?? '')
  );
}

export function noOwnedDisk(device: string): ApiError {
  return new ApiError(
    409,
    'operation_not_allowed',
    `device ${device} holds no disk the instance owns (volumes and the config drive have no ` +
      'disk snapshots)',
    { extra: { device } },
  );
}

/** The instance's own disk at `device` as the mirror shows it, or undefined. */
export function ownedDiskAt(
  mirror: MirrorView,
  vbdRefs: readonly string[],
  owner: Owner,
  device: string,
): { vbdRef: string; vdiRef: string } | undefined {
  for (const vbdRef of vbdRefs) {
    const vbd = mirror.get('VBD', vbdRef);
    if (!vbd || vbd.userdevice !== device || vbd.VDI === NULL_REF) continue;
    if (isOwnedDisk(owner, vbd, mirror.get('VDI', vbd.VDI))) return { vbdRef, vdiRef: vbd.VDI };
  }
  return undefined;
}

/** The pending mark of a create of snapshot `id` of the disk at `device` (on the disk while
 * VDI.snapshot runs, so on the snapshot too: a disk the spawn made has no device tag). */
const markOf = (device: string, id: string): string => `${device}/${id}`;

/** The instance's snapshot VDIs (tagged, or still carrying a disk's tags), from the mirror. */
function snapshotVdis(mirror: MirrorView, owner: Owner): VdiRow[] {
  return mirror
    .query('VDI', {
      where: {
        [`other_config.${TAG.namespace}`]: owner.namespace,
        [`other_config.${TAG.instanceId}`]: owner.instanceId,
      },
      fields: [
        'uuid',
        'name_label',
        'other_config',
        'virtual_size',
        'snapshot_time',
        'is_a_snapshot',
      ],
    })
    .filter((v) => v.is_a_snapshot);
}

const idOf = (v: VdiRow): string => v.other_config[DISK_SNAPSHOT_TAG.id] ?? '';

/** The disk's snapshots (they carry an id), oldest first. */
export function diskSnapshotsOf(mirror: MirrorView, owner: Owner, device: string): VdiRow[] {
  return snapshotVdis(mirror, owner)
    .filter(
      (v) =>
        v.other_config[TAG.role] === DISK_SNAPSHOT_ROLE &&
        v.other_config[TAG.device] === device &&
        v.other_config[DISK_SNAPSHOT_TAG.id] !== undefined,
    )
    .sort(
      // snapshot_time counts whole seconds: snapshots of one second by id (numbers as numbers)
      (a, b) =>
        time(a.snapshot_time) - time(b.snapshot_time) ||
        idOf(a).localeCompare(idOf(b), 'en', { numeric: true }),
    );
}

export function findDiskSnapshot(
  mirror: MirrorView,
  owner: Owner,
  device: string,
  id: string,
): VdiRow | undefined {
  return diskSnapshotsOf(mirror, owner, device).find(
    (v) => v.other_config[DISK_SNAPSHOT_TAG.id] === id,
  );
}

/** Snapshots an interrupted create left untagged (they carry the mark): of `id`, or with
 * `id` undefined of any id, of the disk at `device`. */
function interrupted(
  mirror: MirrorView,
  owner: Owner,
  device: string,
  id: string | undefined,
): VdiRow[] {
  return snapshotVdis(mirror, owner).filter((v) => {
    const mark = v.other_config[DISK_SNAPSHOT_TAG.pending];
    return (
      v.other_config[DISK_SNAPSHOT_TAG.id] === undefined &&
      mark !== undefined &&
      (id === undefined ? mark.startsWith(markOf(device, '')) : mark === markOf(device, id))
    );
  });
}

export function time(d: unknown): number {
  const t = d instanceof Date ? d.getTime() : Date.parse(String(d));
  return Number.isNaN(t) ? 0 : t;
}

/** The instance's own disk at `device`, asked of XAPI (a job runs after earlier operations). */
async function diskAt(
  xapi: XapiClient,
  run: OpRun,
  device: string,
): Promise<{ vbd: VBDRecord & { ref: string }; vdi: VDIRecord }> {
  for (const ref of await xapi.call<string[]>('VM.get_VBDs', run.vmRef)) {
    const vbd = await ignoreGone(xapi.call<VBDRecord>('VBD.get_record', ref), isGone);
    if (!vbd || vbd.userdevice !== device || vbd.VDI === NULL_REF) continue;
    const vdi = await ignoreGone(xapi.call<VDIRecord>('VDI.get_record', vbd.VDI), isGone);
    if (vdi && isOwnedDisk(run.owner, vbd, vdi)) return { vbd: { ...vbd, ref }, vdi };
  }
  throw noOwnedDisk(device);
}

interface CreateState {
  snapRef?: string;
}

/** VDI.snapshot of the disk at `device`, tagged with `id`; a retry of a finished one is done. */
export async function createDiskSnapshot(
  xapi: XapiClient,
  device: string,
  req: { id: string; name?: string | undefined },
  run: OpRun,
): Promise<void> {
  const { mirror } = xapi;
  if (findDiskSnapshot(mirror, run.owner, device, req.id)) return;
  const { vbd } = await diskAt(xapi, run, device);
  const adopted = interrupted(mirror, run.owner, device, req.id)[0]?.$ref;
  const name =
    req.name ??
    `${mirror.get('VM', run.vmRef)?.name_label ?? run.owner.instanceId} disk ${device} ` +
      `snapshot ${req.id}`;
  const state: CreateState = adopted ? { snapRef: adopted } : {};
  await runSteps<CreateState>(
    [
      {
        name: 'mark',
        run: async (_s, ctx) => {
          // The snapshot copies the disk's other_config: it carries the mark from its birth.
          await writeTags(xapi, 'VDI', vbd.VDI, {
            [DISK_SNAPSHOT_TAG.pending]: markOf(device, req.id),
          });
          ctx.onUndo('unmark the disk', async () => {
            await ignoreGone(
              writeTags(xapi, 'VDI', vbd.VDI, { [DISK_SNAPSHOT_TAG.pending]: undefined }),
              isGone,
            );
          });
        },
      },
      {
        name: 'VDI.snapshot',
        weight: 3,
        when: (s) => s.snapRef === undefined,
        run: async (s, ctx) => {
          const snapRef = await xapi.callAsync<string>('VDI.snapshot', [vbd.VDI, {}], {
            signal: ctx.signal,
            onProgress: (f) => ctx.progress(f),
          });
          s.snapRef = snapRef;
          ctx.onUndo('destroy the snapshot', async () => {
            await ignoreGone(xapi.call('VDI.destroy', snapRef), isGone);
            // Until the mirror drops it, a retry would take the tagged snapshot for done.
            await waitForMirror(mirror, () => !mirror.get('VDI', snapRef), run.mirrorWaitMs);
          });
        },
      },
      {
        name: 'tag',
        run: async (s) => {
          // The name first: once the tags show, the snapshot is listed, with its name.
          await xapi.call('VDI.set_name_label', s.snapRef, name);
          await xapi.call(
            'VDI.set_other_config',
            s.snapRef,
            ownerTags(run.owner, {
              [TAG.role]: DISK_SNAPSHOT_ROLE,
              [TAG.device]: device,
              [DISK_SNAPSHOT_TAG.id]: req.id,
            }),
          );
        },
      },
      {
        name: 'unmark',
        run: async () => {
          await writeTags(xapi, 'VDI', vbd.VDI, { [DISK_SNAPSHOT_TAG.pending]: undefined });
        },
      },
    ],
    state,
    run.steps,
  );
  await waitForMirror(
    mirror,
    () => findDiskSnapshot(mirror, run.owner, device, req.id)?.name_label === name,
    run.mirrorWaitMs,
  );
}

/** A revert needs the instance halted, or running with a data disk it may unplug. */
export function requireRevertible(
  vmRef: string,
  power: string,
  root: boolean,
  unpluggable: boolean,
): void {
  if (power === 'Halted' || (power === 'Running' && !root && unpluggable)) return;
  throw badPowerState(
    vmRef,
    root || power === 'Running' ? ['halted'] : ['halted', 'running'],
    power,
  );
}

interface RevertState {
  cloneRef?: string;
  /** The VBD at the device once the old one is gone (recreated by an undo, or the clone's). */
  vbdRef?: string;
}

/**
 * The disk at `device` back to snapshot `id`: VDI.clone of the snapshot (tagged as the disk
 * was), the old VBD unplugged (running) and destroyed, a VBD on the clone created (and plugged)
 * at the device, the old VDI destroyed. Undo puts the old VBD back (plugged when it was).
 */
export async function revertDiskSnapshot(
  xapi: XapiClient,
  device: string,
  id: string,
  run: OpRun,
): Promise<void> {
  const { mirror } = xapi;
  const { vbd, vdi } = await diskAt(xapi, run, device);
  const oldVdiRef = vbd.VDI;
  const power = await xapi.call<string>('VM.get_power_state', run.vmRef);
  requireRevertible(run.vmRef, power, vdi.other_config[TAG.role] === 'root', vbd.unpluggable);
  const snap = findDiskSnapshot(mirror, run.owner, device, id);
  if (!snap) throw snapshotNotFound(id);
  const vbdRecord = {
    VM: run.vmRef,
    userdevice: device,
    bootable: vbd.bootable,
    mode: vbd.mode,
    type: vbd.type,
    empty: false,
    unpluggable: vbd.unpluggable,
    other_config: vbd.other_config,
    qos_algorithm_type: vbd.qos_algorithm_type,
    qos_algorithm_params: vbd.qos_algorithm_params,
  };
  const wasPlugged = vbd.currently_attached;
  await runSteps<RevertState>(
    [
      {
        name: 'VDI.clone',
        run: async (s, ctx) => {
          const cloneRef = await xapi.call<string>('VDI.clone', snap.$ref, {});
          s.cloneRef = cloneRef;
          ctx.onUndo('destroy the clone', async () => {
            await ignoreGone(xapi.call('VDI.destroy', cloneRef), isGone);
          });
          // The clone becomes the instance's disk: the disk's own tags and name.
          await xapi.call('VDI.set_other_config', cloneRef, vdi.other_config);
          await xapi.call('VDI.set_name_label', cloneRef, vdi.name_label);
        },
      },
      {
        name: 'VBD.unplug',
        weight: 2,
        when: () => wasPlugged,
        run: async (_s, ctx) => {
          await xapi.callAsync('VBD.unplug', [vbd.ref], { signal: ctx.signal });
          ctx.onUndo('plug the disk again', async () => {
            await ignoreGone(xapi.callAsync('VBD.plug', [vbd.ref]), isGone);
          });
        },
      },
      {
        name: 'VBD.destroy',
        run: async (s, ctx) => {
          await xapi.call('VBD.destroy', vbd.ref);
          ctx.onUndo('attach the disk again', async () => {
            const ref = await xapi.call<string>('VBD.create', { ...vbdRecord, VDI: oldVdiRef });
            s.vbdRef = ref;
            if (wasPlugged) await xapi.callAsync('VBD.plug', [ref]);
          });
        },
      },
      {
        name: 'attach',
        weight: 2,
        run: async (s) => {
          s.vbdRef = await createAndPlug(xapi, run, 'VBD', { ...vbdRecord, VDI: s.cloneRef });
        },
      },
      {
        name: 'VDI.destroy',
        run: async () => {
          await ignoreGone(xapi.callAsync('VDI.destroy', [oldVdiRef]), isGone);
        },
      },
    ],
    {},
    run.steps,
  );
  await waitForMirror(mirror, () => !mirror.get('VDI', oldVdiRef), run.mirrorWaitMs);
  await run.viewed((v) => !!v?.disks.some((d) => d.device === device));
}

/** VDI.destroy of the snapshot (and of any VDI an interrupted create of this id left). */
export async function deleteDiskSnapshot(
  xapi: XapiClient,
  device: string,
  id: string,
  run: OpRun,
): Promise<void> {
  const { mirror } = xapi;
  const refs = [
    ...interrupted(mirror, run.owner, device, id),
    findDiskSnapshot(mirror, run.owner, device, id),
  ]
    .filter((v): v is VdiRow => v !== undefined)
    .map((v) => v.$ref);
  run.onProgress(0.1, 'VDI.destroy');
  for (const ref of refs) await ignoreGone(xapi.callAsync('VDI.destroy', [ref]), isGone);
  await waitForMirror(mirror, () => refs.every((r) => !mirror.get('VDI', r)), run.mirrorWaitMs);
}

/** Destroys every snapshot of the instance's disk at `device` (the disk itself is gone): a disk
 * made later at that device starts without snapshots, and its ids are free again. */
export async function destroyDiskSnapshots(
  xapi: XapiClient,
  owner: Owner,
  device: string,
): Promise<void> {
  const { mirror } = xapi;
  const refs = [
    ...diskSnapshotsOf(mirror, owner, device),
    ...interrupted(mirror, owner, device, undefined),
  ].map((v) => v.$ref);
  for (const ref of refs) await ignoreGone(xapi.call('VDI.destroy', ref), isGone);
}
