// Snapshots of an instance, named by the orchestrator's id: list and read from the mirror;
// create (disk-only or with memory), revert and delete as operations through the runner, each
// idempotent by snapshot id. What each does in XAPI lives in procedures/snapshot.ts. No HTTP.
import type { XapiClient } from '../xapi';
import { NULL_REF } from '../xapi/ref';
import { ApiError } from './errors';
import { requirePowerState, snapshotNotFound } from './procedures/common';
import { refuseWithPersistentDisk } from './procedures/persistent-disk';
import { createSnapshot, deleteSnapshot, revertSnapshot } from './procedures/snapshot';
import { findSnapshot, listSnapshots, snapshotView } from './views/snapshots';
import type { OperationRunner } from './runner';
import type { Caller, Operation, Schema } from './types';

export class Snapshots {
  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
  ) {}

  list(caller: Caller, id: string): Array<Schema<'Snapshot'>> {
    return listSnapshots(this.xapi.mirror, this.runner.vmOf(caller.namespace, id));
  }

  /** The VDI of the snapshot's disk at `device` (for an export), or 404 volume_not_found. */
  diskVdi(caller: Caller, id: string, snapshotId: string, device: string): string {
    const vm = this.runner.vmOf(caller.namespace, id);
    const snap = findSnapshot(this.xapi.mirror, vm, snapshotId);
    if (!snap) throw snapshotNotFound(snapshotId);
    for (const vbdRef of snap.VBDs) {
      const vbd = this.xapi.mirror.get('VBD', vbdRef);
      if (vbd && vbd.type === 'Disk' && vbd.userdevice === device && vbd.VDI !== NULL_REF)
        return vbd.VDI;
    }
    throw new ApiError(404, 'volume_not_found', `snapshot '${snapshotId}' has no disk ${device}`);
  }

  get(caller: Caller, id: string, snapshotId: string): Schema<'Snapshot'> {
    const vm = this.runner.vmOf(caller.namespace, id);
    const snap = findSnapshot(this.xapi.mirror, vm, snapshotId);
    if (!snap) throw snapshotNotFound(snapshotId);
    return snapshotView(this.xapi.mirror, snap);
  }

  create(
    caller: Caller,
    id: string,
    snapshotId: string,
    body: Schema<'SnapshotRequest'>,
  ): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const pending = runner.pendingWith(caller.namespace, id, 'snapshot', snapshotId, 'snapshot_id');
    if (pending) return runner.opView(pending);
    if (findSnapshot(this.xapi.mirror, vm, snapshotId))
      return runner.done(caller, id, 'snapshot', { snapshot_id: snapshotId });
    const memory = body.memory === true;
    const owner = { namespace: caller.namespace, instanceId: id };
    refuseWithPersistentDisk(this.xapi.mirror, owner, 'snapshot');
    return runner.onInstance(
      caller,
      id,
      {
        kind: 'snapshot',
        args: { snapshot_id: snapshotId },
        ...(memory ? { precheck: (v) => requirePowerState(v, ['running']) } : {}),
      },
      (r) => {
        refuseWithPersistentDisk(this.xapi.mirror, r.owner, 'snapshot');
        return createSnapshot(this.xapi, { id: snapshotId, name: body.name, memory }, r);
      },
    );
  }

  revert(caller: Caller, id: string, snapshotId: string, body: Schema<'RevertRequest'>): Operation {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    if (
      !findSnapshot(this.xapi.mirror, vm, snapshotId) &&
      !runner.pendingWith(caller.namespace, id, 'snapshot', snapshotId, 'snapshot_id')
    )
      throw snapshotNotFound(snapshotId);
    refuseWithPersistentDisk(
      this.xapi.mirror,
      { namespace: caller.namespace, instanceId: id },
      'revert',
    );
    return runner.onInstance(
      caller,
      id,
      { kind: 'revert', args: { snapshot_id: snapshotId } },
      (r) => {
        refuseWithPersistentDisk(this.xapi.mirror, r.owner, 'revert');
        return revertSnapshot(this.xapi, snapshotId, body.power_on === true, r);
      },
    );
  }

  /** null: no such snapshot (already gone). */
  delete(caller: Caller, id: string, snapshotId: string): Operation | null {
    const { runner } = this;
    runner.assertMutator(caller);
    const vm = runner.vmOf(caller.namespace, id);
    const ns = caller.namespace;
    const pending = runner.pendingWith(ns, id, 'delete-snapshot', snapshotId, 'snapshot_id');
    if (pending) return runner.opView(pending);
    if (
      !findSnapshot(this.xapi.mirror, vm, snapshotId) &&
      !runner.pendingWith(ns, id, 'snapshot', snapshotId, 'snapshot_id')
    )
      return null;
    return runner.onInstance(
      caller,
      id,
      { kind: 'delete-snapshot', args: { snapshot_id: snapshotId } },
      (r) => deleteSnapshot(this.xapi, snapshotId, r),
    );
  }
}
