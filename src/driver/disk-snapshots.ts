// Snapshots of one disk of an instance, named by the orchestrator's id per device: listed from
// the mirror; create, revert and delete as operations through the runner, each idempotent by
// id. What each does in XAPI lives in procedures/disk-snapshot.ts. No HTTP.
import type { XapiClient } from '../xapi';
import { sizeGb } from '../xapi/units';
import {
  diskSnapshotsOf,
  findDiskSnapshot,
  noOwnedDisk,
  ownedDiskAt,
  time,
  createDiskSnapshot,
  deleteDiskSnapshot,
  revertDiskSnapshot,
  requireRevertible,
} from './procedures/disk-snapshot';
import { snapshotNotFound } from './procedures/common';
import { DISK_SNAPSHOT_TAG, TAG, type Owner } from './tags';
import type { OperationRunner } from './runner';
import type { Caller, Operation, Schema } from './types';

type View = Schema<'DiskSnapshot'>;

export class DiskSnapshots {
  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
  ) {}

  list(caller: Caller, id: string, device: string): View[] {
    this.runner.vmOf(caller.namespace, id);
    const owner = { namespace: caller.namespace, instanceId: id };
    return diskSnapshotsOf(this.xapi.mirror, owner, device).map((v) => ({
      id: v.other_config[DISK_SNAPSHOT_TAG.id]!,
      instance_id: id,
      device: v.other_config[TAG.device] ?? device,
      name: v.name_label,
      uuid: v.uuid,
      size_gb: sizeGb(v.virtual_size),
      created_at: new Date(time(v.snapshot_time)).toISOString(),
    }));
  }

  /** The snapshot's VDI (for an export), or 404 snapshot_not_found. */
  vdi(caller: Caller, id: string, device: string, snapshotId: string): string {
    this.runner.vmOf(caller.namespace, id);
    const snap = findDiskSnapshot(this.xapi.mirror, ownerOf(caller, id), device, snapshotId);
    if (!snap) throw snapshotNotFound(snapshotId);
    return snap.$ref;
  }

  create(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
    body: Schema<'DiskSnapshotRequest'>,
  ): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const owner = ownerOf(caller, id);
    const args = { device, snapshot_id: snapshotId };
    const pending = this.pending(caller, id, 'disk-snapshot', device, snapshotId);
    if (pending) return pending;
    if (findDiskSnapshot(this.xapi.mirror, owner, device, snapshotId))
      return runner.done(caller, id, 'disk-snapshot', args);
    if (!ownedDiskAt(this.xapi.mirror, vm.VBDs, owner, device)) throw noOwnedDisk(device);
    return runner.onInstance(caller, id, { kind: 'disk-snapshot', args }, (r) =>
      createDiskSnapshot(this.xapi, device, { id: snapshotId, name: body.name }, r),
    );
  }

  revert(caller: Caller, id: string, device: string, snapshotId: string): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const owner = ownerOf(caller, id);
    if (
      !findDiskSnapshot(this.xapi.mirror, owner, device, snapshotId) &&
      !this.pending(caller, id, 'disk-snapshot', device, snapshotId)
    )
      throw snapshotNotFound(snapshotId);
    const disk = ownedDiskAt(this.xapi.mirror, vm.VBDs, owner, device);
    if (!disk) throw noOwnedDisk(device);
    const { mirror } = this.xapi;
    const precheck = (v: typeof vm): void =>
      requireRevertible(
        v.$ref,
        v.power_state,
        mirror.get('VDI', disk.vdiRef)?.other_config[TAG.role] === 'root',
        mirror.get('VBD', disk.vbdRef)?.unpluggable === true,
      );
    return runner.onInstance(
      caller,
      id,
      { kind: 'revert-disk-snapshot', args: { device, snapshot_id: snapshotId }, precheck },
      (r) => revertDiskSnapshot(this.xapi, device, snapshotId, r),
    );
  }

  /** null: no such snapshot (already gone). */
  delete(caller: Caller, id: string, device: string, snapshotId: string): Operation | null {
    const { runner } = this;
    runner.assertMutator(caller);
    runner.vmOf(caller.namespace, id);
    const pending = this.pending(caller, id, 'delete-disk-snapshot', device, snapshotId);
    if (pending) return pending;
    if (
      !findDiskSnapshot(this.xapi.mirror, ownerOf(caller, id), device, snapshotId) &&
      !this.pending(caller, id, 'disk-snapshot', device, snapshotId)
    )
      return null;
    return runner.onInstance(
      caller,
      id,
      { kind: 'delete-disk-snapshot', args: { device, snapshot_id: snapshotId } },
      (r) => deleteDiskSnapshot(this.xapi, device, snapshotId, r),
    );
  }

  /** The view of a running (or queued) operation of `kind` on this device's snapshot id. */
  private pending(
    caller: Caller,
    id: string,
    kind: 'disk-snapshot' | 'delete-disk-snapshot',
    device: string,
    snapshotId: string,
  ): Operation | undefined {
    const e = this.runner.pendingWith(caller.namespace, id, kind, snapshotId, 'snapshot_id');
    return e && e.data.args?.device === device ? this.runner.opView(e) : undefined;
  }
}

function ownerOf(caller: Caller, id: string): Owner {
  return { namespace: caller.namespace, instanceId: id };
}
