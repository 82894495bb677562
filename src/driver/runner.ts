// The operation runner: how every change to an instance runs. Scheduling per instance (in
// order) and across instances (bounded), the bound on queued work, the busy check, prechecks
// against the mirror, progress, waiting for the mirror to show the outcome, and one policy for
// the operation tag (xcd_operation, written behind the answer). Resource modules (instances,
// snapshots, devices) describe what an operation does; this file decides how it runs. No HTTP.
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import type { VMRecord } from '../xapi/datamodel.generated';
import { Scheduler } from './concurrency';
import { ApiError, instanceNotFound } from './errors';
import { waitForMirror } from './mirror-wait';
import type { OperationEntry, Operations } from './operations';
import type { OpRun } from './procedures/common';
import { OperationCancelled, StepFailure, type StepRunOptions } from './steps';
import { TAG } from './tags';
import type { Caller, Operation, OperationKind } from './types';
import type { InstanceIndex } from './views/instance-index';

export type VmRec = VMRecord & { $ref: string };

/** The scheduling key of an instance. */
export const instanceKey = (namespace: string, id: string): string => `${namespace}\u0000${id}`;

/** How long a finished operation's tag write waits for a newer operation to supersede it. */
const TAG_WRITE_DELAY_MS = 100;

interface PendingTagWrite {
  /** A newer operation's write replaces this one: it is skipped. */
  superseded: boolean;
  /** Ends the wait now. */
  flush: () => void;
  /** Settles (never rejects) once written or skipped. */
  done: Promise<void>;
}

export interface RunnerOptions {
  logger: Logger;
  /** Operations running at once across instances. */
  concurrency: number;
  /** Operations queued or running per instance; more answer 429. */
  queueLimit: number;
  /** How long an operation waits for the mirror to show its outcome. */
  mirrorWaitMs: number;
}

/** How an operation on an existing instance runs. */
export interface InstanceOpSpec {
  kind: OperationKind;
  /** Kept with the operation (what it acts on: a snapshot id, a VDI, a device). */
  args?: Record<string, unknown>;
  /** Checks against the mirror before the operation is accepted; skipped when operations are
   * queued before it (their outcome decides). */
  precheck?: (vm: VmRec) => void;
  /** The job makes no change to other_config: it need not wait for a pending tag write. */
  leavesTags?: boolean;
}

