// Dispatch of one decoded call, in xapi's order: UTF-8 check, Async. prefix, parameter count,
// unmarshalling by datamodel type, session check, unknown method, then faults and the handler
// (run inside a task for Async calls). It returns a value with its datamodel type, or an error
// description; it never sees HTTP or a codec.
import { DATAMODEL, ENUMS, type XapiClass } from '../../xapi/datamodel.generated';
import { XapiFault, toFault } from './fault';
import { CONSTRUCTOR_REQUIRED, isConstructorField } from './generic';
import { listMessages, lookupMessage, type CallContext, type MessageEntry } from './registry';
import type { SimRuntime } from './runtime';
import { checkSession } from './session';
import { NULL_REF, canonicalClass } from './store';
import { makeWork } from './tasks';
import { XDateTime, XDouble, parseWireType, type WireType, type WireValue } from './values';

export interface Origin {
  hostIndex: number;
  unix: boolean;
  /** The request body was not valid UTF-8 (decoded with replacement characters). */
  invalidUtf8?: boolean;
}

export type DispatchResult =
  | { ok: true; value: unknown; type: string; unwrapped?: boolean; drop?: boolean }
  | { ok: false; error: string[]; drop?: boolean };

const NO_ASYNC_CLASSES = new Set(['session', 'event']);
const ACCESSOR = /^(get_|set_|add_to_|remove_from_|add_|remove_)/;

class Mismatch extends Error {}

