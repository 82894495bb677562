// The simulator's XML-RPC request/response parser, lenient as xapi's (ocaml-rpc) parser:
// typed or untyped values, empty elements, entities, whitespace between tags. Independent of the
// addon's codec; xmlrpc.ts re-exports it. It knows nothing of datamodel types or dispatch.
import { XDateTime, XDouble, type WireValue } from '../engine/values';

export class XmlRpcParseError extends Error {
  override name = 'XmlRpcParseError';
}

function unescapeXml(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(
        e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10),
      );
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e];
  });
}

interface Tag {
  name: string;
  close: boolean;
  empty: boolean; // <x/>
}

class Cursor {
  i = 0;
  constructor(readonly s: string) {}

  fail(expected: string, got: string): never {
    throw new XmlRpcParseError(`Parse_error(${expected}, ${got}) at offset ${this.i}`);
  }

  /** The next tag, skipping whitespace, the XML declaration and comments. */
  tag(): Tag {
    const s = this.s;
    for (;;) {
      while (this.i < s.length && s.charCodeAt(this.i) <= 32) this.i++;
      if (this.i >= s.length) this.fail('tag', 'end of input');
      if (s[this.i] !== '<') this.fail('tag', 'text');
      if (s.startsWith('<?', this.i)) {
        const e = s.indexOf('?>', this.i);
        if (e < 0) this.fail('?>', 'end of input');
        this.i = e + 2;
        continue;
      }
      if (s.startsWith('<!--', this.i)) {
        const e = s.indexOf('-->', this.i);
        if (e < 0) this.fail('-->', 'end of input');
        this.i = e + 3;
        continue;
      }
      const e = s.indexOf('>', this.i);
      if (e < 0) this.fail('>', 'end of input');
      let body = s.slice(this.i + 1, e);
      this.i = e + 1;
      const close = body[0] === '/';
      if (close) body = body.slice(1);
      const empty = body.endsWith('/');
      if (empty) body = body.slice(0, -1);
      const sp = body.search(/\s/);
      return { name: sp < 0 ? body : body.slice(0, sp), close, empty };
    }
  }

  peekTag(): Tag {
    const save = this.i;
    const t = this.tag();
    this.i = save;
    return t;
  }

  open(name: string): Tag {
    const t = this.tag();
    if (t.close || t.name !== name) this.fail(`open_tag ${name}`, `${t.close ? '/' : ''}${t.name}`);
    return t;
  }

  closeTag(name: string): void {
    const t = this.tag();
    if (!t.close || t.name !== name)
      this.fail(`close_tag ${name}`, `${t.close ? '/' : ''}${t.name}`);
  }

  /** Raw text up to the next '<'. */
  text(): string {
    const e = this.s.indexOf('<', this.i);
    if (e < 0) this.fail('text', 'end of input');
    const t = this.s.slice(this.i, e);
    this.i = e;
    return t;
  }
}

function parseInteger(c: Cursor, text: string): number | bigint {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) c.fail('integer', t);
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

/** After '<value>' (not self-closing): the value and its '</value>'. */
function parseValueBody(c: Cursor): WireValue {
  const raw = c.text();
  const t = c.peekTag();
  if (t.close) {
    c.closeTag('value');
    return unescapeXml(raw);
  }
  if (raw.trim() !== '') c.fail('tag', 'text');
  c.tag();
  let v: WireValue;
  const simple = (): string => {
    if (t.empty) return '';
    const x = unescapeXml(c.text());
    c.closeTag(t.name);
    return x;
  };
  switch (t.name) {
    case 'string':
      v = simple();
      break;
    case 'int':
    case 'i4':
    case 'i8':
      v = parseInteger(c, simple());
      break;
    case 'boolean': {
      const b = simple().trim();
      if (b === '1' || b === 'true') v = true;
      else if (b === '0' || b === 'false') v = false;
      else c.fail('boolean', b);
      break;
    }
    case 'double': {
      const d = simple().trim();
      const n = d === 'inf' ? Infinity : d === '-inf' ? -Infinity : d === 'nan' ? NaN : Number(d);
      if (d === '' || (Number.isNaN(n) && d !== 'nan')) c.fail('double', d);
      v = new XDouble(n);
      break;
    }
    case 'dateTime.iso8601':
      v = new XDateTime(simple().trim());
      break;
    case 'base64':
      v = Buffer.from(simple().replace(/\s+/g, ''), 'base64');
      break;
    case 'nil':
      if (!t.empty) c.closeTag('nil');
      v = null;
      break;
    case 'array': {
      const arr: WireValue[] = [];
      if (!t.empty) {
        const d = c.open('data');
        if (!d.empty) {
          for (;;) {
            const n = c.tag();
            if (n.close && n.name === 'data') break;
            if (n.close || n.name !== 'value') c.fail('open_tag value', n.name);
            arr.push(n.empty ? '' : parseValueBody(c));
          }
        }
        c.closeTag('array');
      }
      v = arr;
      break;
    }
    case 'struct': {
      const obj: Record<string, WireValue> = {};
      if (!t.empty) {
        for (;;) {
          const m = c.tag();
          if (m.close && m.name === 'struct') break;
          if (m.close || m.name !== 'member') c.fail('open_tag member', m.name);
          const nt = c.open('name');
          let name = '';
          if (!nt.empty) {
            name = unescapeXml(c.text());
            c.closeTag('name');
          }
          const vt = c.open('value');
          obj[name] = vt.empty ? '' : parseValueBody(c);
          c.closeTag('member');
        }
      }
      v = obj;
      break;
    }
    default:
      c.fail('value type', t.name);
  }
  c.closeTag('value');
  return v;
}

export function parseMethodCall(xml: string): { method: string; params: WireValue[] } {
  const c = new Cursor(xml);
  c.open('methodCall');
  const mn = c.open('methodName');
  let method = '';
  if (!mn.empty) {
    method = unescapeXml(c.text()).trim();
    c.closeTag('methodName');
  }
  const params: WireValue[] = [];
  const p = c.open('params');
  if (!p.empty) {
    for (;;) {
      const t = c.tag();
      if (t.close && t.name === 'params') break;
      if (t.close || t.name !== 'param') c.fail('open_tag param', t.name);
      const vt = c.open('value');
      params.push(vt.empty ? '' : parseValueBody(c));
      c.closeTag('param');
    }
  }
  c.closeTag('methodCall');
  return { method, params };
}

export function parseValueXml(xml: string): WireValue {
  const c = new Cursor(xml);
  const vt = c.open('value');
  return vt.empty ? '' : parseValueBody(c);
}

export type ParsedResponse =
  | { status: 'Success'; value: WireValue }
  | { status: 'Failure'; error: string[] }
  | { status: undefined; value: WireValue };

export function parseMethodResponse(xml: string): ParsedResponse {
  const c = new Cursor(xml);
  c.open('methodResponse');
  c.open('params');
  c.open('param');
  const vt = c.open('value');
  const v = vt.empty ? '' : parseValueBody(c);
  if (
    v &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    !(v instanceof XDouble) &&
    !(v instanceof XDateTime)
  ) {
    const o = v as Record<string, WireValue>;
    if (o.Status === 'Success') return { status: 'Success', value: o.Value };
    if (o.Status === 'Failure')
      return { status: 'Failure', error: (o.ErrorDescription as string[]) ?? [] };
  }
  return { status: undefined, value: v };
}
