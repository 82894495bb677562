// Asynchronous operations: their ids, status and progress, cancellation (an AbortSignal that the
// running steps hand to XAPI, which cancels the task), waiting, and the history: bounded per
// namespace, kept for a retention time after an operation finishes, and durable in the journal
// (journal.ts, XAPI messages) across restarts. The last operation of an instance is also kept in
// the VM's xcd_operation tag (tags.ts). Does not decide what an operation does.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import { ApiError, operationNotFound, toApiError } from './errors';
import { OperationJournal, type JournalOptions } from './journal';
import { TAG } from './tags';
import type { Operation, OperationKind, Problem } from './types';

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
  /** The image an import-image operation makes (its instance_id is empty). */
  image_id?: string;
  /** The uuid of the host a host-* operation acts on (its instance_id is empty). */
  host_id?: string;
  /** Arguments a restarted service needs to finish the operation (destroy: keep_disks). */
  args?: Record<string, unknown>;
}

export class OperationEntry {
  readonly controller = new AbortController();
  /** Set when the operation may no longer be cancelled (a destroy that has started). */
  uncancellable = false;
  /** Known from the journal or a tag while 'running', but run by no job of this service. */
  unowned = false;
  result: Operation['result'] = null;
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

export interface OperationsOptions {
  /** Operations kept per namespace; beyond it the oldest finished ones go (default 10,000). */
  historyPerNamespace?: number;
  /** How long a finished operation stays answerable (default 24 h). */
  retentionMs?: number;
  /** The durable journal's settings, or false for a history in memory alone (default on). */
  journal?: JournalOptions | false;
  /** The clock, in ms since the epoch (tests move it). */
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Expired operations are looked for at most this often (and always when asked for by id). */
const PRUNE_EVERY_MS = 60_000;

const instanceKey = (namespace: string, instanceId: string): string =>
  `${namespace}\u0000${instanceId}`;

export class Operations {
  private readonly entries = new Map<string, OperationEntry>();
  /** Per namespace, its operations in the order they became known (oldest first). */
  private readonly byNamespace = new Map<string, Map<string, OperationEntry>>();
  /** Per namespace and instance, its operations, oldest first. */
  private readonly byInstance = new Map<string, OperationEntry[]>();
  private readonly historyLimit: number;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly journal: OperationJournal | undefined;
  private tagLookup: TagLookup | undefined;
  private lastPrune = 0;

  constructor(
    private readonly xapi: XapiClient,
    private readonly logger: Logger,
    opts: OperationsOptions = {},
  ) {
    this.historyLimit = Math.max(1, opts.historyPerNamespace ?? 10_000);
    this.retentionMs = opts.retentionMs ?? DAY_MS;
    this.now = opts.now ?? Date.now;
    this.journal =
      opts.journal === false ? undefined : new OperationJournal(xapi, logger, opts.journal);
  }

  /**
   * Reads the journal (at start, before anything else): every operation it holds within the
   * bounds becomes answerable again. One still 'running' is unowned() until reconcile finishes
   * it through adopt() or fail().
   */
  async load(): Promise<void> {
    if (!this.journal) return;
    const records = await this.journal.load();
    records.sort((a, b) => (a.op.created_at < b.op.created_at ? -1 : 1));
    for (const { namespace, op } of records) {
      if (this.entries.has(op.id)) continue;
      const entry = new OperationEntry(namespace, op);
      if (this.expired(entry)) {
        this.journal.forget(op.id);
        continue;
      }
      this.markUnowned(entry);
      this.insert(entry);
    }
    for (const ns of this.byNamespace.keys()) this.trim(ns);
    this.lastPrune = this.now();
    this.journal.tidySoon();
  }

