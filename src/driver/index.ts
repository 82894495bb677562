// ComputeDriver: the service's compute semantics over one XapiClient. Reads come from the mirror
// (instances.ts, catalogue.ts, host.ts); every mutation is an operation (operations.ts) run per
// instance in order and across instances in parallel (concurrency.ts). Namespaces are enforced
// here: another namespace's instances and untagged VMs do not exist for a caller. No HTTP here.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import * as catalogue from './views/catalogue';
import { Scheduler } from './concurrency';
import { DepthDriver, isDepthAction, type DriverCore } from './depth';
import { currentVmRefs, destroyInstance, destroyLeftovers, leftoverDisks } from './procedures/destroy';
import { ApiError, instanceNotFound } from './errors';
import { hostView } from './views/host';
import { InstanceIndex } from './views/instance-index';
import { Lease } from './lease';
import { waitForMirror } from './mirror-wait';
import { OperationEntry, Operations, parsePersisted } from './operations';
import { runAction, targetPowerState } from './procedures/power';
import { reconcile, type ReconcileReport } from './reconcile';
import { planSpawn, spawnSteps, type SpawnState } from './spawn/steps';
import { OperationCancelled, runSteps, StepFailure } from './steps';
import { TAG, specHash, type Owner } from './tags';
import type { Caller, Instance, InstanceAction, Operation, Schema, SpawnRequest } from './types';

export type { Caller } from './types';
export { ApiError, toApiError } from './errors';
export type { ReconcileReport } from './reconcile';

export interface ComputeDriverOptions {
  logger: Logger;
  /** This service's id, written as the owner of its work in flight (default: the host name).
   * Two services on one pool need two ids; a restart keeps its id to take its own work back. */
  serviceId?: string;
  /** How long this service's lease lasts unrenewed (default 30 s): another service takes over
   * its work in flight only after that. */
  leaseTtlMs?: number;
  /** How often reconcile sweeps the pool for what transient failures left (default 60 s). */
  sweepIntervalMs?: number;
  /** Longest start-up reconcile before the driver reports ready anyway (default 30 s); the pass
   * goes on in the background. */
  startupReconcileMs?: number;
  /** Operations queued or running per instance; more answer 429 (default 32). */
  queueLimit?: number;
  /** SR uuids whose untagged plain user disks any namespace may use as images and volumes
   * (ownership.ts); default none. */
  volumeSrs?: string[];
  /** Operations running at once across instances (default 16). */
  concurrency?: number;
  /** Operations kept per namespace; beyond it the oldest finished go (default 1000). */
  operationHistory?: number;
  /** How long a finished operation stays answerable (default 24 h). */
  operationRetentionMs?: number;
  /** How long an operation waits for the mirror to show its outcome (default 10 s). */
  mirrorWaitMs?: number;
}

const key = (namespace: string, id: string): string => `${namespace}\u0000${id}`;

/** The default service id: the host name (a restarted service takes its own work back). */
function defaultServiceId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._:@-]/g, '-')
      .slice(0, 128) || 'xcd'
  );
}

/** How long a finished power action's tag write waits for a newer power action to supersede it. */
const TAG_WRITE_DELAY_MS = 100;

interface PendingTagWrite {
  /** A newer power action's write replaces this one: it is skipped. */
  superseded: boolean;
  /** Ends the wait now. */
  flush: () => void;
  /** Settles (never rejects) once written or skipped. */
  done: Promise<void>;
}

