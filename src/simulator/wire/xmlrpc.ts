// The simulator's XML-RPC codec, written independently of the addon's: a lenient request parser
// (as xapi's ocaml-rpc parser) and a type-directed response writer (as xapi's non-strict
// serializer). It knows the datamodel types but nothing of dispatch, sessions or HTTP.
//
// Exports:
//   parseMethodCall(xml) -> { method, params: WireValue[] }     throws XmlRpcParseError
//   parseMethodResponse(xml) -> { status:'Success', value } | { status:'Failure', error: string[] }
//                               | { status: undefined, value }  (unwrapped, e.g. system.listMethods)
//   parseValueXml(xml) -> WireValue                               one '<value>...</value>'
//   formatValue(value, type) -> '<value>...</value>'             type = datamodel type string
//   formatSuccess(value, type) -> a full methodResponse with Status/Value (string);
//       formatSuccessChunks(value, type) -> the same as { parts: Buffer[], size } (what the server sends)
//   formatFailure([code, ...params]) -> methodResponse with Status/ErrorDescription
//   formatUnwrapped(value, type) -> methodResponse without Status/Value (system.listMethods)
//   escapeXml(text) -> text escaped as xapi does (control characters but TAB/LF/CR dropped)
//   formatTyped(value) -> '<value>...</value>' of a self-describing value: string -> bare value,
//       integer number / bigint / XInt -> untyped decimal, XDouble or non-integer number ->
//       <double>, XDateTime -> <dateTime.iso8601>, XInt32 -> <i4>, boolean, null -> <nil/>,
//       arrays, plain objects -> <struct>
//   formatMethodCall(method, params) -> a request body (params self-describing as formatTyped)
// Parsed values (WireValue): untyped/<string> -> string, <int>/<i4>/<i8> -> number (bigint
// beyond 2^53), <double> -> XDouble, <dateTime.iso8601> -> XDateTime, <boolean> -> boolean,
// <base64> -> Buffer, <nil/> -> null, <array> -> array, <struct> -> plain object.
import { DATAMODEL, type XapiClass } from '../../xapi/datamodel.generated';
import { canonicalClass } from '../engine/store';
import { XDateTime, XDouble, XInt, XInt32, type WireType } from '../engine/values';
import {
  formatG16,
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

export {
  XmlRpcParseError,
  parseMethodCall,
  parseMethodResponse,
  parseValueXml,
  type ParsedResponse,
} from './xmlrpc-parser';

// ---------------------------------------------------------------- escaping

// eslint-disable-next-line no-control-regex -- xapi drops these control characters
const XML_SPECIAL = /[<>&"\x00-\x08\x0b\x0c\x0e-\x1f]/;
// eslint-disable-next-line no-control-regex
const XML_SPECIAL_G = /[<>&"\x00-\x08\x0b\x0c\x0e-\x1f]/g;
const ENTITY: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' };

/** Escape text as xapi does: entities for < > & ", control characters other than TAB/LF/CR dropped. */
export function escapeXml(s: string): string {
  if (!XML_SPECIAL.test(s)) return s;
  return s.replace(XML_SPECIAL_G, (ch) => ENTITY[ch] ?? '');
}

// ---------------------------------------------------------------- type-directed writer

const strText = (v: unknown): string =>
  `<value>${escapeXml(typeof v === 'string' ? v : v == null ? '' : String(v))}</value>`;
const intText = (v: unknown): string => {
  if (v instanceof XInt) return `<value>${String(v.value)}</value>`;
  if (typeof v === 'number')
    return `<value>${Number.isInteger(v) ? String(v) : String(Math.trunc(v))}</value>`;
  return `<value>${typeof v === 'bigint' ? String(v) : escapeXml(String(v ?? 0))}</value>`;
};
const floatText = (v: unknown): string =>
  `<value><double>${formatG16(v instanceof XDouble ? v.value : Number(v ?? 0))}</double></value>`;
const boolText = (v: unknown): string =>
  v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>';
const dateText = (v: unknown): string =>
  `<value><dateTime.iso8601>${escapeXml(v instanceof XDateTime ? v.text : String(v ?? '19700101T00:00:00Z'))}</dateTime.iso8601></value>`;
const i32Text = (v: unknown): string =>
  `<value><i4>${Number(v instanceof XInt32 ? v.value : v) | 0}</i4></value>`;

const lift =
  (f: (v: unknown) => string): Enc =>
  (v, w) =>
    w.s(f(v));

function compile(t: WireType): Enc {
  switch (t.k) {
    case 'string':
    case 'ref':
    case 'enum':
      return lift(strText);
    case 'int':
      return lift(intText);
    case 'int32':
      return lift(i32Text);
    case 'float':
      return lift(floatText);
    case 'bool':
      return lift(boolText);
    case 'datetime':
      return lift(dateText);
    case 'void':
      return (_v, w) => w.s('<value></value>');
    case 'any':
      return (v, w) => w.s(formatTyped(v));
    case 'batch':
      return encodeBatch;
    case 'set': {
      const inner = compile(t.of);
      return (v, w) => {
        const arr = (v ?? []) as unknown[];
        w.s('<value><array><data>');
        for (let i = 0; i < arr.length; i++) inner(arr[i], w);
        w.s('</data></array></value>');
      };
    }
    case 'map': {
      const val = compile(t.val);
      return (v, w) => {
        const obj = (v ?? {}) as Record<string, unknown>;
        w.s('<value><struct>');
        for (const k in obj) {
          w.s(`<member><name>${escapeXml(k)}</name>`);
          val(obj[k], w);
          w.s('</member>');
        }
        w.s('</struct></value>');
      };
    }
    case 'record':
      return recordEncoderFor(t.cls);
  }
}

/** The text encoder of a scalar type (no Writer needed), or undefined. */
const SCALAR_TEXTS: ScalarTexts = {
  str: strText,
  int: intText,
  float: floatText,
  bool: boolText,
  datetime: dateText,
};
const scalarText = (type: string) => scalarTextOf(type, SCALAR_TEXTS);

/** A record's '<value><struct>...' as text (fields in datamodel order, defaults for gaps). */
function recordTextEncoder(cls: string): ((v: unknown) => string) | undefined {
  const canon = canonicalClass(cls) ?? (cls as XapiClass);
  const def = DATAMODEL[canon];
  if (!def) return undefined;
  const names = Object.keys(def.fields);
  const n = names.length;
  const heads = names.map((f) => `<member><name>${escapeXml(f)}</name>`);
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
  // the whole member for a field holding its default (most fields of most records)
  const whole = names.map((_f, i) => heads[i] + text(i, dflts[i]) + '</member>');
  const emptyDefault = dflts.map((d) =>
    Array.isArray(d)
      ? d.length === 0
      : d !== null && typeof d === 'object' && Object.keys(d).length === 0,
  );
  const parts: string[] = new Array<string>(n + 2);
  parts[0] = '<value><struct>';
  parts[n + 1] = '</struct></value>';
  return (v) => {
    const rec = v as Record<string, unknown>;
    for (let i = 0; i < n; i++) {
      const x = rec[names[i]];
      if (x === undefined || x === dflts[i]) parts[i + 1] = whole[i];
      else if (emptyDefault[i] && typeof x === 'object' && x !== null && isEmpty(x))
        parts[i + 1] = whole[i];
      else parts[i + 1] = heads[i] + text(i, x) + '</member>';
    }
    return parts.join('');
  };
}

const recordEncoderFor = makeRecordEncoders(recordTextEncoder, (v) => formatTyped(v));

/** Encode and cache a record's wire form ahead of any request (large pools do this while idle). */
export function primeRecord(cls: string, rec: object): void {
  encoderFor(`${cls} record`)(rec, new Writer());
}

const encoderFor = makeEncoderCache(compile);

/** The event batch of event.from: {events, valid_ref_counts (as <i4>), token}. */
function encodeBatch(v: unknown, w: Writer): void {
  const b = v as {
    events: Array<Record<string, unknown>>;
    valid_ref_counts: Record<string, number>;
    token: string;
  };
  w.s('<value><struct><member><name>events</name><value><array><data>');
  for (const ev of b.events) {
    w.s(
      `<value><struct><member><name>id</name>${strText(ev.id)}</member>` +
        `<member><name>timestamp</name>${strText(ev.timestamp)}</member>` +
        `<member><name>class</name>${strText(ev.class)}</member>` +
        `<member><name>operation</name>${strText(ev.operation)}</member>` +
        `<member><name>ref</name>${strText(ev.ref)}</member>`,
    );
    if (ev.snapshot !== undefined) {
      w.s('<member><name>snapshot</name>');
      encoderFor(`${String(ev.class)} record`)(ev.snapshot, w);
      w.s('</member>');
    }
    w.s('</struct></value>');
  }
  w.s('</data></array></value></member><member><name>valid_ref_counts</name><value><struct>');
  for (const k in b.valid_ref_counts)
    w.s(`<member><name>${escapeXml(k)}</name>${i32Text(b.valid_ref_counts[k])}</member>`);
  w.s(
    `</struct></value></member><member><name>token</name>${strText(b.token)}</member></struct></value>`,
  );
}

/** '<value>...</value>' for value written as the datamodel type `type` says. */
export function formatValue(value: unknown, type: string): string {
  const w = new Writer();
  encoderFor(type)(value, w);
  return w.toString();
}

/** A self-describing value (see the header). */
export function formatTyped(v: unknown): string {
  if (typeof v === 'string') return strText(v);
  if (typeof v === 'number') return Number.isInteger(v) ? `<value>${v}</value>` : floatText(v);
  if (typeof v === 'bigint') return `<value>${v}</value>`;
  if (typeof v === 'boolean') return boolText(v);
  if (v === null || v === undefined) return '<value><nil/></value>';
  if (v instanceof XInt) return intText(v);
  if (v instanceof XDouble) return floatText(v);
  if (v instanceof XDateTime) return dateText(v);
  if (v instanceof XInt32) return i32Text(v);
  if (v instanceof Date) return dateText(new XDateTime(v.toISOString().replace(/[-]|\.\d+/g, '')));
  if (Buffer.isBuffer(v)) return `<value><base64>${v.toString('base64')}</base64></value>`;
  if (Array.isArray(v)) {
    let out = '<value><array><data>';
    for (const x of v) out += formatTyped(x);
    return out + '</data></array></value>';
  }
  let out = '<value><struct>';
  const obj = v as Record<string, unknown>;
  for (const k in obj) out += `<member><name>${escapeXml(k)}</name>${formatTyped(obj[k])}</member>`;
  return out + '</struct></value>';
}

const RESPONSE_HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
const RESPONSE_TAIL = '</param></params></methodResponse>';

/** The success response as Buffers (what the server sends; large answers never become one string). */
export function formatSuccessChunks(
  value: unknown,
  type: string,
): { parts: Buffer[]; size: number } {
  const w = new Writer();
  w.s(
    RESPONSE_HEAD +
      '<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>',
  );
  encoderFor(type)(value, w);
  w.s('</member></struct></value>' + RESPONSE_TAIL);
  return w.chunks();
}

export function formatSuccess(value: unknown, type: string): string {
  const { parts, size } = formatSuccessChunks(value, type);
  return Buffer.concat(parts, size).toString('utf8');
}

export function formatFailure(errorDescription: string[]): string {
  return (
    RESPONSE_HEAD +
    '<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>' +
    formatValue(errorDescription, 'string set') +
    '</member></struct></value>' +
    RESPONSE_TAIL
  );
}

/** A response without the Status/Value wrapper (system.listMethods). */
export function formatUnwrapped(value: unknown, type: string): string {
  return RESPONSE_HEAD + formatValue(value, type) + RESPONSE_TAIL;
}

export function formatMethodCall(method: string, params: unknown[]): string {
  let out = `<?xml version="1.0"?><methodCall><methodName>${escapeXml(method)}</methodName><params>`;
  for (const p of params) out += `<param>${formatTyped(p)}</param>`;
  return out + '</params></methodCall>';
}