  /**
   * Resolves once the operation's newest record is durable in XAPI (at once without a journal),
   * waiting through the journal's retries; rejects with 503 xapi_unavailable when it is not
   * durable within timeoutMs (the record stays pending and is written when XAPI takes it).
   */
  async committed(entry: OperationEntry, timeoutMs = 10_000): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    const id = entry.data.id;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), deadline - Date.now());
      });
      try {
        if ((await Promise.race([journal.whenDurable(id), timedOut])) !== 'timeout') return;
      } catch (err) {
        lastError = err; // the journal retries; wait for that write
      } finally {
        clearTimeout(timer);
      }
    }
    this.logger.warn({ err: lastError, operation: id }, 'operation not durable in XAPI in time');
    throw new ApiError(
      503,
      'xapi_unavailable',
      `operation '${id}' could not be recorded in XAPI; it may still run`,
    );
  }

  /** Writes every record not yet durable (at close); never rejects. */
  async flush(): Promise<void> {
    await this.journal?.flush();
  }

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
      created_at: new Date(this.now()).toISOString(),
      finished_at: null,
      error: null,
      ...(args ? { args } : {}),
    };
    const entry = new OperationEntry(namespace, data);
    this.insert(entry);
    this.record(entry);
    this.trim(namespace);
    this.pruneIfDue();
    return entry;
  }

  /**
   * Registers an operation known from a tag (after a restart) or made by reconcile. A final
   * state given for an unowned operation settles it.
   */
  adopt(namespace: string, data: PersistedOperation): OperationEntry {
    const existing = this.entries.get(data.id);
    if (existing) {
      if (existing.unowned && !existing.finished && data.status !== 'running') {
        Object.assign(existing.data, data);
        if (!('step' in data)) delete existing.data.step;
        existing.unowned = false;
        existing.settle();
        this.record(existing);
      }
      return existing;
    }
    const entry = new OperationEntry(namespace, data);
    this.markUnowned(entry);
    this.insert(entry);
    this.record(entry);
    this.trim(namespace);
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

  succeed(entry: OperationEntry, result: Operation['result']): void {
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
    entry.data.finished_at = new Date(this.now()).toISOString();
    delete entry.data.step;
    entry.unowned = false;
    entry.settle();
    this.record(entry);
    this.trim(entry.namespace);
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

  /** The operation, from the history or else from the caller's VMs' tags. */
  find(namespace: string, id: string): OperationEntry | undefined {
    const entry = this.entries.get(id);
    if (entry) {
      if (entry.namespace !== namespace) return undefined;
      if (!this.expired(entry)) return entry;
      this.evict(entry);
      return undefined;
    }
    const vm = this.tagLookup?.(namespace, id);
    const data = parsePersisted(vm?.other_config?.[TAG.operation]);
    if (!data || data.id !== id) return undefined;
    const candidate = new OperationEntry(namespace, data);
    this.markUnowned(candidate);
    return this.expired(candidate) ? undefined : this.adopt(namespace, data);
  }

  /** Where find() looks for operations no longer in the history (the instance index). */
  setTagLookup(lookup: TagLookup): void {
    this.tagLookup = lookup;
  }

  get(namespace: string, id: string): OperationEntry {
    const entry = this.find(namespace, id);
    if (!entry) throw operationNotFound(id);
    return entry;
  }

  /** The operations kept for an instance, newest first (expired ones left out). */
  forInstance(namespace: string, instanceId: string): OperationEntry[] {
    const list = this.byInstance.get(instanceKey(namespace, instanceId)) ?? [];
    return list.filter((e) => !this.expired(e)).reverse();
  }

  /** The newest operation known for an instance, optionally of one kind. */
  latest(namespace: string, instanceId: string, kind?: OperationKind): OperationEntry | undefined {
    const list = this.byInstance.get(instanceKey(namespace, instanceId)) ?? [];
    for (let i = list.length - 1; i >= 0; i--)
      if (!kind || list[i].data.kind === kind) return list[i];
    return undefined;
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

  /** Operations running in a job of this service. */
  running(): OperationEntry[] {
    return [...this.entries.values()].filter((e) => !e.finished && !e.unowned);
  }

  /**
   * Operations still 'running' in the journal or a tag that no job of this service runs (its
   * predecessor stopped): reconcile settles each, with adopt() of a final state or fail().
   */
  unowned(): OperationEntry[] {
    return [...this.entries.values()].filter((e) => !e.finished && e.unowned);
  }

  /** Drops the operations past the retention time from the history (and the journal). */
  prune(): void {
    this.lastPrune = this.now();
    let dropped = 0;
    for (const e of [...this.entries.values()])
      if (this.expired(e)) {
        this.evict(e);
        dropped++;
      }
    if (dropped > 0) this.journal?.tidySoon();
  }

  private pruneIfDue(): void {
    if (this.now() - this.lastPrune >= Math.min(PRUNE_EVERY_MS, this.retentionMs)) this.prune();
  }

  /** Finished longer ago than the retention time; or, unowned, made longer ago than it. */
  private expired(e: OperationEntry): boolean {
    const since = e.finished ? e.data.finished_at : e.unowned ? e.data.created_at : null;
    if (!since) return false;
    const at = Date.parse(since);
    return Number.isFinite(at) && at + this.retentionMs <= this.now();
  }

  private markUnowned(entry: OperationEntry): void {
    if (entry.finished) return;
    entry.unowned = true;
    entry.uncancellable = true;
  }

  private insert(entry: OperationEntry): void {
    this.entries.set(entry.data.id, entry);
    let ns = this.byNamespace.get(entry.namespace);
    if (!ns) this.byNamespace.set(entry.namespace, (ns = new Map()));
    ns.set(entry.data.id, entry);
    const k = instanceKey(entry.namespace, entry.data.instance_id);
    const list = this.byInstance.get(k);
    if (list) list.push(entry);
    else this.byInstance.set(k, [entry]);
  }

  private evict(entry: OperationEntry): void {
    const id = entry.data.id;
    this.entries.delete(id);
    const ns = this.byNamespace.get(entry.namespace);
    ns?.delete(id);
    if (ns?.size === 0) this.byNamespace.delete(entry.namespace);
    const k = instanceKey(entry.namespace, entry.data.instance_id);
    const list = this.byInstance.get(k)?.filter((e) => e !== entry) ?? [];
    if (list.length > 0) this.byInstance.set(k, list);
    else this.byInstance.delete(k);
    this.journal?.forget(id);
  }

  /** Keeps at most historyLimit operations in the namespace, dropping the oldest finished. */
  private trim(namespace: string): void {
    const ns = this.byNamespace.get(namespace);
    if (!ns || ns.size <= this.historyLimit) return;
    for (const e of [...ns.values()]) {
      if (ns.size <= this.historyLimit) break;
      if (e.finished) this.evict(e);
    }
  }

  /** Hands the operation's current state to the journal (durable soon after, in one batch). */
  private record(entry: OperationEntry): void {
    this.journal?.write({ namespace: entry.namespace, op: entry.data });
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
