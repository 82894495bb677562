// The values a call carries between the codecs and dispatch: datamodel type strings parsed into
// a small tree ('(string -> VM ref) map' -> map(string, ref)), the self-describing wrappers
// (int64, int32, double, datetime) and WireValue, what both parsers produce. It knows neither
// wire syntax nor HTTP; wire/ builds on it and dispatch unmarshals from it.
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
