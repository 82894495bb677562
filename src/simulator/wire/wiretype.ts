// Datamodel type strings parsed into a small tree ('(string -> VM ref) map' -> map(string, ref)),
// the self-describing wrapper values (int64, double, datetime), the output Writer and the
// per-type / per-record encoder caches both codecs share. It must not know either wire syntax:
// xmlrpc.ts and jsonrpc.ts compile these trees into their own encoders.
import { canonicalClass, recordVersion } from '../engine/store';

export type WireType =
  | { k: 'string' }
  | { k: 'int' }
  | { k: 'int32' }
  | { k: 'float' }
  | { k: 'bool' }
  | { k: 'datetime' }
  | { k: 'void' }
  | { k: 'ref'; cls: string }
  | { k: 'enum'; name: string }
  | { k: 'set'; of: WireType }
  | { k: 'map'; key: WireType; val: WireType }
  | { k: 'record'; cls: string }
  | { k: 'batch' } // event.from's result
  | { k: 'any' }; // self-describing: encode by the JS value's own shape

const cache = new Map<string, WireType>();

/** Parse a datamodel type string; unknown spellings become { k: 'any' }. */
export function parseWireType(text: string): WireType {
  let t = cache.get(text);
  if (!t) {
    t = parseUncached(text.trim());
    cache.set(text, t);
  }
  return t;
}

function parseUncached(s: string): WireType {
  switch (s) {
    case 'string':
      return { k: 'string' };
    case 'int':
      return { k: 'int' };
    case 'int32':
      return { k: 'int32' };
    case 'float':
      return { k: 'float' };
    case 'bool':
      return { k: 'bool' };
    case 'datetime':
      return { k: 'datetime' };
    case 'void':
      return { k: 'void' };
    case 'an event batch':
      return { k: 'batch' };
    case 'any':
      return { k: 'any' };
  }
  if (s.endsWith(') map') && s.startsWith('(')) {
    const inner = s.slice(1, -5);
    const arrow = inner.indexOf(' -> ');
    if (arrow > 0) {
      return {
        k: 'map',
        key: parseWireType(inner.slice(0, arrow)),
        val: parseWireType(inner.slice(arrow + 4)),
      };
    }
  }
  if (s.endsWith(' set')) return { k: 'set', of: parseWireType(s.slice(0, -4)) };
  if (s.endsWith(' ref')) return { k: 'ref', cls: s.slice(0, -4) };
  if (s.endsWith(' record')) return { k: 'record', cls: s.slice(0, -7) };
  if (s.startsWith('enum ')) return { k: 'enum', name: s.slice(5) };
  return { k: 'any' };
}

/** A 64-bit integer that must go out as an int (XML-RPC untyped decimal, JSON integer). */
export class XInt {
  constructor(readonly value: bigint | number) {}
}
/** A float that must go out as <double> / a JSON number with a fraction part; also what the
 *  parsers return for <double> and for JSON numbers written with '.', 'e' or as Infinity/NaN. */
export class XDouble {
  constructor(readonly value: number) {}
}
/** A datetime, as text ('20250319T04:16:24Z'); what the parsers return for <dateTime.iso8601>. */
export class XDateTime {
  constructor(readonly text: string) {}
}
/** A 32-bit int (XML-RPC <i4>). */
export class XInt32 {
  constructor(readonly value: number) {}
}

/**
 * Values as parsed from requests (both protocols):
 *   string | number (integers within 2^53) | bigint (integers beyond) | boolean | null
 *   | XDouble | XDateTime | Buffer (<base64>) | WireValue[] | { [member]: WireValue }
 */
export type WireValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | XDouble
  | XDateTime
  | Buffer
  | WireValue[]
  | { [key: string]: WireValue };

/** Format a float the way C's %.16g does for ordinary magnitudes (1.0 -> '1'). */
export function formatG16(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(Number(v.toPrecision(16)));
}

/**
 * Output accumulator of the encoders: small pieces are appended to a string that is turned into
 * a Buffer every 16 KiB, and whole cached Buffers (a record's wire form) are appended as they
 * are, so a 70 MB response never exists as one JS string.
 */
export class Writer {
  private cur = '';
  private parts: Buffer[] = [];
  private size = 0;

