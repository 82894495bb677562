// The service's depth over the ComputeDriver's core: pause and suspend, resize, migration,
// snapshots, volumes, NICs, console, diagnostics and the lifecycle event feed. This file only
// turns requests into operations (checks, scheduling, outcome); what each one does in XAPI lives
// in its own file (lifecycle.ts, resize.ts, migrate.ts, snapshots.ts ...). No HTTP here.
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import type { VMRecord } from '../xapi/datamodel.generated';
import { assertConsoleAccess, consoleLog, vncConsole } from './procedures/console';
import { requirePowerState, snapshotNotFound, type OpRun } from './procedures/common';
import { diagnostics } from './views/diagnostics';
import { ApiError, instanceNotFound } from './errors';
import { EventFeed } from './views/events';
import type { InstanceIndex } from './views/instance-index';
import { LIFECYCLE, runLifecycle, type LifecycleAction } from './procedures/lifecycle';
import { migrate } from './procedures/migrate';
import { waitForMirror } from './mirror-wait';
import { attachNic, detachNic, listNics, resolveNetwork } from './procedures/nic';
import type { OperationEntry, Operations } from './operations';
import { VOLUME_NOT_FOUND, requireVdi } from './ownership';
import { checkResize, resize } from './procedures/resize';
import {
  createSnapshot,
  deleteSnapshot,
  findSnapshot,
  listSnapshots,
  revertSnapshot,
  snapshotView,
} from './procedures/snapshot';
import { TAG } from './tags';
import type { Caller, InstanceAction, Operation, OperationKind, Schema } from './types';
import { attachVolume, detachVolume, listVolumes } from './procedures/volume';

/** What the depth needs of the ComputeDriver; index.ts hands it over in one object. */
export interface DriverCore {
  readonly xapi: XapiClient;
  readonly logger: Logger;
  readonly index: InstanceIndex;
  readonly ops: Operations;
  readonly mirrorWaitMs: number;
  /** The operator's volume sources (SR uuids) for the VDI ownership check (ownership.ts). */
  readonly volumeSrs?: readonly string[];
  assertMutator(caller: Caller): void;
  /** True while a spawn of this instance has not made its VM yet. */
  building(namespace: string, id: string): boolean;
  /** Runs the job in the instance's turn; an error it throws fails the operation. */
  schedule(namespace: string, id: string, entry: OperationEntry, job: () => Promise<void>): void;
  opView(entry: OperationEntry): Operation;
}

export type DepthAction = Extract<
  InstanceAction,
  { action: 'pause' | 'unpause' | 'suspend' | 'resume' | 'resize' | 'migrate' }
>;

const DEPTH_ACTIONS = new Set(['pause', 'unpause', 'suspend', 'resume', 'resize', 'migrate']);

export function isDepthAction(body: InstanceAction): body is DepthAction {
  return DEPTH_ACTIONS.has(body.action);
}

type VmRec = VMRecord & { $ref: string };

export class DepthDriver {
  readonly events: EventFeed;

  constructor(private readonly core: DriverCore) {
    this.events = new EventFeed(core.xapi.mirror);
  }

  start(): void {
    this.events.start();
  }

  stop(): void {
    this.events.stop();
  }

  // ---- actions on the instance (the oneOf of InstanceAction) ----

  action(caller: Caller, id: string, body: DepthAction): Operation {
    switch (body.action) {
      case 'pause':
      case 'unpause':
      case 'suspend':
      case 'resume': {
        const what: LifecycleAction = body.action;
        return this.run(
          caller,
          id,
          what,
          { precheck: (vm) => requirePowerState(vm, LIFECYCLE[what].from) },
          (r) => runLifecycle(this.core.xapi, what, r),
        );
      }
      case 'resize':
        return this.run(
          caller,
          id,
          'resize',
          {
            precheck: (vm) => {
              requirePowerState(vm, ['running', 'halted']);
              checkResize(vm, body);
            },
          },
          (r) => resize(this.core.xapi, body, r, this.core.volumeSrs),
        );
      case 'migrate':
        return this.run(
          caller,
          id,
          'migrate',
          { precheck: (vm) => requirePowerState(vm, ['running']) },
          (r) => migrate(this.core.xapi, body.host, r),
        );
    }
  }

  // ---- snapshots ----

  listSnapshots(caller: Caller, id: string): Array<Schema<'Snapshot'>> {
    const vm = this.vmOf(caller.namespace, id);
    return listSnapshots(this.core.xapi.mirror, vm);
  }

  getSnapshot(caller: Caller, id: string, snapshotId: string): Schema<'Snapshot'> {
    const vm = this.vmOf(caller.namespace, id);
    const snap = findSnapshot(this.core.xapi.mirror, vm, snapshotId);
    if (!snap) throw snapshotNotFound(snapshotId);
    return snapshotView(this.core.xapi.mirror, snap);
  }

