// The simulator's JSON-RPC codec (v1.0 and v2.0 as xapi speaks them on /jsonrpc), written
// independently of the addon's: an exact-integer request parser and a type-directed writer.
// It knows the datamodel types but nothing of dispatch, sessions or HTTP.
//
// Exports:
//   parseJson(text) -> WireValue        integers stay exact (bigint beyond 2^53); numbers written
//                                       with '.', 'e', or Infinity/NaN become XDouble
//   parseJsonRequest(text) -> { version: 1 | 2, method, params: WireValue[], id }
//                                       throws JsonRpcParseError (HTTP 500 as xapi)
//   formatJsonValue(value, type) -> JSON text of value written as the datamodel type says
//                                       (int: integer literal; float: '1.0' style; void: "")
//   formatJsonSuccess(value, type, version, id) (string; formatJsonSuccessChunks: Buffers),
//   formatJsonFailure([code, ...params], version, id)
//   formatJsonTyped(value) -> JSON of a self-describing value (XInt/XDouble/XDateTime/bigint)
//   formatJsonRequest(method, params, version = 2, id = 0) -> a request body
import { DATAMODEL, type XapiClass } from '../../xapi/datamodel.generated';
import { canonicalClass } from '../engine/store';
import { XDateTime, XDouble, XInt, XInt32, type WireType } from '../engine/values';
import {
  Writer,
  isEmpty,
  makeEncoderCache,
  makeRecordEncoders,
  scalarTextOf,
  type Enc,
  type ScalarTexts,
} from './encoder';

export { XDateTime, XDouble, XInt, XInt32 } from '../engine/values';
export type { WireValue } from '../engine/values';

export { JsonRpcParseError, parseJson, parseJsonRequest, type JsonRequest } from './json-parser';

// ---------------------------------------------------------------- type-directed writer

const str = (v: unknown): string =>
  JSON.stringify(typeof v === 'string' ? v : v == null ? '' : String(v));

function jsonFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  const s = String(n);
  return Number.isInteger(n) && !/e/.test(s) ? `${s}.0` : s;
}

const intText = (v: unknown): string => {
  if (v instanceof XInt || v instanceof XInt32) return String(v.value);
  if (typeof v === 'number') return String(Number.isInteger(v) ? v : Math.trunc(v));
  if (typeof v === 'bigint') return String(v);
  const t = String(v ?? 0).trim();
  return /^-?\d+$/.test(t) ? t : '0';
};
const floatText = (v: unknown): string =>
  jsonFloat(v instanceof XDouble ? v.value : Number(v ?? 0));
const boolText = (v: unknown): string => (v ? 'true' : 'false');
const dateText = (v: unknown): string =>
  str(v instanceof XDateTime ? v.text : (v ?? '19700101T00:00:00Z'));

const lift =
  (f: (v: unknown) => string): Enc =>
  (v, w) =>
    w.s(f(v));

function compile(t: WireType): Enc {
  switch (t.k) {
    case 'string':
    case 'ref':
    case 'enum':
      return lift(str);
    case 'int':
    case 'int32':
      return lift(intText);
    case 'float':
      return lift(floatText);
    case 'bool':
      return lift(boolText);
    case 'datetime':
      return lift(dateText);
    case 'void':
      return (_v, w) => w.s('""');
    case 'any':
      return (v, w) => w.s(formatJsonTyped(v));
    case 'batch':
      return encodeBatch;
    case 'set': {
      const inner = compile(t.of);
      return (v, w) => {
        const arr = (v ?? []) as unknown[];
        w.s('[');
        for (let i = 0; i < arr.length; i++) {
          if (i) w.s(',');
          inner(arr[i], w);
        }
        w.s(']');
      };
    }
    case 'map': {
      const val = compile(t.val);
      return (v, w) => {
        const obj = (v ?? {}) as Record<string, unknown>;
        let first = true;
        w.s('{');
        for (const k in obj) {
          w.s((first ? '' : ',') + JSON.stringify(k) + ':');
          val(obj[k], w);
          first = false;
        }
        w.s('}');
      };
    }
    case 'record':
      return recordEncoderFor(t.cls);
  }
}

/** The text encoder of a scalar type (no Writer needed), or undefined. */
const SCALAR_TEXTS: ScalarTexts = {
  str: str,
  int: intText,
  float: floatText,
  bool: boolText,
  datetime: dateText,
};
const scalarText = (type: string) => scalarTextOf(type, SCALAR_TEXTS);