export class ComputeDriver {
  private readonly logger: Logger;
  private readonly index: InstanceIndex;
  private readonly ops: Operations;
  private readonly scheduler: Scheduler;
  /** Per instance key: the operation tag write of its last power action, until it is done. */
  private readonly tagWrites = new Map<string, PendingTagWrite>();
  private readonly mirrorWaitMs: number;
  /** Spawns whose VM may not exist yet: key -> body hash and operation. */
  private readonly inflight = new Map<string, { hash: string; entry: OperationEntry }>();
  private readonly jobs = new Set<Promise<void>>();
  private started = false;
  private closed = false;
  private readonly lease: Lease;
  private readonly sweepIntervalMs: number;
  private readonly startupReconcileMs: number;
  private readonly queueLimit: number;
  private readonly volumeSrs: string[];
  private sweepTimer: NodeJS.Timeout | undefined;
  /** The reconcile pass under way, if any (start-up or sweep). */
  private pass: Promise<void> | undefined;
  /** Instance keys with an operation of this service queued or running. */
  private readonly activeKeys = new Map<string, number>();
  lastReconcile: ReconcileReport | undefined;
  /** Pause, snapshots, resize, volumes, NICs, console, migration, diagnostics, events (depth.ts). */
  readonly depth: DepthDriver;

  constructor(
    private readonly xapi: XapiClient,
    opts: ComputeDriverOptions,
  ) {
    this.logger = opts.logger;
    this.index = new InstanceIndex(xapi.mirror, () => xapi.connection.resyncs);
    this.lease = new Lease(xapi, opts.logger, {
      serviceId: opts.serviceId ?? defaultServiceId(),
      ...(opts.leaseTtlMs !== undefined ? { ttlMs: opts.leaseTtlMs } : {}),
    });
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 60_000;
    this.startupReconcileMs = opts.startupReconcileMs ?? 30_000;
    this.queueLimit = opts.queueLimit ?? 32;
    this.volumeSrs = opts.volumeSrs ?? [];
    this.ops = new Operations(xapi, opts.logger, {
      historyPerNamespace: opts.operationHistory,
      retentionMs: opts.operationRetentionMs,
    });
    this.ops.setTagLookup((ns, opId) => this.index.vmWithOperation(ns, opId));
    this.scheduler = new Scheduler(opts.concurrency ?? 16);
    this.mirrorWaitMs = opts.mirrorWaitMs ?? 10_000;
    this.depth = new DepthDriver(this.depthCore());
  }