  createSnapshot(
    caller: Caller,
    id: string,
    snapshotId: string,
    body: Schema<'SnapshotRequest'>,
  ): Operation {
    this.core.assertMutator(caller);
    const vm = this.vmOf(caller.namespace, id);
    const pending = this.pendingWith(caller.namespace, id, 'snapshot', snapshotId);
    if (pending) return this.core.opView(pending);
    if (findSnapshot(this.core.xapi.mirror, vm, snapshotId))
      return this.done(caller, id, 'snapshot', { snapshot_id: snapshotId });
    const memory = body.memory === true;
    return this.run(
      caller,
      id,
      'snapshot',
      {
        args: { snapshot_id: snapshotId },
        precheck: memory ? (v) => requirePowerState(v, ['running']) : undefined,
      },
      (r) => createSnapshot(this.core.xapi, { id: snapshotId, name: body.name, memory }, r),
    );
  }

  revertSnapshot(
    caller: Caller,
    id: string,
    snapshotId: string,
    body: Schema<'RevertRequest'>,
  ): Operation {
    this.core.assertMutator(caller);
    const vm = this.vmOf(caller.namespace, id);
    if (
      !findSnapshot(this.core.xapi.mirror, vm, snapshotId) &&
      !this.pendingWith(caller.namespace, id, 'snapshot', snapshotId)
    )
      throw snapshotNotFound(snapshotId);
    return this.run(caller, id, 'revert', { args: { snapshot_id: snapshotId } }, (r) =>
      revertSnapshot(this.core.xapi, snapshotId, body.power_on === true, r),
    );
  }

  /** null: no such snapshot (already gone). */
  deleteSnapshot(caller: Caller, id: string, snapshotId: string): Operation | null {
    this.core.assertMutator(caller);
    const vm = this.vmOf(caller.namespace, id);
    const pending = this.pendingWith(caller.namespace, id, 'delete-snapshot', snapshotId);
    if (pending) return this.core.opView(pending);
    if (
      !findSnapshot(this.core.xapi.mirror, vm, snapshotId) &&
      !this.pendingWith(caller.namespace, id, 'snapshot', snapshotId)
    )
      return null;
    return this.run(caller, id, 'delete-snapshot', { args: { snapshot_id: snapshotId } }, (r) =>
      deleteSnapshot(this.core.xapi, snapshotId, r),
    );
  }

  // ---- volumes ----

  listVolumes(caller: Caller, id: string): Array<Schema<'Volume'>> {
    return listVolumes(this.core.xapi.mirror, this.vmOf(caller.namespace, id));
  }

  attachVolume(
    caller: Caller,
    id: string,
    vdiUuid: string,
    body: Schema<'VolumeAttachRequest'>,
  ): Operation {
    this.core.assertMutator(caller);
    const vm = this.vmOf(caller.namespace, id);
    const mirror = this.core.xapi.mirror;
    requireVdi(
      mirror,
      { namespace: caller.namespace, volumeSrs: this.core.volumeSrs },
      vdiUuid,
      { kind: 'device', vmRef: vm.$ref },
      VOLUME_NOT_FOUND,
    );
    if (
      listVolumes(mirror, vm).some(
        (v) => v.uuid === vdiUuid && (!body.device || v.device === body.device),
      )
    )
      return this.done(caller, id, 'attach-volume', { vdi: vdiUuid });
    return this.run(
      caller,
      id,
      'attach-volume',
      { args: { vdi: vdiUuid }, precheck: (v) => requirePowerState(v, ['running', 'halted']) },
      (r) => attachVolume(this.core.xapi, vdiUuid, body, r, this.core.volumeSrs),
    );
  }

  detachVolume(caller: Caller, id: string, vdiUuid: string): Operation | null {
    this.core.assertMutator(caller);
    const vm = this.vmOf(caller.namespace, id);
    const pending = this.pendingWith(caller.namespace, id, 'attach-volume', vdiUuid, 'vdi');
    if (!pending && !listVolumes(this.core.xapi.mirror, vm).some((v) => v.uuid === vdiUuid))
      return null;
    return this.run(
      caller,
      id,
      'detach-volume',
      { args: { vdi: vdiUuid }, precheck: (v) => requirePowerState(v, ['running', 'halted']) },
      (r) => detachVolume(this.core.xapi, vdiUuid, r),
    );
  }

  // ---- NICs ----

  listNics(caller: Caller, id: string): Array<Schema<'NicAttachment'>> {
    return listNics(this.core.xapi.mirror, this.vmOf(caller.namespace, id));
  }

  attachNic(caller: Caller, id: string, body: Schema<'NicAttachRequest'>): Operation {
    this.core.assertMutator(caller);
    const vm = this.vmOf(caller.namespace, id);
    if (body.device !== undefined) {
      // A retry at a device that already holds this NIC: answered at once.
      const mirror = this.core.xapi.mirror;
      const at = listNics(mirror, vm).find((n) => n.device === body.device);
      const netUuid = at
        ? mirror.get('network', resolveNetwork(mirror, body.network).ref)?.uuid
        : undefined;
      if (
        at &&
        at.network === netUuid &&
        (!body.mac || at.mac.toLowerCase() === body.mac.toLowerCase())
      )
        return this.done(caller, id, 'attach-nic', { network: body.network });
    }
    return this.run(
      caller,
      id,
      'attach-nic',
      {
        args: { network: body.network },
        precheck: (v) => requirePowerState(v, ['running', 'halted']),
      },
      (r) => attachNic(this.core.xapi, body, r),
    );
  }

