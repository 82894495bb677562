// The simulator's object database: one table per XAPI class, records holding wire-level values
// (strings, numbers, booleans, arrays, plain objects; datetimes as 'YYYYMMDDTHH:MM:SSZ' text),
// filled from the datamodel defaults. Every change bumps a generation and notifies listeners
// (the event machinery). It knows nothing of the wire, sessions or message semantics.
import { randomUUID } from 'node:crypto';
import { DATAMODEL, XAPI_CLASSES, type XapiClass } from '../../xapi/datamodel.generated';
import { XapiFault } from './fault';

export type Rec = Record<string, unknown>;
export type ChangeOp = 'add' | 'mod' | 'del';
export interface StoreChange {
  gen: number;
  cls: XapiClass;
  ref: string;
  op: ChangeOp;
}
export type StoreListener = (change: StoreChange) => void;

export const NULL_REF = 'OpaqueRef:NULL';

/** Per-record change counters, so encoders may cache a record's wire form until it changes. */
const versions = new WeakMap<object, number>();
export function recordVersion(rec: object): number {
  return versions.get(rec) ?? 0;
}

export function newRef(): string {
  return `OpaqueRef:${randomUUID()}`;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** A Date (default: now) in xapi's wire form, e.g. '20250319T04:16:24Z'. */
export function formatDateTime(d: Date = new Date()): string {
  return (
    `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}` +
    `T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}Z`
  );
}

function cloneDefault(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneDefault);
  if (v !== null && typeof v === 'object') {
    const out: Rec = {};
    for (const k of Object.keys(v)) out[k] = cloneDefault((v as Rec)[k]);
    return out;
  }
  return v;
}

/** Canonical class name for any spelling ('vm' -> 'VM'), or undefined. */
const CLASS_BY_LOWER = new Map<string, XapiClass>(XAPI_CLASSES.map((c) => [c.toLowerCase(), c]));
export function canonicalClass(name: string): XapiClass | undefined {
  return CLASS_BY_LOWER.get(name.toLowerCase());
}

export class Store {
  /** Bumped on every add/mod/del; event tokens are built from it. */
  generation = 0;
  private readonly tables = new Map<XapiClass, Map<string, Rec>>();
  private readonly uuids = new Map<XapiClass, Map<string, string>>();
  private readonly listeners = new Set<StoreListener>();
  private readonly serials = new Map<string, number>();

  constructor() {
    for (const cls of XAPI_CLASSES) {
      this.tables.set(cls, new Map());
      this.uuids.set(cls, new Map());
    }
  }

  /** The next value (0, 1, 2 ...) of a named counter of this pool, for generated names. */
  nextSerial(name: string): number {
    const n = this.serials.get(name) ?? 0;
    this.serials.set(name, n + 1);
    return n;
  }

