// The operation journal: operation records kept durably in XAPI itself, as `message` objects named
// xcd_operations on the pool. Records written close together go in one message (group commit);
// start-up reads them back; messages whose records are all superseded or forgotten are destroyed,
// and sparse or small ones are rewritten together. It stores what it is given and decides nothing
// about retention (operations.ts does); a record holds an operation's public fields, no secret.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import type { MessageRecord } from '../xapi/datamodel.generated';
import { isGone } from './errors';
import type { PersistedOperation } from './operations';
import { NULL_REF } from '../xapi/ref';

/** The name of the journal's messages (on the pool object, cls 'Pool'). */
export const JOURNAL_MESSAGE = 'xcd_operations';
/** xapi's lowest alert priority: informational. */
const PRIORITY = 5;
const FORMAT = 1;

export interface JournalRecord {
  namespace: string;
  op: PersistedOperation;
}

export interface JournalOptions {
  /** The largest message body written (default 64 KiB; xapi takes RPC bodies up to 300 KiB). */
  maxMessageBytes?: number;
  /** Sparse or small messages rewritten together once this many exist (default 16). */
  compactBatch?: number;
  /** Fully superseded messages destroyed together once this many exist (default 8). */
  destroyBatch?: number;
  /** First wait before a failed write is retried; it doubles up to 30 s (default 1 s). */
  retryMs?: number;
}

/** One journal message: the ops whose current durable record it holds. */
interface Segment {
  /** Written in the body: finds the message again when its ref changed (a XAPI restart). */
  id: string;
  ref: string;
  /** Records it was written with. */
  total: number;
  bytes: number;
  /** Ops whose newest durable record is in this message. */
  holds: Set<string>;
}

interface Known {
  rec: JournalRecord;
  text: string;
  /** The message holding its newest durable record (older than `text` while pending). */
  segment?: Segment;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

const MAX_RETRY_MS = 30_000;

/** The record as stored: the operation's persisted fields without its transient step. */
function serialize(rec: JournalRecord, maxBytes: number): string {
  const op: PersistedOperation = { ...rec.op };
  delete op.step;
  let text = JSON.stringify({ namespace: rec.namespace, op });
  const over = Buffer.byteLength(text) - (maxBytes - 64);
  if (over > 0 && op.error?.detail) {
    const detail = op.error.detail;
    op.error = { ...op.error, detail: detail.slice(0, Math.max(0, detail.length - over - 3)) };
    text = JSON.stringify({ namespace: rec.namespace, op });
  }
  return text;
}

/** The segment id at the head of a body (without parsing the whole body). */
function segmentIdOf(body: string): string | undefined {
  return /^\{"v":1,"seg":"([0-9a-f-]{36})"/.exec(body)?.[1];
}

function parseRecord(v: unknown): JournalRecord | undefined {
  const r = v as JournalRecord | undefined;
  const op = r?.op;
  if (typeof r?.namespace !== 'string' || typeof op !== 'object' || op === null) return undefined;
  if (typeof op.id !== 'string' || typeof op.kind !== 'string') return undefined;
  if (typeof op.instance_id !== 'string' || typeof op.status !== 'string') return undefined;
  return r;
}

/** Of two records of one op, the newer: a final status beats 'running', then the later finish. */
function newer(a: JournalRecord, b: JournalRecord): boolean {
  const fa = a.op.status !== 'running';
  const fb = b.op.status !== 'running';
  if (fa !== fb) return fa;
  return (a.op.finished_at ?? '') >= (b.op.finished_at ?? '');
}

export class OperationJournal {
  private readonly maxBytes: number;
  private readonly compactBatch: number;
  private readonly destroyBatch: number;
  private readonly retryMs: number;
  private poolUuid: string | undefined;
  private readonly known = new Map<string, Known>();
  private readonly segments = new Set<Segment>();
  /** Ops with a record newer than their durable one. */
  private readonly pending = new Set<string>();
  private readonly waiting = new Map<string, Waiter[]>();
  /** Ops in the write under way, with who waits for them. */
  private readonly inflight = new Map<string, Waiter[]>();
  private running: Promise<void> | undefined;
  private tidyDue = false;
  private retryDelay = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly xapi: XapiClient,
    private readonly logger: Logger,
    opts: JournalOptions = {},
  ) {
    this.maxBytes = opts.maxMessageBytes ?? 64 * 1024;
    this.compactBatch = Math.max(2, opts.compactBatch ?? 16);
    this.destroyBatch = Math.max(1, opts.destroyBatch ?? 8);
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Messages the journal holds (for tests and metrics). */
  get messageCount(): number {
    return this.segments.size;
  }

  /** Reads every journal message of the pool; answers the newest record of each operation. */
  async load(): Promise<JournalRecord[]> {
    const uuid = await this.pool();
    const found = await this.xapi.call<Record<string, MessageRecord>>(
      'message.get',
      'Pool',
      uuid,
      new Date(0),
    );
    const read: Array<{ seg: Segment; at: number; records: JournalRecord[] }> = [];
    for (const [ref, msg] of Object.entries(found)) {
      if (msg.name !== JOURNAL_MESSAGE) continue;
      let body: { v?: unknown; seg?: unknown; at?: unknown; records?: unknown };
      try {
        body = JSON.parse(msg.body) as typeof body;
      } catch {
        this.logger.warn({ message: msg.uuid }, 'journal: a message that is not JSON, left alone');
        continue;
      }
      if (body.v !== FORMAT || typeof body.seg !== 'string' || !Array.isArray(body.records))
        continue;
      const records = body.records.map(parseRecord).filter((r) => r !== undefined);
      const seg: Segment = {
        id: body.seg,
        ref,
        total: body.records.length,
        bytes: Buffer.byteLength(msg.body),
        holds: new Set(),
      };
      read.push({ seg, at: typeof body.at === 'number' ? body.at : 0, records });
    }
    read.sort((a, b) => a.at - b.at);
    for (const { seg, records } of read) {
      this.segments.add(seg);
      for (const rec of records) {
        const cur = this.known.get(rec.op.id);
        if (cur && !newer(rec, cur.rec)) continue;
        cur?.segment?.holds.delete(rec.op.id);
        seg.holds.add(rec.op.id);
        this.known.set(rec.op.id, {
          rec,
          text: serialize(rec, this.maxBytes),
          segment: seg,
        });
      }
    }
    this.tidyDue = true;
    return [...this.known.values()].map((k) => k.rec);
  }

  /** Records a new state of an operation: durable once written (whenDurable tells when). */
  write(rec: JournalRecord): void {
    const id = rec.op.id;
    const prior = this.known.get(id);
    this.known.set(id, {
      rec,
      text: serialize(rec, this.maxBytes),
      ...(prior?.segment ? { segment: prior.segment } : {}),
    });
    this.pending.add(id);
    this.schedule();
  }

  /** Resolves once the newest record of the operation is durable (at once when it is). */
  whenDurable(id: string): Promise<void> {
    const list = this.pending.has(id)
      ? this.waiting
      : this.inflight.has(id)
        ? this.inflight
        : undefined;
    if (!list) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiters = list.get(id) ?? [];
      waiters.push({ resolve, reject });
      list.set(id, waiters);
    });
  }