  detachNic(caller: Caller, id: string, device: string): Operation | null {
    this.core.assertMutator(caller);
    const vm = this.vmOf(caller.namespace, id);
    const queued = this.core.ops.latest(caller.namespace, id);
    if (
      (!queued || queued.finished) &&
      !listNics(this.core.xapi.mirror, vm).some((n) => n.device === device)
    )
      return null;
    return this.run(
      caller,
      id,
      'detach-nic',
      { args: { device }, precheck: (v) => requirePowerState(v, ['running', 'halted']) },
      (r) => detachNic(this.core.xapi, device, r),
    );
  }

  // ---- reads ----

  console(caller: Caller, id: string): Schema<'Console'> {
    assertConsoleAccess(caller.role);
    const vm = this.vmOf(caller.namespace, id);
    return vncConsole(this.core.xapi, vm);
  }

  consoleLog(caller: Caller, id: string): Promise<Schema<'ConsoleLog'>> {
    return consoleLog(this.core.xapi, this.vmOf(caller.namespace, id));
  }

  diagnostics(caller: Caller, id: string): Schema<'Diagnostics'> {
    return diagnostics(this.core.xapi.mirror, id, this.vmOf(caller.namespace, id));
  }

  // ---- plumbing ----

  /** The instance's VM record from the mirror, or 404. */
  private vmOf(namespace: string, id: string): VmRec {
    const ref = this.core.index.refOf(namespace, id);
    const vm = ref ? this.core.xapi.mirror.get('VM', ref) : undefined;
    if (!vm) {
      if (this.core.building(namespace, id))
        throw new ApiError(409, 'instance_busy', `instance '${id}' is being built`);
      throw instanceNotFound(id);
    }
    return vm;
  }

  /** A running (or queued) operation of this kind for the same object (args[field] = value). */
  private pendingWith(
    namespace: string,
    id: string,
    kind: OperationKind,
    value: string,
    field = 'snapshot_id',
  ): OperationEntry | undefined {
    const e = this.core.ops.latest(namespace, id, kind);
    return e && !e.finished && e.data.args?.[field] === value ? e : undefined;
  }

  /** A replay of something already done: an operation that has succeeded at once. */
  private done(
    caller: Caller,
    id: string,
    kind: OperationKind,
    args: Record<string, unknown>,
  ): Operation {
    this.core.assertMutator(caller);
    const entry = this.core.ops.create(caller.namespace, kind, id, args);
    const ref = this.core.index.refOf(caller.namespace, id);
    this.core.ops.succeed(entry, (ref && this.core.index.view(ref)) || null);
    return this.core.opView(entry);
  }

  /**
   * Runs `job` as an operation of the instance: in its turn, after the mirror-based precheck
   * (skipped when other operations are queued: their outcome decides), with the outcome recorded
   * in memory and in the VM's operation tag.
   */
  private run(
    caller: Caller,
    id: string,
    kind: OperationKind,
    opts: { args?: Record<string, unknown>; precheck?: ((vm: VmRec) => void) | undefined },
    job: (run: OpRun) => Promise<void>,
  ): Operation {
    this.core.assertMutator(caller);
    const ns = caller.namespace;
    const vm = this.vmOf(ns, id);
    const state = vm.other_config?.[TAG.state];
    if (state === 'building' || state === 'deleting')
      throw new ApiError(
        409,
        'instance_busy',
        `instance '${id}' is ${state === 'building' ? 'being built' : 'being deleted'}`,
      );
    const queued = this.core.ops.latest(ns, id);
    if (opts.precheck && (!queued || queued.finished)) opts.precheck(vm);
    const { ops, index } = this.core;
    const entry = ops.create(ns, kind, id, opts.args);
    this.core.schedule(ns, id, entry, async () => {
      const ref = index.refOf(ns, id);
      if (!ref) throw instanceNotFound(id);
      try {
        await job({
          vmRef: ref,
          owner: { namespace: ns, instanceId: id },
          signal: entry.signal,
          onProgress: (f, step) => ops.progress(entry, f, step),
          steps: {
            signal: entry.signal,
            onProgress: (f, step) => ops.progress(entry, f, step),
            onStep: (step) => ops.progress(entry, entry.data.progress, step),
            onUndoError: (label, err) =>
              this.core.logger.error({ err, operation: entry.data.id, undo: label }, 'undo failed'),
          },
          mirrorWaitMs: this.core.mirrorWaitMs,
          viewed: (check) =>
            waitForMirror(
              this.core.xapi.mirror,
              () => check(index.view(ref)),
              this.core.mirrorWaitMs,
            ),
        });
        ops.succeed(entry, index.view(ref) ?? null);
      } catch (err) {
        ops.fail(entry, err);
      }
      if (this.core.xapi.mirror.get('VM', ref)) await ops.persist(entry, ref);
    });
    return this.core.opView(entry);
  }
}
