// The event machinery: keeps, per object, its latest change generation (and tombstones for a
// bounded window) so event.from can answer with coalesced add/mod/del events and snapshots,
// long-polls until a matching change, and defines event.from/inject/register/next/
// get_current_id. It reads the store; it never changes records except for event.inject's touch.
import { XAPI_CLASSES, type XapiClass } from '../../xapi/datamodel.generated';
import { XapiFault } from './fault';
import { defineMessage, type CallContext } from './registry';
import { canonicalClass, type Store, type StoreChange } from './store';

/** Classes whose changes produce no events (as xapi). */
const SILENT = new Set<XapiClass>(['session', 'user']);

interface Latest {
  cls: XapiClass;
  ref: string;
  gen: number; // last change
  addGen: number; // creation (or when the kept history began)
  deleted: boolean;
}

export interface EventOut {
  id: string;
  timestamp: string;
  class: string;
  operation: 'add' | 'mod' | 'del';
  ref: string;
  snapshot?: Record<string, unknown>;
}

export interface EventBatch {
  events: EventOut[];
  valid_ref_counts: Record<string, number>;
  token: string;
}

interface Subscription {
  all: boolean;
  classes: Set<XapiClass>;
  refs: Set<string>;
}

export function formatToken(gen: number, msgGen = 0): string {
  return `${String(gen).padStart(20, '0')},${String(msgGen).padStart(20, '0')}`;
}

export class EventHub {
  private latest = new Map<string, Latest>();
  private log: Array<{ gen: number; ref: string }> = [];
  private tombstones = 0;
  /** Tokens below this generation lost their history (pruned tombstones, restarts). */
  lostBefore = 0;
  private waiters = new Set<() => void>();
  private registered = new Map<string, { sub: Subscription; gen: number }>();
  private unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    private readonly maxTombstones = 20000,
  ) {
    for (const cls of XAPI_CLASSES) {
      if (SILENT.has(cls)) continue;
      for (const ref of store.all(cls).keys()) {
        this.latest.set(ref, {
          cls,
          ref,
          gen: store.generation,
          addGen: store.generation,
          deleted: false,
        });
        this.log.push({ gen: store.generation, ref });
      }
    }
    this.unsubscribe = store.onChange((c) => this.record(c));
  }

  private closed = false;

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.wakeAll();
  }

  /** After store.rekey(): forget every ref, make older tokens EVENTS_LOST. */
  reset(): void {
    this.latest.clear();
    this.log = [];
    this.tombstones = 0;
    this.registered.clear();
    this.lostBefore = this.store.generation;
    for (const cls of XAPI_CLASSES) {
      if (SILENT.has(cls)) continue;
      for (const ref of this.store.all(cls).keys()) {
        this.latest.set(ref, {
          cls,
          ref,
          gen: this.store.generation,
          addGen: this.store.generation,
          deleted: false,
        });
        this.log.push({ gen: this.store.generation, ref });
      }
    }
    this.wakeAll();
  }

  wakeAll(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  private record(c: StoreChange): void {
    if (SILENT.has(c.cls)) return;
    const cur = this.latest.get(c.ref);
    if (c.op === 'add') {
      this.latest.set(c.ref, { cls: c.cls, ref: c.ref, gen: c.gen, addGen: c.gen, deleted: false });
    } else if (cur) {
      cur.gen = c.gen;
      if (c.op === 'del') {
        cur.deleted = true;
        this.tombstones++;
      }
    }
    this.log.push({ gen: c.gen, ref: c.ref });
    if (this.log.length > 2 * this.latest.size + 1024) this.compact();
    if (this.tombstones > this.maxTombstones) this.prune();
    if (this.waiters.size) this.wakeAll();
  }

  private compact(): void {
    this.log = [...this.latest.values()]
      .sort((a, b) => a.gen - b.gen)
      .map((l) => ({ gen: l.gen, ref: l.ref }));
  }

  /** Drop the oldest half of the tombstones; tokens older than them can no longer be served. */
  private prune(): void {
    const dead = [...this.latest.values()].filter((l) => l.deleted).sort((a, b) => a.gen - b.gen);
    for (const l of dead.slice(0, dead.length >> 1)) {
      this.latest.delete(l.ref);
      this.lostBefore = Math.max(this.lostBefore, l.gen);
      this.tombstones--;
    }
    this.compact();
  }

  parseSubscription(classes: string[]): Subscription {
    const sub: Subscription = { all: false, classes: new Set(), refs: new Set() };
    for (const entry of classes) {
      if (entry === '*') {
        sub.all = true;
        continue;
      }
      const slash = entry.indexOf('/');
      const cls = canonicalClass(slash < 0 ? entry : entry.slice(0, slash));
      if (!cls) throw new XapiFault('EVENT_SUBSCRIPTION_PARSE_FAILURE', [entry]);
      if (slash < 0) sub.classes.add(cls);
      else sub.refs.add(entry.slice(slash + 1));
    }
    return sub;
  }

  private matches(sub: Subscription, l: Latest): boolean {
    return sub.all || sub.classes.has(l.cls) || sub.refs.has(l.ref);
  }

  /** Coalesced changes after generation `since` matching `sub`. */
  collect(sub: Subscription, since: number): Latest[] {
    const log = this.log;
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (log[mid].gen <= since) lo = mid + 1;
      else hi = mid;
    }
    const out: Latest[] = [];
    const seen = new Set<string>();
    for (let i = lo; i < log.length; i++) {
      const e = log[i];
      if (seen.has(e.ref)) continue;
      const l = this.latest.get(e.ref);
      if (!l || l.gen <= since || !this.matches(sub, l)) continue;
      if (l.deleted && l.addGen > since) continue; // born and gone in the window
      seen.add(e.ref);
      out.push(l);
    }
    return out;
  }

  toEvent(l: Latest, since: number): EventOut {
    const op = l.deleted ? 'del' : l.addGen > since ? 'add' : 'mod';
    const ev: EventOut = {
      id: String(l.gen),
      timestamp: '0.0',
      class: l.cls.toLowerCase(),
      operation: op,
      ref: l.ref,
    };
    if (!l.deleted) ev.snapshot = this.store.find(l.cls, l.ref);
    return ev;
  }

  validRefCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const cls of XAPI_CLASSES) out[cls.toLowerCase()] = this.store.count(cls);
    return out;
  }

  /** Resolves when any change happens or after ms; returns false on timeout. */
  wait(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(v);
      };
      const wake = (): void => done(true);
      const timer = setTimeout(() => done(false), ms);
      timer.unref();
      this.waiters.add(wake);
    });
  }

  async from(
    classes: string[],
    token: string,
    timeoutS: number,
    alive: () => boolean,
  ): Promise<EventBatch> {
    let since = 0;
    if (token !== '') {
      const m = /^(\d+)(?:,(\d+))?$/.exec(token);
      if (!m) throw new XapiFault('EVENT_FROM_TOKEN_PARSE_FAILURE', [token]);
      since = Number(m[1]);
    }
    const sub = this.parseSubscription(classes);
    const taskOnly =
      !sub.all && sub.refs.size === 0 && sub.classes.size === 1 && sub.classes.has('task');
    const deadline = Date.now() + Math.max(0, timeoutS) * 1000;
    for (;;) {
      if (token !== '' && since < this.lostBefore) throw new XapiFault('EVENTS_LOST', []);
      const found = this.collect(sub, since);
      if (found.length > 0 || Date.now() >= deadline || !alive() || this.closed) {
        const gen = this.store.generation;
        return {
          events: found.map((l) => this.toEvent(l, since)),
          valid_ref_counts: this.validRefCounts(),
          token: formatToken(gen),
        };
      }
      const changed = await this.wait(deadline - Date.now());
      if (changed && !taskOnly) await new Promise((r) => setTimeout(r, 50));
    }
  }

  // ---- legacy event.register / event.next

  register(sessionRef: string, classes: string[]): void {
    const sub = this.parseSubscription(classes);
    const cur = this.registered.get(sessionRef);
    if (cur) {
      if (sub.all) cur.sub.all = true;
      for (const c of sub.classes) cur.sub.classes.add(c);
      for (const r of sub.refs) cur.sub.refs.add(r);
    } else {
      this.registered.set(sessionRef, { sub, gen: this.store.generation });
    }
  }

  unregister(sessionRef: string, classes: string[]): void {
    const cur = this.registered.get(sessionRef);
    if (!cur) return;
    const sub = this.parseSubscription(classes);
    if (sub.all) cur.sub.all = false;
    for (const c of sub.classes) cur.sub.classes.delete(c);
    for (const r of sub.refs) cur.sub.refs.delete(r);
  }

  async next(sessionRef: string, alive: () => boolean): Promise<Array<Record<string, unknown>>> {
    for (;;) {
      const reg = this.registered.get(sessionRef);
      if (!reg) throw new XapiFault('SESSION_NOT_REGISTERED', [sessionRef]);
      if (reg.gen < this.lostBefore) throw new XapiFault('EVENTS_LOST', []);
      const found = this.collect(reg.sub, reg.gen);
      if (found.length > 0) {
        const since = reg.gen;
        reg.gen = this.store.generation;
        return found.map((l) => {
          const ev = this.toEvent(l, since);
          const snap = ev.snapshot;
          return {
            id: l.gen,
            timestamp: '19700101T00:00:00Z',
            class: ev.class,
            operation: ev.operation,
            ref: ev.ref,
            obj_uuid: (snap?.uuid as string) ?? '',
            snapshot: snap ?? {},
          };
        });
      }
      if (!alive() || this.closed) return [];
      await this.wait(30000);
    }
  }
}

