// The encoder machinery both codecs share: the output Writer, UTF-8 slabs, %.16g floats and the
// per-type / per-record encoder caches. It must not know either wire syntax: xmlrpc.ts and
// jsonrpc.ts compile engine/values.ts's type trees into their own encoders.
import { parseWireType, type WireType } from '../engine/values';
import { canonicalClass, recordVersion } from '../engine/store';

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
