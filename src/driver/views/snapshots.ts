// An instance's snapshots as the contract shows them (the ones the service made: they carry a
// snapshot id), read from the mirror, oldest first. Never calls XAPI.
import type { MirrorView } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import { MiB } from '../../xapi/units';
import { normalizePowerState } from '../power-states';
import { SNAPSHOT_TAG, TAG } from '../tags';
import type { Schema } from '../types';
import { diskViews } from './disks';

type VmRec = VMRecord & { $ref: string };

/** The instance's snapshots the service made (they carry a snapshot id), oldest first. */
function snapshotsOf(mirror: MirrorView, vm: VmRec): VmRec[] {
  const out: VmRec[] = [];
  for (const ref of vm.snapshots ?? []) {
    const snap = mirror.get('VM', ref);
    if (snap && snap.is_a_snapshot && snap.other_config?.[SNAPSHOT_TAG.id] !== undefined)
      out.push(snap);
  }
  return out.sort((a, b) => time(a.snapshot_time) - time(b.snapshot_time));
}

function time(d: unknown): number {
  const t = d instanceof Date ? d.getTime() : Date.parse(String(d));
  return Number.isNaN(t) ? 0 : t;
}

export function findSnapshot(mirror: MirrorView, vm: VmRec, id: string): VmRec | undefined {
  return snapshotsOf(mirror, vm).find((s) => s.other_config[SNAPSHOT_TAG.id] === id);
}

export function listSnapshots(mirror: MirrorView, vm: VmRec): Array<Schema<'Snapshot'>> {
  return snapshotsOf(mirror, vm).map((s) => snapshotView(mirror, s));
}

export function snapshotView(mirror: MirrorView, snap: VmRec): Schema<'Snapshot'> {
  const disks = diskViews(mirror, snap.VBDs);
  const at = snap.snapshot_info?.['power-state-at-snapshot'];
  const t = time(snap.snapshot_time);
  return {
    id: snap.other_config[SNAPSHOT_TAG.id],
    instance_id: snap.other_config[TAG.instanceId] ?? '',
    name: snap.name_label,
    uuid: snap.uuid,
    memory: snap.power_state === 'Suspended' || snap.other_config[SNAPSHOT_TAG.memory] === 'true',
    created_at: new Date(t).toISOString(),
    power_state_at_snapshot: normalizePowerState(at),
    vcpus: Number(snap.VCPUs_at_startup),
    memory_mb: Math.round(Number(snap.memory_static_max) / MiB),
    disks,
  };
}