/** The hub of the simulator a handler runs in (set up by the runtime in ctx.sim.extra). */
export function hubOf(ctx: CallContext): EventHub {
  return ctx.sim.extra.events as EventHub;
}

export function registerEventMessages(): void {
  const alive = (ctx: CallContext) => (): boolean => ctx.store.has('session', ctx.session.ref);
  defineMessage('event.from', (ctx, [classes, token, timeout]) =>
    hubOf(ctx).from(classes as string[], token as string, Number(timeout), alive(ctx)),
  );
  defineMessage('event.inject', (ctx, [clsName, ref]) => {
    const cls = canonicalClass(clsName as string);
    if (!cls || !ctx.store.has(cls, ref as string))
      throw new XapiFault('HANDLE_INVALID', [String(clsName), String(ref)]);
    // touch the row; the token is one generation before the touch, so event.from sees it
    ctx.store.update(cls, ref as string, {});
    return formatToken(ctx.store.generation - 1);
  });
  defineMessage('event.register', (ctx, [classes]) => {
    hubOf(ctx).register(ctx.session.ref, classes as string[]);
  });
  defineMessage('event.unregister', (ctx, [classes]) => {
    hubOf(ctx).unregister(ctx.session.ref, classes as string[]);
  });
  defineMessage('event.next', (ctx) => hubOf(ctx).next(ctx.session.ref, alive(ctx)));
  defineMessage('event.get_current_id', (ctx) => ctx.store.generation);
}
