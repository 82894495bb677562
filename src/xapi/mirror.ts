// MirrorView: the typed, read-only face of the native mirror (records kept current by the
// addon's event stream). Queries are narrow: one record, chosen fields of matching records,
// counts; change notifications arrive batched. Argument validation happens here; no I/O.
import { EventEmitter } from 'node:events';
import type { NativeClient, NativeCond } from './addon';
import { DATAMODEL, type RecordTypes, type XapiClass } from './datamodel.generated';

export type Scalar = string | number | boolean;
/** Keys: field names or 'map_field.key'. Values: equality (membership for sets), or
 *  { exists }, or { in: [...] }. */
export type Where = Record<string, Scalar | { exists: boolean } | { in: Scalar[] }>;
export interface MirrorChange {
  cls: XapiClass;
  ref: string;
  op: 'add' | 'mod' | 'del';
  uuid: string;
}
export type WithRef<T> = T & { $ref: string };

function isScalar(v: unknown): v is Scalar {
  return (
    typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))
  );
}

/** Datetime fields of a class: the addon sends them as epoch milliseconds in JSON text. */
const datetimeFields = new Map<string, string[]>();
function datetimesOf(cls: XapiClass): string[] {
  let out = datetimeFields.get(cls);
  if (!out) {
    out = Object.entries(DATAMODEL[cls].fields)
      .filter(([, f]) => f[0] === 'datetime')
      .map(([name]) => name);
    datetimeFields.set(cls, out);
  }
  return out;
}

/** Records come as JSON text (JSON.parse builds objects faster than N-API), datetimes revived. */
function revive(cls: XapiClass, rec: Record<string, unknown>): Record<string, unknown> {
  for (const f of datetimesOf(cls)) {
    const v = rec[f];
    if (typeof v === 'number') rec[f] = new Date(v);
  }
  return rec;
}

function fromNative(
  cls: XapiClass,
  v: Record<string, unknown> | string | undefined,
): Record<string, unknown> | undefined {
  if (typeof v !== 'string') return v;
  return revive(cls, JSON.parse(v) as Record<string, unknown>);
}

export class MirrorView {
  readonly #native: NativeClient;
  readonly #classes: ReadonlySet<XapiClass>;
  readonly #events = new EventEmitter();

  /** @internal built by XapiClient */
  constructor(native: NativeClient, classes: readonly XapiClass[]) {
    this.#native = native;
    this.#classes = new Set(classes);
  }

  /** The classes this mirror holds. */
  get classes(): readonly XapiClass[] {
    return [...this.#classes] as XapiClass[];
  }

  get synced(): boolean {
    return this.#native.synced();
  }

  get<C extends XapiClass>(cls: C, ref: string): WithRef<RecordTypes[C]> | undefined {
    this.#checkClass(cls);
    if (typeof ref !== 'string')
      throw new TypeError(`Expected a string ref but received ${typeof ref}`);
    return fromNative(cls, this.#native.mirrorGet(cls, ref, false, true)) as
      WithRef<RecordTypes[C]> | undefined;
  }

  getByUuid<C extends XapiClass>(cls: C, uuid: string): WithRef<RecordTypes[C]> | undefined {
    this.#checkClass(cls);
    if (typeof uuid !== 'string')
      throw new TypeError(`Expected a string uuid but received ${typeof uuid}`);
    return fromNative(cls, this.#native.mirrorGet(cls, uuid, true, true)) as
      WithRef<RecordTypes[C]> | undefined;
  }

  query<C extends XapiClass, K extends keyof RecordTypes[C] & string>(
    cls: C,
    opts: { where?: Where; fields?: K[]; limit?: number; offset?: number } = {},
  ): Array<Pick<RecordTypes[C], K> & { $ref: string }> {
    this.#checkClass(cls);
    const where = this.#where(cls, opts.where);
    let fields: string[] | null = null;
    if (opts.fields !== undefined) {
      if (!Array.isArray(opts.fields)) throw new TypeError('Expected an array for "fields"');
      for (const f of opts.fields) this.#checkField(cls, f);
      fields = opts.fields;
    }
    const offset = opts.offset ?? 0;
    const limit = opts.limit ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(offset) || offset < 0)
      throw new RangeError('Expected a non-negative integer for "offset"');
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError('Expected a non-negative integer for "limit"');
    const out = this.#native.mirrorQuery(cls, where, fields, offset, limit, true);
    const rows =
      typeof out === 'string' ? (JSON.parse(out) as Array<Record<string, unknown>>) : out;
    if (typeof out === 'string' && datetimesOf(cls).length) for (const r of rows) revive(cls, r);
    return rows as Array<Pick<RecordTypes[C], K> & { $ref: string }>;
  }

  count(cls: XapiClass, where?: Where): number {
    this.#checkClass(cls);
    return this.#native.mirrorCount(cls, this.#where(cls, where));
  }

  on(event: 'change', listener: (batch: MirrorChange[]) => void): this {
    if (event !== 'change') throw new TypeError(`Unknown mirror event '${String(event)}'`);
    this.#events.on(event, listener);
    return this;
  }

  off(event: 'change', listener: (batch: MirrorChange[]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** @internal the client forwards each native batch (already filtered to mirrored classes) */
  emitChanges(batch: MirrorChange[]): void {
    if (batch.length) this.#events.emit('change', batch);
  }

  #checkClass(cls: string): void {
    if (!this.#classes.has(cls as XapiClass)) {
      throw new TypeError(
        `Expected a mirrored class (${[...this.#classes].join(', ')}) but received '${String(cls)}'`,
      );
    }
  }

  #checkField(cls: string, field: string): void {
    if (typeof field !== 'string' || !(field in DATAMODEL[cls as XapiClass].fields)) {
      throw new TypeError(`Expected a field of ${cls} but received '${String(field)}'`);
    }
  }

  #where(cls: string, where: Where | undefined): NativeCond[] {
    if (where === undefined) return [];
    if (where === null || typeof where !== 'object')
      throw new TypeError('Expected an object for "where"');
    const out: NativeCond[] = [];
    for (const [path, cond] of Object.entries(where)) {
      const dot = path.indexOf('.');
      const field = dot < 0 ? path : path.slice(0, dot);
      const key = dot < 0 ? null : path.slice(dot + 1);
      this.#checkField(cls, field);
      if (isScalar(cond)) out.push([field, key, 'eq', [cond]]);
      else if (
        cond &&
        typeof cond === 'object' &&
        'exists' in cond &&
        typeof cond.exists === 'boolean'
      )
        out.push([field, key, cond.exists ? 'exists' : 'missing', []]);
      else if (
        cond &&
        typeof cond === 'object' &&
        'in' in cond &&
        Array.isArray(cond.in) &&
        cond.in.every(isScalar)
      )
        out.push([field, key, 'in', cond.in]);
      else
        throw new TypeError(`Expected a scalar, { exists } or { in: [...] } for where['${path}']`);
    }
    return out;
  }
}