  /** The operation left the history: its records are dead (a message of dead ones is destroyed). */
  forget(id: string): void {
    const k = this.known.get(id);
    if (!k) return;
    this.known.delete(id);
    k.segment?.holds.delete(id);
    this.pending.delete(id);
    for (const list of [this.waiting, this.inflight]) {
      for (const w of list.get(id) ?? []) w.resolve();
      list.delete(id);
    }
  }

  /** Asks for a pass over the messages (destroy dead ones, compact) when nothing else is due. */
  tidySoon(): void {
    this.tidyDue = true;
    this.schedule();
  }

  /** Writes what is pending now, waiting for writes under way; never rejects (failures are logged). */
  async flush(): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    for (let round = 0; round < 2 && (this.running || this.pending.size > 0); round++) {
      this.schedule(true);
      await this.running;
    }
  }

  private schedule(now = false): void {
    if (this.running || (this.retryTimer && !now)) return;
    this.running = (async () => {
      if (!now) await new Promise((r) => setImmediate(r));
      try {
        await this.loop();
      } finally {
        this.running = undefined;
      }
    })();
  }

  private async loop(): Promise<void> {
    while (this.pending.size > 0 || this.tidyDue) {
      const tidy = this.tidyDue;
      const compacting = this.compactable();
      const ids = new Set(this.pending);
      for (const seg of compacting) for (const id of seg.holds) ids.add(id);
      this.pending.clear();
      for (const id of ids) {
        this.inflight.set(id, this.waiting.get(id) ?? []);
        this.waiting.delete(id);
      }
      const ok = await this.writeAll([...ids]);
      if (!ok) return;
      this.tidyDue = false;
      await this.destroyDead(tidy || compacting.length > 0);
    }
  }

  /** Sparse (mostly superseded) or small messages, when enough exist to be worth a rewrite. */
  private compactable(): Segment[] {
    const out: Segment[] = [];
    for (const seg of this.segments)
      if (seg.holds.size > 0 && (seg.holds.size * 2 < seg.total || seg.bytes * 4 < this.maxBytes))
        out.push(seg);
    return out.length >= this.compactBatch ? out : [];
  }

  /** Writes the newest records of `ids` in as few messages as fit; false when a write failed. */
  private async writeAll(ids: string[]): Promise<boolean> {
    const chunks: string[][] = [];
    let chunk: string[] = [];
    let bytes = 0;
    for (const id of ids) {
      const k = this.known.get(id);
      if (!k) continue;
      const size = Buffer.byteLength(k.text) + 1;
      if (chunk.length > 0 && bytes + size > this.maxBytes - 64) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(id);
      bytes += size;
    }
    if (chunk.length > 0) chunks.push(chunk);
    for (let i = 0; i < chunks.length; i++) {
      try {
        await this.writeChunk(chunks[i]);
      } catch (err) {
        const left = chunks.slice(i).flat();
        this.failed(left, err);
        return false;
      }
    }
    this.retryDelay = 0;
    return true;
  }

  private async writeChunk(ids: string[]): Promise<void> {
    const texts: string[] = [];
    const held: Array<[string, string]> = [];
    for (const id of ids) {
      const k = this.known.get(id);
      if (k) {
        texts.push(k.text);
        held.push([id, k.text]);
      }
    }
    const id = randomUUID();
    const body = `{"v":${FORMAT},"seg":"${id}","at":${Date.now()},"records":[${texts.join(',')}]}`;
    const uuid = await this.pool();
    const ref = await this.xapi.call<string>(
      'message.create',
      JOURNAL_MESSAGE,
      PRIORITY,
      'Pool',
      uuid,
      body,
    );
    // xapi answers the null ref when it could not write the message.
    if (!ref || ref === NULL_REF) throw new Error('XAPI did not store the message');
    const seg: Segment = {
      id,
      ref,
      total: texts.length,
      bytes: Buffer.byteLength(body),
      holds: new Set(),
    };
    this.segments.add(seg);
    for (const [opId, text] of held) {
      const waiters = this.inflight.get(opId) ?? [];
      this.inflight.delete(opId);
      for (const w of waiters) w.resolve();
      const k = this.known.get(opId);
      if (!k) continue; // forgotten meanwhile: this copy is dead
      k.segment?.holds.delete(opId);
      // A newer record written meanwhile stays pending; this one is durable either way.
      k.segment = seg;
      seg.holds.add(opId);
      if (k.text !== text) this.pending.add(opId);
    }
  }

  private failed(ids: string[], err: unknown): void {
    this.logger.warn({ err, records: ids.length }, 'journal: could not write operation records');
    const error = err instanceof Error ? err : new Error(String(err));
    for (const id of ids) {
      const waiters = this.inflight.get(id) ?? [];
      this.inflight.delete(id);
      for (const w of waiters) w.reject(error);
      if (this.known.has(id)) this.pending.add(id);
    }
    this.retryDelay = Math.min(MAX_RETRY_MS, this.retryDelay ? this.retryDelay * 2 : this.retryMs);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, this.retryDelay);
    this.retryTimer.unref();
  }

  /** Destroys the messages holding no current record, once enough of them exist (or `all`). */
  private async destroyDead(all: boolean): Promise<void> {
    const dead = (): Segment[] => [...this.segments].filter((s) => s.holds.size === 0);
    let refs = dead();
    if (refs.length === 0 || (!all && refs.length < this.destroyBatch)) return;
    for (let attempt = 1; refs.length > 0; attempt++) {
      try {
        await this.xapi.call(
          'message.destroy_many',
          refs.map((s) => s.ref),
        );
        for (const s of refs) this.segments.delete(s);
        return;
      } catch (err) {
        // destroy_many stops at the first unknown ref: a XAPI restart changed the refs, or
        // another writer destroyed a message. Find every message again, then retry once.
        if (!isGone(err) || attempt > 1) {
          this.logger.warn({ err }, 'journal: could not destroy superseded messages');
          return;
        }
      }
      await this.refreshRefs();
      refs = dead();
    }
  }

  /**
   * Finds the current ref of every journal message. A message gone from XAPI (reaped by its
   * message limit, or destroyed by another writer) loses what it held: those records are
   * written again.
   */
  private async refreshRefs(): Promise<void> {
    const found = await this.xapi.call<Record<string, MessageRecord>>(
      'message.get',
      'Pool',
      await this.pool(),
      new Date(0),
    );
    const refOf = new Map<string, string>();
    for (const [ref, msg] of Object.entries(found)) {
      const id = msg.name === JOURNAL_MESSAGE ? segmentIdOf(msg.body) : undefined;
      if (id) refOf.set(id, ref);
    }
    for (const seg of [...this.segments]) {
      const ref = refOf.get(seg.id);
      if (ref) {
        seg.ref = ref;
        continue;
      }
      this.segments.delete(seg);
      for (const id of seg.holds) {
        const k = this.known.get(id);
        if (k?.segment === seg) delete k.segment;
        this.pending.add(id);
      }
      if (seg.holds.size > 0) this.schedule();
    }
  }

  private async pool(): Promise<string> {
    if (this.poolUuid) return this.poolUuid;
    const [poolRef] = await this.xapi.call<string[]>('pool.get_all');
    this.poolUuid = await this.xapi.call<string>('pool.get_uuid', poolRef);
    return this.poolUuid;
  }
}