function mismatch(type: string, v: unknown): never {
  throw new Mismatch(`Type mismatch: expected ${type}, got ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v instanceof XDouble) return `Float ${v.value}`;
  if (v instanceof XDateTime) return `DateTime ${v.text}`;
  if (Array.isArray(v)) return 'Enum';
  if (v === null) return 'Null';
  if (typeof v === 'object') return 'Dict';
  return `${typeof v} ${String(v)}`;
}

/** 'YYYY-MM-DDTHH:MM:SS...' -> 'YYYYMMDDTHH:MM:SS...'; validates the shape. */
function normalizeDateTime(s: string): string {
  const m =
    /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
      s.trim(),
    );
  if (!m) mismatch('datetime', s);
  return `${m[1]}${m[2]}${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8] ?? ''}`;
}

function unmarshal(t: WireType, typeText: string, v: WireValue): unknown {
  switch (t.k) {
    case 'string':
    case 'ref':
      if (typeof v !== 'string') mismatch(typeText, v);
      return v;
    case 'enum': {
      if (typeof v !== 'string') mismatch(typeText, v);
      const values = ENUMS[t.name];
      if (values && !values.includes(v)) {
        const lower = values.find((x) => x.toLowerCase() === v.toLowerCase());
        if (lower) return lower;
        throw new XapiFault('INVALID_VALUE', [t.name, v]);
      }
      return v;
    }
    case 'int':
    case 'int32':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'bigint') return v;
      if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : BigInt(v.trim());
      }
      return mismatch(typeText, v);
    case 'float':
      if (v instanceof XDouble) return v.value;
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      return mismatch(typeText, v);
    case 'bool':
      if (typeof v !== 'boolean') mismatch(typeText, v);
      return v;
    case 'datetime':
      if (v instanceof XDateTime) return normalizeDateTime(v.text);
      if (typeof v === 'string') return normalizeDateTime(v);
      return mismatch(typeText, v);
    case 'set':
      if (!Array.isArray(v)) mismatch(typeText, v);
      return v.map((x) => unmarshal(t.of, typeText, x));
    case 'map': {
      if (!isStruct(v)) mismatch(typeText, v);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v)) {
        unmarshal(t.key, typeText, k); // keys arrive as strings; int keys as decimals
        out[k] = unmarshal(t.val, typeText, v[k]);
      }
      return out;
    }
    case 'record': {
      if (!isStruct(v)) mismatch(typeText, v);
      const cls = canonicalClass(t.cls) as XapiClass | undefined;
      if (!cls) return v;
      for (const f of CONSTRUCTOR_REQUIRED[cls] ?? []) {
        if (!(f in v)) throw new Mismatch(`Dispatcher_FieldNotFound("${f}")`);
      }
      const out: Record<string, unknown> = {};
      const fields = DATAMODEL[cls].fields;
      for (const k of Object.keys(v)) {
        if (!isConstructorField(cls, k)) continue;
        out[k] = unmarshal(parseWireType(fields[k][0]), fields[k][0], v[k]);
      }
      return out;
    }
    default:
      return v;
  }
}

function isStruct(v: WireValue): v is { [k: string]: WireValue } {
  return (
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    !(v instanceof XDouble) &&
    !(v instanceof XDateTime) &&
    !Buffer.isBuffer(v)
  );
}

function findInvalidUtf8(params: WireValue[]): string | undefined {
  const walk = (v: WireValue): string | undefined => {
    if (typeof v === 'string') return v.includes('\uFFFD') ? v : undefined;
    if (Array.isArray(v)) {
      for (const x of v) {
        const r = walk(x);
        if (r !== undefined) return r;
      }
      return undefined;
    }
    if (isStruct(v)) {
      for (const k of Object.keys(v)) {
        const r = walk(k) ?? walk(v[k]);
        if (r !== undefined) return r;
      }
    }
    return undefined;
  };
  for (const p of params) {
    const r = walk(p);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** 'VM_start' (xapi's alternative spelling) -> 'VM.start' when that message exists. */
function resolveAlternative(name: string): string {
  if (name.includes('.')) return name;
  for (let i = name.indexOf('_'); i > 0; i = name.indexOf('_', i + 1)) {
    const candidate = `${name.slice(0, i)}.${name.slice(i + 1)}`;
    if (lookupMessage(candidate)) return candidate;
  }
  return name;
}

function hasAsync(entry: MessageEntry): boolean {
  const [cls, msg] = entry.name.split('.', 2);
  if (NO_ASYNC_CLASSES.has(cls)) return false;
  if (!entry.explicit && ACCESSOR.test(msg)) return false;
  if (/^get_(all|all_records|record|by_uuid|by_name_label)$/.test(msg)) return false;
  return true;
}

export async function dispatch(
  rt: SimRuntime,
  wireName: string,
  params: WireValue[],
  origin: Origin,
): Promise<DispatchResult> {
  const faults = rt.faults.forCall(wireName);
  if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
  try {
    const r = await dispatchInner(rt, wireName, params, origin, faults.fail);
    return faults.drop ? { ...r, drop: true } : r;
  } catch (err) {
    return { ok: false, error: toFault(err).toErrorDescription(), drop: faults.drop };
  }
}

async function dispatchInner(
  rt: SimRuntime,
  wireName: string,
  params: WireValue[],
  origin: Origin,
  injected: XapiFault | undefined,
): Promise<DispatchResult> {
  // 1. UTF-8
  if (origin.invalidUtf8) {
    const bad = findInvalidUtf8(params);
    if (bad !== undefined)
      throw new XapiFault('INVALID_VALUE', ['Invalid UTF-8 string in parameter', bad]);
  }
  if (wireName === 'system.listMethods') {
    return { ok: true, value: listMessages(), type: 'string set', unwrapped: true };
  }
  // 2. Async prefix
  let isAsync = false;
  let name = wireName;
  if (name.startsWith('Async.')) {
    isAsync = true;
    name = name.slice(6);
  } else if (name.startsWith('InternalAsync.')) {
    isAsync = true;
    name = name.slice(14);
  } else {
    name = resolveAlternative(name);
  }
  const entry = lookupMessage(name);
  if (!entry || (isAsync && !hasAsync(entry)))
    throw new XapiFault('MESSAGE_METHOD_UNKNOWN', [wireName]);
  const [defParams, resultType, , takesSession] = entry.def;
  // 3. parameter count
  const received = params.length - (takesSession ? 1 : 0);
  const required = defParams.filter((p) => p[2]).length;
  if (received < required || received > defParams.length) {
    throw new XapiFault('MESSAGE_PARAMETER_COUNT_MISMATCH', [
      name,
      String(required),
      String(received),
    ]);
  }
  // 4. unmarshalling
  const raw = takesSession ? params.slice(1) : params;
  let args: unknown[];
  let sessionRaw: WireValue = NULL_REF;
  try {
    if (takesSession) {
      sessionRaw = params[0];
      if (typeof sessionRaw !== 'string') mismatch('session ref', sessionRaw);
    }
    args = defParams.map((p, i) =>
      i < raw.length ? unmarshal(parseWireType(p[1]), p[1], raw[i]) : undefined,
    );
  } catch (err) {
    if (err instanceof Mismatch) throw new XapiFault('INTERNAL_ERROR', [err.message]);
    throw err;
  }
  // 5. session
  const session = takesSession ? checkSession(rt, sessionRaw) : { ref: NULL_REF, rec: {} };
  // a pool member accepts only intra-pool sessions over the network (xapi's session check)
  if (takesSession && origin.hostIndex !== 0 && !origin.unix && session.rec.pool !== true) {
    throw new XapiFault('HOST_IS_SLAVE', [rt.hosts[0]?.address ?? '127.0.0.1']);
  }
  if (injected) throw injected;

  const epoch = rt.epoch;
  const alive = (): boolean => rt.epoch === epoch && !rt.closed;
  const makeCtx = (taskRef?: string): CallContext => ({
    store: rt.store,
    session,
    task: taskRef ? { ref: taskRef } : undefined,
    sim: rt,
    method: name,
    origin: { hostIndex: origin.hostIndex, unix: origin.unix },
    work: makeWork(rt.tasks, () => rt.options.timeScale, taskRef, alive),
  });

  if (!isAsync) {
    const value = await entry.handler(makeCtx(), args);
    return { ok: true, value, type: resultType };
  }
  const taskRef = rt.tasks.create(wireName, '', rt.hosts[origin.hostIndex]?.ref ?? rt.masterRef());
  const ctx = makeCtx(taskRef);
  setImmediate(() => {
    void rt.tasks.run(taskRef, resultType, () => entry.handler(ctx, args));
  });
  return { ok: true, value: taskRef, type: 'task ref' };
}