  onChange(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(cls: XapiClass, ref: string, op: ChangeOp): void {
    const change = { gen: ++this.generation, cls, ref, op };
    for (const l of this.listeners) l(change);
  }

  private table(cls: XapiClass): Map<string, Rec> {
    const t = this.tables.get(cls);
    if (!t) throw new Error(`store: unknown class ${String(cls)}`);
    return t;
  }

  /** Create a record; unspecified fields take the datamodel defaults; returns the new ref. */
  create(cls: XapiClass, fields: Rec = {}, ref: string = newRef()): string {
    const defs = DATAMODEL[cls].fields;
    const rec: Rec = {};
    for (const name of Object.keys(defs)) {
      rec[name] = name in fields ? fields[name] : cloneDefault(defs[name][2]);
    }
    for (const name of Object.keys(fields)) {
      if (!(name in defs)) throw new Error(`store: ${cls} has no field ${name}`);
    }
    if (!rec.uuid) rec.uuid = randomUUID();
    this.table(cls).set(ref, rec);
    this.uuids.get(cls)!.set(rec.uuid as string, ref);
    this.emit(cls, ref, 'add');
    return ref;
  }

  /** The record, or HANDLE_INVALID [cls, ref]. Do not mutate it: use update(). */
  get(cls: XapiClass, ref: string): Rec {
    const rec = this.table(cls).get(ref);
    if (!rec) throw new XapiFault('HANDLE_INVALID', [cls, ref]);
    return rec;
  }

  find(cls: XapiClass, ref: string): Rec | undefined {
    return this.table(cls).get(ref);
  }

  has(cls: XapiClass, ref: string): boolean {
    return this.table(cls).has(ref);
  }

  /** Shallow-merge patch into the record (pass new objects for maps/sets); emits `mod`. */
  update(cls: XapiClass, ref: string, patch: Rec): Rec {
    const rec = this.get(cls, ref);
    const defs = DATAMODEL[cls].fields;
    for (const name of Object.keys(patch)) {
      if (!(name in defs)) throw new Error(`store: ${cls} has no field ${name}`);
      if (name === 'uuid' && patch.uuid !== rec.uuid) {
        const idx = this.uuids.get(cls)!;
        idx.delete(rec.uuid as string);
        idx.set(patch.uuid as string, ref);
      }
      rec[name] = patch[name];
    }
    versions.set(rec, (versions.get(rec) ?? 0) + 1);
    this.emit(cls, ref, 'mod');
    return rec;
  }

  /** Remove the record (HANDLE_INVALID when absent); emits `del`. */
  destroy(cls: XapiClass, ref: string): void {
    const rec = this.get(cls, ref);
    this.table(cls).delete(ref);
    this.uuids.get(cls)!.delete(rec.uuid as string);
    this.emit(cls, ref, 'del');
  }

  /** The live table (ref -> record), in creation order. Read only. */
  all(cls: XapiClass): Map<string, Rec> {
    return this.table(cls);
  }

  /** The ref of the object with that uuid, or undefined. */
  byUuid(cls: XapiClass, uuid: string): string | undefined {
    return this.uuids.get(cls)!.get(uuid);
  }

  count(cls: XapiClass): number {
    return this.table(cls).size;
  }

  /** The class holding ref, searching every table (slow path, for event.inject and tests). */
  classOf(ref: string): XapiClass | undefined {
    for (const [cls, t] of this.tables) if (t.has(ref)) return cls;
    return undefined;
  }

  /**
   * xapi restart: every object gets a new ref (uuids stay) and every ref held in a field is
   * rewritten. Objects of the `drop` classes (sessions, by default) are removed silently.
   * Returns the old -> new ref map. No events are emitted: clients must resynchronise.
   */
  rekey(drop: XapiClass[] = ['session']): Map<string, string> {
    const map = new Map<string, string>();
    for (const cls of drop) {
      this.table(cls).clear();
      this.uuids.get(cls)!.clear();
    }
    for (const t of this.tables.values()) for (const ref of t.keys()) map.set(ref, newRef());
    const remap = (v: unknown): unknown => {
      if (typeof v === 'string') {
        if (v.startsWith('OpaqueRef:')) return map.get(v) ?? v;
        if (v.includes('OpaqueRef:'))
          return v.replace(/OpaqueRef:[0-9a-f-]{36}/g, (r) => map.get(r) ?? r);
        return v;
      }
      if (Array.isArray(v)) return v.map(remap);
      if (v !== null && typeof v === 'object') {
        const out: Rec = {};
        for (const k of Object.keys(v)) out[remap(k) as string] = remap((v as Rec)[k]);
        return out;
      }
      return v;
    };
    for (const [cls, t] of this.tables) {
      const entries = [...t.entries()];
      t.clear();
      const idx = this.uuids.get(cls)!;
      for (const [ref, rec] of entries) {
        const nref = map.get(ref)!;
        const nrec: Rec = {};
        for (const k of Object.keys(rec)) nrec[k] = remap(rec[k]);
        t.set(nref, nrec);
        idx.set(nrec.uuid as string, nref);
      }
    }
    this.generation++;
    return map;
  }
}