  /** Follows the mirror, takes the service's lease, then reconciles what a previous run (or a
   * service whose lease ran out) left behind. Resolves once that pass is over, or after
   * startupReconcileMs with the pass still going on; ready() is false until then. */
  async start(): Promise<void> {
    await this.ops.load();
    this.index.start();
    this.depth.start();
    await this.lease.start();
    const first = this.reconcilePass(10_000);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      first,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.startupReconcileMs))),
    ]);
    clearTimeout(timer);
    if (this.closed) return;
    this.started = true;
    this.scheduleSweep();
  }

  /** The driver serves: started, not closing, and the mirror follows XAPI now. */
  ready(): boolean {
    return this.started && !this.closed && this.xapi.mirror.synced;
  }

  /** This service's id (the owner tag on its work in flight). */
  get serviceId(): string {
    return this.lease.serviceId;
  }

  /** One reconcile pass; a pass already under way is joined, not doubled. */
  reconcilePass(cloneWaitMs = 0): Promise<void> {
    this.pass ??= (async () => {
      try {
        const r = await reconcile(this.xapi, this.ops, this.logger, {
          cloneWaitMs,
          mayTakeOver: (owner, serviceId) => this.mayTakeOver(owner, serviceId),
          exclusive: (owner, fn) => this.scheduler.run(key(owner.namespace, owner.instanceId), fn),
        });
        this.lastReconcile = r;
        if (
          r.cleanedUp.length ||
          r.destroyed.length ||
          r.interrupted.length ||
          r.orphanVdis ||
          r.orphanVifs ||
          r.errors.length
        )
          this.logger.info({ reconcile: r }, 'reconciled the pool with the service tags');
      } catch (err) {
        this.logger.warn({ err }, 'reconcile pass failed; the next sweep retries');
      } finally {
        this.pass = undefined;
      }
    })();
    return this.pass;
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = setTimeout(() => {
      void this.reconcilePass().finally(() => this.scheduleSweep());
    }, this.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Work in flight of an instance is taken over only when no operation of this service is on
   * it, and the service that started it is this one, unknown (untagged), or without a lease. */
  private mayTakeOver(owner: Owner, serviceId: string | undefined): boolean {
    const k = key(owner.namespace, owner.instanceId);
    if (this.activeKeys.has(k) || this.inflight.has(k)) return false;
    return serviceId === undefined || !this.lease.isLive(serviceId) || serviceId === this.serviceId;
  }

  host(): Schema<'Host'> {
    return hostView(this.xapi.mirror);
  }
  templates(): Array<Schema<'Template'>> {
    return catalogue.templates(this.xapi.mirror);
  }
  networks(): Array<Schema<'Network'>> {
    return catalogue.networks(this.xapi.mirror);
  }
  srs(): Array<Schema<'SR'>> {
    return catalogue.srs(this.xapi.mirror);
  }

  listInstances(
    caller: Caller,
    q: { power_state?: string; limit: number; offset: number },
  ): { items: Instance[]; total: number } {
    return this.index.list(caller.namespace, q);
  }

  getInstance(caller: Caller, id: string): Instance {
    return this.index.get(caller.namespace, id);
  }

  spawn(
    caller: Caller,
    id: string,
    body: SpawnRequest,
  ): { operation: Operation; replayed: boolean } {
    this.assertMutator(caller);
    const ns = caller.namespace;
    const k = key(ns, id);
    const hash = specHash(body);
    const mismatch = (): ApiError =>
      new ApiError(
        409,
        'conflict_spawn_mismatch',
        `instance '${id}' exists with a different spawn request`,
      );

    const deleting = this.ops.latest(ns, id, 'destroy');
    if (deleting && !deleting.finished)
      throw new ApiError(409, 'instance_busy', `instance '${id}' is being deleted; retry later`);
    const pending = this.inflight.get(k);
    if (pending) {
      if (pending.hash !== hash) throw mismatch();
      return { operation: this.opView(pending.entry), replayed: true };
    }
    const vmRef = this.index.refOf(ns, id);
    if (vmRef) {
      const oc = this.xapi.mirror.get('VM', vmRef)?.other_config ?? {};
      if (oc[TAG.spec] !== hash) throw mismatch();
      if (oc[TAG.state] === 'deleting')
        throw new ApiError(409, 'instance_busy', `instance '${id}' is being deleted`);
      const known = this.ops.latest(ns, id, 'spawn');
      if (known) return { operation: this.opView(known), replayed: true };
      const persisted = parsePersisted(oc[TAG.operation]);
      if (persisted?.kind === 'spawn')
        return { operation: this.opView(this.ops.adopt(ns, persisted)), replayed: true };
      const entry = this.ops.create(ns, 'spawn', id);
      this.ops.succeed(entry, this.index.view(vmRef) ?? null);
      return { operation: this.opView(entry), replayed: true };
    }

    const owner = { namespace: ns, instanceId: id };
    const plan = planSpawn(this.xapi.mirror, owner, hash, body, this.volumeSrs);
    this.assertQueue(k);
    const entry = this.ops.create(ns, 'spawn', id);
    this.inflight.set(k, { hash, entry });
    const state: SpawnState = {
      plan,
      serviceId: this.serviceId,
      volumeSrs: this.volumeSrs,
      made: { vbdDevices: [], vifDevices: [], nicVifs: [] },
      operationJson: (final) =>
        final
          ? JSON.stringify({
              ...entry.data,
              status: 'succeeded',
              progress: 1,
              step: undefined,
              finished_at: new Date().toISOString(),
            })
          : entry.persisted(),
    };
    const job = this.schedule(k, entry, async () => {
      try {
        await runSteps(spawnSteps(this.xapi), state, this.stepOptions(entry));
      } catch (err) {
        // Rolled back: report the failure once reads (the mirror, and the index it feeds) no
        // longer show the removed VM, which may still be a template there.
        const gone = state.vmRef;
        if (gone)
          await waitForMirror(
            this.xapi.mirror,
            () => this.index.refOf(ns, id) !== gone && !this.xapi.mirror.get('VM', gone),
            this.mirrorWaitMs,
          );
        throw err;
      }
      const vmRef = state.vmRef!;
      const powerOn = body.power_on !== false;
      // Done once reads (the index, fed by mirror change batches) show the result.
      await waitForMirror(
        this.xapi.mirror,
        () => {
          const view = this.index.refOf(ns, id) === vmRef ? this.index.view(vmRef) : undefined;
          return view?.state === 'active' && (!powerOn || view.power_state === 'running');
        },
        this.mirrorWaitMs,
      );
      this.ops.succeed(entry, this.index.view(vmRef) ?? null);
    });
    // Forgotten once finished (also when cancelled before its turn came).
    void job.then(() => {
      if (this.inflight.get(k)?.entry === entry) this.inflight.delete(k);
    });
    return { operation: this.opView(entry), replayed: false };
  }

  destroy(caller: Caller, id: string, opts: { keep_disks?: boolean }): Operation | null {
    this.assertMutator(caller);
    const ns = caller.namespace;
    const k = key(ns, id);
    const running = this.ops.latest(ns, id, 'destroy');
    if (running && !running.finished) return this.opView(running);
    const pending = this.inflight.get(k);
    const keepDisks = opts.keep_disks === true;
    const owner = { namespace: ns, instanceId: id };
    // No VM (the mirror asked too): what a failed destroy left (its disks) is still removed.
    if (!pending && !this.index.refOf(ns, id)) {
      if (keepDisks || leftoverDisks(this.xapi.mirror, owner).length === 0) return null;
    }
    // A destroy wins over a spawn still running (cancelling it rolls the spawn back) and over
    // operations queued behind it that have not started.
    if (pending && !pending.entry.finished) pending.entry.controller.abort();
    for (const queued of this.ops.running())
      if (
        queued.namespace === ns &&
        queued.data.instance_id === id &&
        queued.data.step === 'queued' &&
        queued.data.kind !== 'spawn'
      ) {
        queued.controller.abort();
        this.ops.fail(queued, new OperationCancelled());
      }
    const entry = this.ops.create(ns, 'destroy', id, { keep_disks: keepDisks });
    this.schedule(k, entry, async () => {
      const vmRefs = await currentVmRefs(this.xapi, this.index.refsOf(ns, id));
      entry.uncancellable = true;
      for (const vmRef of vmRefs)
        await destroyInstance(
          this.xapi,
          vmRef,
          { owner, keepDisks },
          {
            serviceId: this.serviceId,
            signal: new AbortController().signal,
            onProgress: (f, step) => this.ops.progress(entry, f, step),
            operationJson: () => entry.persisted(),
          },
        );
      if (!keepDisks) await destroyLeftovers(this.xapi, owner);
      // Done once reads no longer show the instance, nor (unless kept) its disks.
      await waitForMirror(
        this.xapi.mirror,
        () =>
          !this.index.refOf(ns, id) &&
          (keepDisks || leftoverDisks(this.xapi.mirror, owner, true).length === 0),
        this.mirrorWaitMs,
      );
      this.ops.succeed(entry, null);
    });
    return this.opView(entry);
  }

  action(caller: Caller, id: string, body: InstanceAction): Operation {
    this.assertMutator(caller);
    if (isDepthAction(body)) return this.depth.action(caller, id, body);
    const ns = caller.namespace;
    const vmRef = this.index.refOf(ns, id);
    if (!vmRef) {
      if (this.inflight.has(key(ns, id)))
        throw new ApiError(409, 'instance_busy', `instance '${id}' is being built`);
      throw instanceNotFound(id);
    }
    const state = this.xapi.mirror.get('VM', vmRef)?.other_config?.[TAG.state];
    if (state === 'building' || state === 'deleting')
      throw new ApiError(
        409,
        'instance_busy',
        `instance '${id}' is ${state === 'building' ? 'being built' : 'being deleted'}`,
      );
    const k = key(ns, id);
    this.assertQueue(k);
    const entry = this.ops.create(ns, body.action, id);
    const job = async (): Promise<void> => {
      // A power call does not touch other_config: it need not wait for the previous power
      // action's tag write (writeTagBehind keeps the writes in order).
      const ref = this.index.refOf(ns, id);
      if (!ref) throw instanceNotFound(id);
      try {
        await runAction(this.xapi, ref, body, {
          signal: entry.signal,
          onProgress: (f, step) => this.ops.progress(entry, f, step),
        });
        const target = targetPowerState(body);
        await waitForMirror(
          this.xapi.mirror,
          () => this.index.view(ref)?.xapi_power_state === target,
          this.mirrorWaitMs,
        );
        this.ops.succeed(entry, this.index.view(ref) ?? null);
      } catch (err) {
        this.ops.fail(entry, err);
      }
      this.writeTagBehind(k, entry, ref);
    };
    this.schedule(k, entry, job, { keepsTagWrite: true });
    return this.opView(entry);
  }

  /** Writes a power action's operation tag (xcd_operation) behind its answer: after the
   * instance's previous tag write and TAG_WRITE_DELAY_MS, skipped when a newer power action of
   * the instance came first (its own write carries the newer operation). Any other job of the
   * instance flushes it and waits for it before starting (schedule), and close() flushes all,
   * so the tag is never written out of order and a clean restart finds the last operation. */
  private writeTagBehind(k: string, entry: OperationEntry, ref: string): void {
    const prior = this.tagWrites.get(k);
    if (prior) {
      prior.superseded = true;
      prior.flush();
    }
    let release!: () => void;
    const due = new Promise<void>((resolve) => (release = resolve));
    const timer = setTimeout(release, TAG_WRITE_DELAY_MS);
    const pending: PendingTagWrite = {
      superseded: false,
      flush: () => {
        clearTimeout(timer);
        release();
      },
      done: Promise.resolve(),
    };
    pending.done = (async () => {
      await prior?.done;
      await due;
      if (!pending.superseded) await this.ops.persist(entry, ref);
    })();
    this.tagWrites.set(k, pending);
    void pending.done.then(() => {
      if (this.tagWrites.get(k) === pending) this.tagWrites.delete(k);
    });
  }

  /** Writes the instance's pending power-action tag now and waits for it. */
  private async flushTagWrite(k: string): Promise<void> {
    const pending = this.tagWrites.get(k);
    if (!pending) return;
    pending.flush();
    await pending.done;
  }

  getOperation(caller: Caller, opId: string): Operation {
    return this.opView(this.ops.get(caller.namespace, opId));
  }

  cancelOperation(caller: Caller, opId: string): Operation {
    this.assertMutator(caller);
    return this.opView(this.ops.cancel(caller.namespace, opId));
  }

  /** Resolves once the operation's record is durable in the journal; when XAPI does not take
   * it in time the answer goes out anyway (the record is written when XAPI is back). */
  async committed(caller: Caller, opId: string): Promise<void> {
    const entry = this.ops.find(caller.namespace, opId);
    if (!entry) return;
    await this.ops
      .committed(entry)
      .catch((err: unknown) =>
        this.logger.warn({ err, operation: opId }, 'operation answered before it was durable'),
      );
  }

  async waitOperation(caller: Caller, opId: string, timeoutMs: number): Promise<Operation> {
    return this.opView(await this.ops.wait(caller.namespace, opId, timeoutMs));
  }

  /** Stops following the mirror and waits (bounded) for running operations. Leaves XAPI open. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.sweepTimer);
    this.index.stop();
    this.depth.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.jobs]).then(() =>
        Promise.allSettled([...this.tagWrites.keys()].map((k) => this.flushTagWrite(k))),
      ),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    if (timer) clearTimeout(timer);
    await this.pass;
    await this.ops.flush();
    // Work this service still had in flight is handed over at once, not after the lease runs out.
    await this.lease.close();
  }

  /** Refuses an operation when its instance already has queueLimit of them queued or running. */
  private assertQueue(k: string): void {
    if (this.scheduler.depth(k) >= this.queueLimit)
      throw new ApiError(
        429,
        'instance_queue_full',
        `the instance already has ${this.queueLimit} operations queued; retry later`,
      );
  }

  private assertMutator(caller: Caller): void {
    if (caller.role === 'viewer')
      throw new ApiError(403, 'forbidden', 'a viewer token may not change instances');
    if (this.closed) throw new ApiError(503, 'xapi_unavailable', 'the driver is shutting down');
  }

  private stepOptions(entry: OperationEntry): Parameters<typeof runSteps>[2] {
    return {
      signal: entry.signal,
      onProgress: (f, step) => this.ops.progress(entry, f, step),
      onStep: (step) => this.ops.progress(entry, entry.data.progress, step),
      onUndoError: (label, err) =>
        this.logger.error(
          { err, operation: entry.data.id, undo: label },
          'undo failed; reconcile will retry',
        ),
    };
  }

  /** Runs an operation's job in its instance's turn; any error fails the operation. The promise
   * settles (never rejects) once the operation is final. */
  private schedule(
    k: string,
    entry: OperationEntry,
    job: () => Promise<void>,
    opts: { keepsTagWrite?: boolean } = {},
  ): Promise<void> {
    this.activeKeys.set(k, (this.activeKeys.get(k) ?? 0) + 1);
    const run = this.scheduler.run(k, async () => {
      if (!opts.keepsTagWrite) await this.flushTagWrite(k);
      if (entry.signal.aborted) throw new OperationCancelled();
      this.ops.progress(entry, 0, 'starting');
      await job();
    });
    const tracked = run.then(
      () => undefined,
      (err: unknown) => {
        const cause = err instanceof StepFailure ? err.cause : err;
        if (!(cause instanceof OperationCancelled))
          this.logger.warn(
            { err: cause, operation: entry.data.id, kind: entry.data.kind },
            'operation failed',
          );
        this.ops.fail(entry, err);
      },
    );
    this.jobs.add(tracked);
    void tracked.finally(() => {
      this.jobs.delete(tracked);
      const left = (this.activeKeys.get(k) ?? 1) - 1;
      if (left > 0) this.activeKeys.set(k, left);
      else this.activeKeys.delete(k);
    });
    return tracked;
  }

  /** What depth.ts (pause, snapshots, resize, devices, console, migration, events) uses. */
  private depthCore(): DriverCore {
    return {
      xapi: this.xapi,
      logger: this.logger,
      index: this.index,
      ops: this.ops,
      mirrorWaitMs: this.mirrorWaitMs,
      assertMutator: (caller) => this.assertMutator(caller),
      building: (ns, id) => this.inflight.has(key(ns, id)),
      schedule: (ns, id, entry, job) => {
        const k = key(ns, id);
        try {
          this.assertQueue(k);
        } catch (err) {
          this.ops.fail(entry, err);
          throw err;
        }
        return this.schedule(k, entry, job);
      },
      opView: (entry) => this.opView(entry),
      volumeSrs: this.volumeSrs,
    };
  }

  private opView(entry: OperationEntry): Operation {
    const view = entry.view();
    if (view.status === 'succeeded' && view.kind !== 'destroy' && view.result === null) {
      const ref = this.index.refOf(entry.namespace, view.instance_id);
      view.result = (ref && this.index.view(ref)) || null;
    }
    return view;
  }
}