  s(text: string): void {
    this.cur += text;
    if (this.cur.length > 16384) this.flush();
  }

  b(buf: Buffer): void {
    if (this.cur) this.flush();
    this.parts.push(buf);
    this.size += buf.length;
  }

  private flush(): void {
    const buf = Buffer.from(this.cur, 'utf8');
    this.cur = '';
    this.parts.push(buf);
    this.size += buf.length;
  }

  /** The output as a list of Buffers and its total length (no final copy). */
  chunks(): { parts: Buffer[]; size: number } {
    if (this.cur) this.flush();
    return { parts: this.parts, size: this.size };
  }

  toBuffer(): Buffer {
    if (this.cur) this.flush();
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
  }

  toString(): string {
    if (this.parts.length === 0) return this.cur;
    return this.toBuffer().toString('utf8');
  }
}

const SLAB_SIZE = 1 << 20;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;

/**
 * UTF-8 bytes of text as a view into a shared 1 MiB slab (one allocation per slab rather than
 * per record: the encoders cache every record's wire form this way).
 */
export function utf8Slab(text: string): Buffer {
  const max = text.length * 3;
  if (max > SLAB_SIZE >> 2) return Buffer.from(text, 'utf8');
  if (slabUsed + max > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const n = slab.write(text, slabUsed, 'utf8');
  const view = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return view;
}

// ---------------------------------------------------------------- encoder caches

/** An encoder: writes one value of a known type. */
/** One protocol's text encoders of the scalar wire types. */
export interface ScalarTexts {
  str: (v: unknown) => string;
  int: (v: unknown) => string;
  float: (v: unknown) => string;
  bool: (v: unknown) => string;
  datetime: (v: unknown) => string;
}

/** The text encoder of a scalar datamodel type, or undefined for sets, maps and records. */
export function scalarTextOf(
  type: string,
  texts: ScalarTexts,
): ((v: unknown) => string) | undefined {
  switch (parseWireType(type).k) {
    case 'string':
    case 'ref':
    case 'enum':
      return texts.str;
    case 'int':
      return texts.int;
    case 'float':
      return texts.float;
    case 'bool':
      return texts.bool;
    case 'datetime':
      return texts.datetime;
    default:
      return undefined;
  }
}

export type Enc = (v: unknown, w: Writer) => void;

/** True for [] and {} (a field holding an empty set or map is written as its default). */
export function isEmpty(x: object): boolean {
  if (Array.isArray(x)) return x.length === 0;
  for (const _k in x) return false;
  return true;
}

/** encoderFor(type): the compiled encoder of a datamodel type string, compiled once. */
export function makeEncoderCache(compile: (t: WireType) => Enc): (type: string) => Enc {
  const encoders = new Map<string, Enc>();
  return (type) => {
    let e = encoders.get(type);
    if (!e) {
      e = compile(parseWireType(type));
      encoders.set(type, e);
    }
    return e;
  };
}

/**
 * recordEncoderFor(cls): one encoder (and so one cache) per class, whatever type string reaches
 * it. Records are encoded once per version and kept as Buffers (see store.recordVersion);
 * textEncoder(cls) gives a record's whole wire text, or undefined for a class outside the
 * datamodel, which is then written by fallback as a self-describing value.
 */
export function makeRecordEncoders(
  textEncoder: (cls: string) => ((v: unknown) => string) | undefined,
  fallback: (v: unknown) => string,
): (cls: string) => Enc {
  const recordEncoders = new Map<string, Enc>();
  const recordEncoder = (cls: string): Enc => {
    const textOf = textEncoder(cls);
    if (!textOf) return (v, w) => w.s(fallback(v));
    const cache = new WeakMap<object, { ver: number; buf: Buffer }>();
    return (v, w) => {
      const rec = (v ?? {}) as Record<string, unknown>;
      const ver = recordVersion(rec);
      const hit = cache.get(rec);
      if (hit && hit.ver === ver) return w.b(hit.buf);
      const buf = utf8Slab(textOf(rec));
      cache.set(rec, { ver, buf });
      w.b(buf);
    };
  };
  return (cls) => {
    const key = canonicalClass(cls) ?? cls;
    let e = recordEncoders.get(key);
    if (!e) {
      e = recordEncoder(key);
      recordEncoders.set(key, e);
    }
    return e;
  };
}