function recordTextEncoder(cls: string): ((v: unknown) => string) | undefined {
  const canon = canonicalClass(cls) ?? (cls as XapiClass);
  const def = DATAMODEL[canon];
  if (!def) return undefined;
  const names = Object.keys(def.fields);
  const n = names.length;
  if (n === 0) return () => '{}';
  const heads = names.map((f, i) => (i ? ',' : '{') + JSON.stringify(f) + ':');
  const encs = names.map((f) => encoderFor(def.fields[f][0]));
  const dflts = names.map((f) => def.fields[f][2]);
  const scalars = names.map((f) => scalarText(def.fields[f][0]));
  const text = (i: number, x: unknown): string => {
    const direct = scalars[i];
    if (direct) return direct(x);
    const w = new Writer();
    encs[i](x, w);
    return w.toString();
  };
  const whole = names.map((_f, i) => heads[i] + text(i, dflts[i]));
  const emptyDefault = dflts.map((d) =>
    Array.isArray(d)
      ? d.length === 0
      : d !== null && typeof d === 'object' && Object.keys(d).length === 0,
  );
  return (v) => {
    const rec = v as Record<string, unknown>;
    let out = '';
    for (let i = 0; i < n; i++) {
      const x = rec[names[i]];
      if (x === undefined || x === dflts[i]) out += whole[i];
      else if (emptyDefault[i] && typeof x === 'object' && x !== null && isEmpty(x))
        out += whole[i];
      else out += heads[i] + text(i, x);
    }
    return out + '}';
  };
}

const recordEncoderFor = makeRecordEncoders(recordTextEncoder, (v) => formatJsonTyped(v));

/** Encode and cache a record's wire form ahead of any request (large pools do this while idle). */
export function primeJsonRecord(cls: string, rec: object): void {
  encoderFor(`${cls} record`)(rec, new Writer());
}

const encoderFor = makeEncoderCache(compile);

function encodeBatch(v: unknown, w: Writer): void {
  const b = v as {
    events: Array<Record<string, unknown>>;
    valid_ref_counts: Record<string, number>;
    token: string;
  };
  w.s('{"events":[');
  b.events.forEach((ev, i) => {
    w.s(
      (i ? ',' : '') +
        `{"id":${str(ev.id)},"timestamp":${str(ev.timestamp)},"class":${str(ev.class)},` +
        `"operation":${str(ev.operation)},"ref":${str(ev.ref)}`,
    );
    if (ev.snapshot !== undefined) {
      w.s(',"snapshot":');
      encoderFor(`${String(ev.class)} record`)(ev.snapshot, w);
    }
    w.s('}');
  });
  w.s('],"valid_ref_counts":{');
  let first = true;
  for (const k in b.valid_ref_counts) {
    w.s((first ? '' : ',') + JSON.stringify(k) + ':' + intText(b.valid_ref_counts[k]));
    first = false;
  }
  w.s(`},"token":${str(b.token)}}`);
}

export function formatJsonValue(value: unknown, type: string): string {
  const w = new Writer();
  encoderFor(type)(value, w);
  return w.toString();
}

export function formatJsonTyped(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : jsonFloat(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null || v === undefined) return 'null';
  if (v instanceof XInt || v instanceof XInt32) return String(v.value);
  if (v instanceof XDouble) return jsonFloat(v.value);
  if (v instanceof XDateTime) return JSON.stringify(v.text);
  if (v instanceof Date) return JSON.stringify(v.toISOString().replace(/[-]|\.\d+/g, ''));
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('base64'));
  if (Array.isArray(v)) return '[' + v.map(formatJsonTyped).join(',') + ']';
  const obj = v as Record<string, unknown>;
  return (
    '{' +
    Object.keys(obj)
      .map((k) => JSON.stringify(k) + ':' + formatJsonTyped(obj[k]))
      .join(',') +
    '}'
  );
}

function idText(id: string | number | bigint): string {
  return typeof id === 'string' ? JSON.stringify(id) : String(id);
}

/** The success response as Buffers (what the server sends). */
export function formatJsonSuccessChunks(
  value: unknown,
  type: string,
  version: 1 | 2,
  id: string | number | bigint,
): { parts: Buffer[]; size: number } {
  const w = new Writer();
  w.s(version === 2 ? '{"jsonrpc":"2.0","result":' : '{"result":');
  encoderFor(type)(value, w);
  w.s(version === 2 ? `,"id":${idText(id)}}` : `,"error":null,"id":${idText(id)}}`);
  return w.chunks();
}

export function formatJsonSuccess(
  value: unknown,
  type: string,
  version: 1 | 2,
  id: string | number | bigint,
): string {
  const { parts, size } = formatJsonSuccessChunks(value, type, version, id);
  return Buffer.concat(parts, size).toString('utf8');
}

export function formatJsonFailure(
  errorDescription: string[],
  version: 1 | 2,
  id: string | number | bigint,
): string {
  const [code, ...params] = errorDescription;
  return version === 2
    ? `{"jsonrpc":"2.0","error":{"code":1,"message":${JSON.stringify(code)},"data":${JSON.stringify(params)}},"id":${idText(id)}}`
    : `{"result":null,"error":${JSON.stringify(errorDescription)},"id":${idText(id)}}`;
}

export function formatJsonRequest(
  method: string,
  params: unknown[],
  version: 1 | 2 = 2,
  id: string | number = 0,
): string {
  const p = formatJsonTyped(params);
  return version === 2
    ? `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${p},"id":${idText(id)}}`
    : `{"method":${JSON.stringify(method)},"params":${p},"id":${idText(id)}}`;
}