export class OperationRunner {
  readonly scheduler: Scheduler;
  readonly mirrorWaitMs: number;
  private readonly logger: Logger;
  private readonly queueLimit: number;
  /** Per instance key: the operation tag write of its last operation, until it is done. */
  private readonly tagWrites = new Map<string, PendingTagWrite>();
  /** Spawns whose VM may not exist yet: key -> body hash and operation. */
  readonly inflight = new Map<string, { hash: string; entry: OperationEntry }>();
  private readonly jobs = new Set<Promise<void>>();
  /** Instance keys with an operation queued or running. */
  private readonly activeKeys = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly xapi: XapiClient,
    readonly ops: Operations,
    readonly index: InstanceIndex,
    opts: RunnerOptions,
  ) {
    this.logger = opts.logger;
    this.scheduler = new Scheduler(opts.concurrency);
    this.queueLimit = opts.queueLimit;
    this.mirrorWaitMs = opts.mirrorWaitMs;
  }

  /** Is an operation of this service queued or running on the instance (or its spawn)? */
  busy(namespace: string, id: string): boolean {
    const k = instanceKey(namespace, id);
    return this.activeKeys.has(k) || this.inflight.has(k);
  }

  /** Marks a key busy (busy(), so reconcile leaves its objects alone) while work that is no
   * operation of its own runs on it, e.g. a spawn's copy of an image base; returns the release. */
  hold(k: string): () => void {
    this.activeKeys.set(k, (this.activeKeys.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.activeKeys.get(k) ?? 1) - 1;
      if (left > 0) this.activeKeys.set(k, left);
      else this.activeKeys.delete(k);
    };
  }

  assertMutator(caller: Caller): void {
    if (caller.role === 'viewer')
      throw new ApiError(403, 'forbidden', 'a viewer token may not change instances');
    if (this.closed) throw new ApiError(503, 'xapi_unavailable', 'the driver is shutting down');
  }

  /** Refuses an operation when its instance already has queueLimit of them queued or running. */
  assertQueue(namespace: string, id: string): void {
    if (this.scheduler.depth(instanceKey(namespace, id)) >= this.queueLimit)
      throw new ApiError(
        429,
        'instance_queue_full',
        `the instance already has ${this.queueLimit} operations queued; retry later`,
      );
  }

  /** The instance's VM record from the mirror, or 404 (409 while its spawn has no VM yet). */
  vmOf(namespace: string, id: string): VmRec {
    const ref = this.index.refOf(namespace, id);
    const vm = ref ? this.xapi.mirror.get('VM', ref) : undefined;
    if (!vm) {
      if (this.inflight.has(instanceKey(namespace, id)))
        throw new ApiError(409, 'instance_busy', `instance '${id}' is being built`);
      throw instanceNotFound(id);
    }
    return vm;
  }

  /** A running (or queued) operation of this kind for the same object (args[field] = value). */
  pendingWith(
    namespace: string,
    id: string,
    kind: OperationKind,
    value: string,
    field: string,
  ): OperationEntry | undefined {
    const e = this.ops.latest(namespace, id, kind);
    return e && !e.finished && e.data.args?.[field] === value ? e : undefined;
  }

  /** A replay of something already done: an operation that has succeeded at once. */
  done(caller: Caller, id: string, kind: OperationKind, args: Record<string, unknown>): Operation {
    this.assertMutator(caller);
    const entry = this.ops.create(caller.namespace, kind, id, args);
    const ref = this.index.refOf(caller.namespace, id);
    this.ops.succeed(entry, (ref && this.index.view(ref)) || null);
    return this.opView(entry);
  }

  /**
   * Runs `job` as an operation of an existing instance: refused while the instance is being
   * built or deleted, prechecked against the mirror, run in the instance's turn; the outcome is
   * recorded in memory and the journal, and written behind into the VM's operation tag.
   */
  onInstance(
    caller: Caller,
    id: string,
    spec: InstanceOpSpec,
    job: (run: OpRun) => Promise<void>,
  ): Operation {
    this.assertMutator(caller);
    const ns = caller.namespace;
    const vm = this.vmOf(ns, id);
    const state = vm.other_config?.[TAG.state];
    if (state === 'building' || state === 'deleting')
      throw new ApiError(
        409,
        'instance_busy',
        `instance '${id}' is ${state === 'building' ? 'being built' : 'being deleted'}`,
      );
    const queued = this.ops.latest(ns, id);
    if (spec.precheck && (!queued || queued.finished)) spec.precheck(vm);
    this.assertQueue(ns, id);
    const entry = this.ops.create(ns, spec.kind, id, spec.args);
    const k = instanceKey(ns, id);
    this.schedule(
      k,
      entry,
      async () => {
        // Refs are the mirror's: while it reloads (XAPI restarted) they may be stale.
        const mirror = this.xapi.mirror;
        if (!mirror.synced) await waitForMirror(mirror, () => mirror.synced, this.mirrorWaitMs);
        const ref = this.index.refOf(ns, id);
        if (!ref) throw instanceNotFound(id);
        try {
          await job(this.opRun(entry, ref, { namespace: ns, instanceId: id }));
          this.ops.succeed(entry, this.index.view(ref) ?? null);
        } catch (err) {
          this.ops.fail(entry, err);
        }
        this.writeTagBehind(k, entry, ref);
      },
      { keepsTagWrite: spec.leavesTags === true },
    );
    return this.opView(entry);
  }

  /** What a running operation's job is handed. */
  private opRun(entry: OperationEntry, vmRef: string, owner: OpRun['owner']): OpRun {
    return {
      vmRef,
      owner,
      signal: entry.signal,
      onProgress: (f, step) => this.ops.progress(entry, f, step),
      steps: this.stepOptions(entry),
      mirrorWaitMs: this.mirrorWaitMs,
      viewed: (check) =>
        waitForMirror(this.xapi.mirror, () => check(this.index.view(vmRef)), this.mirrorWaitMs),
    };
  }

  stepOptions(entry: OperationEntry): StepRunOptions {
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

  /** Cancels the instance's operations that have not started (a destroy goes before them). */
  cancelQueued(namespace: string, id: string): void {
    for (const queued of this.ops.running())
      if (
        queued.namespace === namespace &&
        queued.data.instance_id === id &&
        queued.data.step === 'queued' &&
        queued.data.kind !== 'spawn'
      ) {
        queued.controller.abort();
        this.ops.fail(queued, new OperationCancelled());
      }
  }

  /** Runs an operation's job in its instance's turn; any error fails the operation. The promise
   * settles (never rejects) once the operation is final. */
  schedule(
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

  /** Writes an operation's tag (xcd_operation) behind its answer: after the instance's previous
   * tag write and TAG_WRITE_DELAY_MS, skipped when a newer operation of the instance came first
   * (its own write carries the newer operation). A job that changes other_config flushes it and
   * waits for it before starting (schedule), and close() flushes all, so the tag is never
   * written out of order and a clean restart finds the last operation. */
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
      if (!pending.superseded && this.xapi.mirror.get('VM', ref))
        await this.ops.persist(entry, ref);
    })();
    this.tagWrites.set(k, pending);
    void pending.done.then(() => {
      if (this.tagWrites.get(k) === pending) this.tagWrites.delete(k);
    });
  }

  /** Writes the instance's pending tag now and waits for it. */
  private async flushTagWrite(k: string): Promise<void> {
    const pending = this.tagWrites.get(k);
    if (!pending) return;
    pending.flush();
    await pending.done;
  }

  /** The operation as the contract shows it; a succeeded one carries the instance as it is now. */
  opView(entry: OperationEntry): Operation {
    const view = entry.view();
    if (view.status === 'succeeded' && view.kind !== 'destroy' && view.result === null) {
      const ref = this.index.refOf(entry.namespace, view.instance_id);
      view.result = (ref && this.index.view(ref)) || null;
    }
    return view;
  }

  /**
   * The instance's operations the service keeps, newest first, optionally only those with
   * `status`: 404 instance_not_found for an instance that neither exists nor has any.
   */
  instanceOperations(caller: Caller, id: string, status?: Operation['status']): Operation[] {
    const entries = this.ops.forInstance(caller.namespace, id);
    if (entries.length === 0) this.vmOf(caller.namespace, id);
    return entries.filter((e) => !status || e.data.status === status).map((e) => this.opView(e));
  }

  /** An operation of the caller's namespace, or 404. */
  operation(caller: Caller, opId: string): Operation {
    return this.opView(this.ops.get(caller.namespace, opId));
  }

  cancel(caller: Caller, opId: string): Operation {
    this.assertMutator(caller);
    return this.opView(this.ops.cancel(caller.namespace, opId));
  }

  async wait(caller: Caller, opId: string, timeoutMs: number): Promise<Operation> {
    return this.opView(await this.ops.wait(caller.namespace, opId, timeoutMs));
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

  /** Refuses new operations and waits (bounded) for running ones and their tag writes. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.jobs]).then(() =>
        Promise.allSettled([...this.tagWrites.keys()].map((k) => this.flushTagWrite(k))),
      ),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    if (timer) clearTimeout(timer);
  }
}
