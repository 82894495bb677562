// Asynchronous operations: their ids, status and progress, cancellation (an AbortSignal that the
// running steps hand to XAPI, which cancels the task), waiting, and a bounded in-memory history.
// The last operation of an instance is also persisted as the VM's xcd_operation tag (tags.ts),
// so a restarted service can still answer GET of it. Does not decide what an operation does.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import { ApiError, operationNotFound, toApiError } from './errors';
import { TAG } from './tags';
import type { Instance, Operation, OperationKind, Problem } from './types';

/** What is persisted in the tag: the operation without its result, plus private arguments. */
export interface PersistedOperation {
  id: string;
  kind: OperationKind;
  instance_id: string;
  status: Operation['status'];
  progress: number;
  step?: string;
  created_at: string;
  finished_at: string | null;
  error: Problem | null;
  /** Arguments a restarted service needs to finish the operation (destroy: keep_disks). */
  args?: Record<string, unknown>;
}

export class OperationEntry {
  readonly controller = new AbortController();
  /** Set when the operation may no longer be cancelled (a destroy that has started). */
  uncancellable = false;
  result: Instance | null = null;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly namespace: string,
    readonly data: PersistedOperation,
  ) {}

  get finished(): boolean {
    return this.data.status !== 'running';
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  view(): Operation {
    const rest: Omit<PersistedOperation, 'args'> & { args?: unknown } = { ...this.data };
    delete rest.args;
    return { ...rest, result: this.result };
  }

  /** JSON for the xcd_operation tag. */
  persisted(): string {
    return JSON.stringify(this.data);
  }

  settle(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  whenFinished(): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export function problemOf(err: unknown): Problem {
  return toApiError(err).toJSON() as Problem;
}

/** Finds the VM whose xcd_operation tag holds an operation, within a namespace. */
export type TagLookup = (
  namespace: string,
  opId: string,
) => { other_config: Record<string, string> } | undefined;

export class Operations {
  private readonly entries = new Map<string, OperationEntry>();
  private tagLookup: TagLookup | undefined;

  constructor(
    private readonly xapi: XapiClient,
    private readonly logger: Logger,
    private readonly historyLimit = 2000,
  ) {}

  create(
    namespace: string,
    kind: OperationKind,
    instanceId: string,
    args?: Record<string, unknown>,
  ): OperationEntry {
    const data: PersistedOperation = {
      id: randomUUID(),
      kind,
      instance_id: instanceId,
      status: 'running',
      progress: 0,
      step: 'queued',
      created_at: new Date().toISOString(),
      finished_at: null,
      error: null,
      ...(args ? { args } : {}),
    };
    return this.adopt(namespace, data);
  }

  /** Registers an operation known from a tag (after a restart) or made by reconcile. */
  adopt(namespace: string, data: PersistedOperation): OperationEntry {
    const existing = this.entries.get(data.id);
    if (existing) return existing;
    const entry = new OperationEntry(namespace, data);
    this.entries.set(data.id, entry);
    this.trim();
    return entry;
  }

  progress(entry: OperationEntry, fraction: number, step?: string): void {
    if (entry.finished) return;
    entry.data.progress = Math.max(
      entry.data.progress,
      Math.min(1, Math.round(fraction * 1000) / 1000),
    );
    if (step !== undefined) entry.data.step = step;
  }

  succeed(entry: OperationEntry, result: Instance | null): void {
    if (entry.finished) return;
    entry.result = result;
    entry.data.progress = 1;
    this.finish(entry, 'succeeded', null);
  }

  fail(entry: OperationEntry, err: unknown): void {
    if (entry.finished) return;
    const problem = problemOf(err);
    const cancelled = entry.signal.aborted || problem.code === 'cancelled';
    this.finish(
      entry,
      cancelled ? 'cancelled' : 'failed',
      cancelled ? { ...problem, code: 'cancelled', status: 409 } : problem,
    );
  }

  private finish(entry: OperationEntry, status: Operation['status'], error: Problem | null): void {
    entry.data.status = status;
    entry.data.error = error;
    entry.data.finished_at = new Date().toISOString();
    delete entry.data.step;
    entry.settle();
    this.trim();
  }

  /** Writes the operation into the VM's xcd_operation tag; failures are logged, not thrown. */
  async persist(entry: OperationEntry, vmRef: string): Promise<void> {
    try {
      await this.xapi.call('VM.remove_from_other_config', vmRef, TAG.operation);
      await this.xapi.call('VM.add_to_other_config', vmRef, TAG.operation, entry.persisted());
    } catch (err) {
      this.logger.warn({ err, operation: entry.data.id }, 'could not persist the operation tag');
    }
  }

  /** The operation, from memory or else from the caller's VMs' tags. */
  find(namespace: string, id: string): OperationEntry | undefined {
    const entry = this.entries.get(id);
    if (entry) return entry.namespace === namespace ? entry : undefined;
    const vm = this.tagLookup?.(namespace, id);
    const data = parsePersisted(vm?.other_config?.[TAG.operation]);
    return data && data.id === id ? this.adopt(namespace, data) : undefined;
  }

  /** Where find() looks for operations no longer in memory (the instance index). */
  setTagLookup(lookup: TagLookup): void {
    this.tagLookup = lookup;
  }

  get(namespace: string, id: string): OperationEntry {
    const entry = this.find(namespace, id);
    if (!entry) throw operationNotFound(id);
    return entry;
  }

  /** The newest operation in memory for an instance, optionally of one kind. */
  latest(namespace: string, instanceId: string, kind?: OperationKind): OperationEntry | undefined {
    let found: OperationEntry | undefined;
    for (const e of this.entries.values())
      if (
        e.namespace === namespace &&
        e.data.instance_id === instanceId &&
        (!kind || e.data.kind === kind)
      )
        found = e;
    return found;
  }

  cancel(namespace: string, id: string): OperationEntry {
    const entry = this.get(namespace, id);
    if (entry.finished)
      throw new ApiError(409, 'operation_finished', `operation '${id}' has already finished`);
    if (entry.uncancellable)
      throw new ApiError(
        409,
        'operation_not_allowed',
        `operation '${id}' can no longer be cancelled`,
      );
    entry.controller.abort();
    return entry;
  }

  async wait(namespace: string, id: string, timeoutMs: number): Promise<OperationEntry> {
    const entry = this.get(namespace, id);
    if (entry.finished || timeoutMs <= 0) return entry;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      entry.whenFinished(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    if (timer) clearTimeout(timer);
    return entry;
  }

  running(): OperationEntry[] {
    return [...this.entries.values()].filter((e) => !e.finished);
  }

  /** Keeps at most historyLimit entries, dropping the oldest finished ones. */
  private trim(): void {
    if (this.entries.size <= this.historyLimit) return;
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.historyLimit) break;
      if (e.finished) this.entries.delete(id);
    }
  }
}

export function parsePersisted(text: string | undefined): PersistedOperation | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as PersistedOperation;
    return typeof v?.id === 'string' && typeof v.kind === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
