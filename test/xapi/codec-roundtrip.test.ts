// Round trips of every XAPI type and its edge values between the addon's codecs and the
// simulator's independent ones (src/simulator/wire/), both protocols, both ways:
// simulator writes -> addon reads, addon writes -> simulator reads, and addon -> addon.
import { xapiDouble } from '../../src/xapi/addon';
import {
  XDateTime,
  XDouble,
  XInt,
  XInt32,
  jsonrpc as simJson,
  xmlrpc as simXml,
} from '../../src/simulator';
import { loadTestingAddon } from './testing-addon';

const { codec } = loadTestingAddon();

// One value in the simulator's self-describing form and in the addon's JS form.
interface Case {
  name: string;
  sim: unknown;
  addon: unknown;
}

const DATETIME_FORMS = [
  '20250319T04:16:24Z',
  '20250319T04:16:24',
  '20250319T041624',
  '2025-03-19T04:16:24Z',
  '2025-03-19T06:16:24+02:00',
  '19700101T00:00:00Z',
];

const CASES: Case[] = [
  { name: 'empty string', sim: '', addon: '' },
  { name: 'string', sim: 'plain text', addon: 'plain text' },
  {
    name: 'ref',
    sim: 'OpaqueRef:6ff1d1c4-9d1e-4e0a-a1e4-5c9d1c0e3f77',
    addon: 'OpaqueRef:6ff1d1c4-9d1e-4e0a-a1e4-5c9d1c0e3f77',
  },
  { name: 'null ref', sim: 'OpaqueRef:NULL', addon: 'OpaqueRef:NULL' },
  { name: 'enum', sim: 'Running', addon: 'Running' },
  {
    name: 'markup characters',
    sim: `<a href="x">&amp; 'q'</a>`,
    addon: `<a href="x">&amp; 'q'</a>`,
  },
  { name: 'whitespace controls', sim: ' \t\n ', addon: ' \t\n ' },
  { name: 'non-ASCII', sim: 'Zürich 東京 😀 ﻿ \u2028', addon: 'Zürich 東京 😀 ﻿ \u2028' },
  { name: 'int 0', sim: new XInt(0), addon: 0 },
  { name: 'int -1', sim: new XInt(-1), addon: -1 },
  { name: 'int 2^53-1', sim: new XInt(2 ** 53 - 1), addon: 2 ** 53 - 1 },
  { name: 'int 2^53+1', sim: new XInt(2n ** 53n + 1n), addon: 2n ** 53n + 1n },
  { name: 'int64 max', sim: new XInt(9223372036854775807n), addon: 9223372036854775807n },
  { name: 'int64 min', sim: new XInt(-9223372036854775808n), addon: -9223372036854775808n },
  { name: 'int32', sim: new XInt32(-2147483648), addon: -2147483648 },
  { name: 'float', sim: new XDouble(0.1), addon: 0.1 },
  { name: 'float negative', sim: new XDouble(-1.25e-7), addon: -1.25e-7 },
  // xapi prints doubles with %.16g, so only values with 16 significant digits survive its form.
  { name: 'float large', sim: new XDouble(1.5e308), addon: 1.5e308 },
  { name: 'float tiny', sim: new XDouble(5e-324), addon: 5e-324 },
  { name: 'float integral', sim: new XDouble(2), addon: xapiDouble(2) },
  { name: 'NaN', sim: new XDouble(NaN), addon: NaN },
  { name: 'Infinity', sim: new XDouble(Infinity), addon: Infinity },
  { name: '-Infinity', sim: new XDouble(-Infinity), addon: -Infinity },
  { name: 'true', sim: true, addon: true },
  { name: 'false', sim: false, addon: false },
  ...DATETIME_FORMS.map((text) => ({
    name: `datetime ${text}`,
    sim: new XDateTime(text),
    addon: new Date(codec.parseDatetime(text)!),
  })),
  { name: 'empty set', sim: [], addon: [] },
  {
    name: 'set of refs',
    sim: ['OpaqueRef:a', 'OpaqueRef:b'],
    addon: ['OpaqueRef:a', 'OpaqueRef:b'],
  },
  { name: 'nested empty sets', sim: [[], [[]]], addon: [[], [[]]] },
  { name: 'empty map', sim: {}, addon: {} },
  {
    name: 'string map',
    sim: { a: '1', 'b&<>': '2', '': 'empty key', é: 'ü' },
    addon: { a: '1', 'b&<>': '2', '': 'empty key', é: 'ü' },
  },
  {
    name: 'record',
    sim: {
      uuid: '2a1f7e35-3c8b-4f63-9b6b-0f3b1e0c4d5a',
      name_label: 'vm <1>',
      power_state: 'Halted',
      VCPUs_max: new XInt(4),
      memory_static_max: new XInt(2n ** 40n),
      is_a_template: false,
      other_config: { xcd_namespace: 'tenant-1' },
      VBDs: [],
      platform: {},
      start_time: new XDateTime('19700101T00:00:00Z'),
      load: new XDouble(0.5),
    },
    addon: {
      uuid: '2a1f7e35-3c8b-4f63-9b6b-0f3b1e0c4d5a',
      name_label: 'vm <1>',
      power_state: 'Halted',
      VCPUs_max: 4,
      memory_static_max: 2n ** 40n,
      is_a_template: false,
      other_config: { xcd_namespace: 'tenant-1' },
      VBDs: [],
      platform: {},
      start_time: new Date(0),
      load: 0.5,
    },
  },
];

// Control characters are a value xapi itself cannot carry over XML-RPC (its serializer drops them);
// both codecs carry them through JSON-RPC, and the addon's XML as character references.
const CONTROL = {
  name: 'control characters',
  sim: 'a\u0001b\u001fc\rd',
  addon: 'a\u0001b\u001fc\rd',
};

type Protocol = 'xml' | 'json';

// What the addon decodes a simulator value into. In XML-RPC ints are untyped text (as from
// xapi), datetimes are typed; in JSON-RPC ints are numbers and datetimes plain strings.
function expectedFromSim(v: unknown, p: Protocol): unknown {
  if (v instanceof XInt) {
    const n = typeof v.value === 'bigint' ? v.value : BigInt(v.value);
    if (p === 'xml') return String(n);
    return asDecoded(n);
  }
  if (v instanceof XInt32) return v.value;
  if (v instanceof XDouble) return v.value;
  if (v instanceof XDateTime) return p === 'xml' ? new Date(codec.parseDatetime(v.text)!) : v.text;
  if (Array.isArray(v)) return v.map((x) => expectedFromSim(x, p));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expectedFromSim(x, p)]));
  }
  return v;
}

// What the simulator parses from the addon's encoding of an addon JS value: ints as numbers
// (bigint beyond 2^53), doubles as XDouble, Dates as XDateTime in xapi's form.
function expectedFromAddon(v: unknown, p: Protocol, intsAsText: boolean): unknown {
  if (typeof v === 'bigint') return intsAsText ? String(v) : asDecoded(v);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) <= 2 ** 53 - 1) return intsAsText ? String(v) : v;
    return new XDouble(v);
  }
  if (v instanceof Date) {
    const text = codec.formatDatetime(v.getTime());
    return p === 'xml' ? new XDateTime(text) : text;
  }
  if (Array.isArray(v)) return v.map((x) => expectedFromAddon(x, p, intsAsText));
  if (v && typeof v === 'object') {
    const forced = (v as Record<symbol, unknown>)[Symbol.for('xapi.double')];
    if (typeof forced === 'number') return new XDouble(forced);
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, expectedFromAddon(x, p, intsAsText)]),
    );
  }
  return v;
}

const SAFE = 2n ** 53n - 1n;
const asDecoded = (n: bigint): number | bigint => (n >= -SAFE && n <= SAFE ? Number(n) : n);

// Addon -> addon: what its own decoder gives back from its own encoding.
function expectedSelf(v: unknown, p: Protocol): unknown {
  if (typeof v === 'bigint') return asDecoded(v);
  if (v instanceof Date) return p === 'xml' ? v : codec.formatDatetime(v.getTime());
  if (Array.isArray(v)) return v.map((x) => expectedSelf(x, p));
  if (v && typeof v === 'object') {
    const forced = (v as Record<symbol, unknown>)[Symbol.for('xapi.double')];
    if (typeof forced === 'number') return forced;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expectedSelf(x, p)]));
  }
  return v;
}

const ALL = [...CASES, CONTROL];

describe('simulator writes, addon reads', () => {
  it.each(ALL.map((c) => [c.name, c] as const))('XML-RPC response: %s', (_n, c) => {
    if (c === CONTROL) return; // the simulator, like xapi, drops them from XML; see the JSON case
    const body = simXml.formatSuccess(c.sim, 'any');
    expect(codec.xmlrpcDecodeResponse(body)).toEqual({
      ok: true,
      value: expectedFromSim(c.sim, 'xml'),
    });
  });

  it.each(ALL.map((c) => [c.name, c] as const))('JSON-RPC response: %s', (_n, c) => {
    for (const version of [1, 2] as const) {
      const body = simJson.formatJsonSuccess(c.sim, 'any', version, 0);
      expect(codec.jsonrpcDecodeResponse(body)).toEqual({
        ok: true,
        value: expectedFromSim(c.sim, 'json'),
      });
    }
  });

  it.each(ALL.map((c) => [c.name, c] as const))('XML-RPC call: %s', (_n, c) => {
    if (c === CONTROL) return;
    const body = simXml.formatMethodCall('VM.set_other_config', ['OpaqueRef:s', c.sim]);
    expect(codec.xmlrpcDecodeCall(body)).toEqual({
      method: 'VM.set_other_config',
      params: ['OpaqueRef:s', expectedFromSim(c.sim, 'xml')],
    });
  });

  it('failures in both protocols and versions', () => {
    const error = ['VM_BAD_POWER_STATE', 'OpaqueRef:v', 'halted', 'running <&>'];
    expect(codec.xmlrpcDecodeResponse(simXml.formatFailure(error))).toEqual({ ok: false, error });
    expect(codec.jsonrpcDecodeResponse(simJson.formatJsonFailure(error, 1, 0))).toEqual({
      ok: false,
      error,
    });
    expect(codec.jsonrpcDecodeResponse(simJson.formatJsonFailure(error, 2, 'x'))).toEqual({
      ok: false,
      error,
    });
  });

  it('system.listMethods without envelope', () => {
    const body = simXml.formatUnwrapped(['VM.start', 'session.logout'], 'string set');
    expect(codec.xmlrpcDecodeResponse(body)).toEqual({
      ok: true,
      value: ['VM.start', 'session.logout'],
    });
  });
});

describe('addon writes, simulator reads', () => {
  it.each(ALL.map((c) => [c.name, c] as const))('XML-RPC call, ints as <i8>: %s', (_n, c) => {
    const body = codec
      .xmlrpcEncodeCall('VM.set_other_config', ['OpaqueRef:s', c.addon], { ints: 'i8' })
      .toString();
    const parsed = simXml.parseMethodCall(body);
    expect(parsed.method).toBe('VM.set_other_config');
    expect(parsed.params).toEqual(['OpaqueRef:s', expectedFromAddon(c.addon, 'xml', false)]);
  });

  it.each(ALL.map((c) => [c.name, c] as const))(
    'XML-RPC call, ints as decimal text (SDK style): %s',
    (_n, c) => {
      const body = codec
        .xmlrpcEncodeCall('VM.set_other_config', ['OpaqueRef:s', c.addon])
        .toString();
      expect(simXml.parseMethodCall(body).params).toEqual([
        'OpaqueRef:s',
        expectedFromAddon(c.addon, 'xml', true),
      ]);
    },
  );

  it.each(ALL.map((c) => [c.name, c] as const))('JSON-RPC call: %s', (_n, c) => {
    for (const version of [1, 2] as const) {
      const body = codec
        .jsonrpcEncodeCall('VM.set_other_config', ['OpaqueRef:s', c.addon], 17, version)
        .toString();
      const parsed = simJson.parseJsonRequest(body);
      expect(parsed.version).toBe(version);
      expect(parsed.method).toBe('VM.set_other_config');
      expect(parsed.id).toBe(17);
      expect(parsed.params).toEqual(['OpaqueRef:s', expectedFromAddon(c.addon, 'json', false)]);
    }
  });

  it.each(ALL.map((c) => [c.name, c] as const))('XML-RPC response: %s', (_n, c) => {
    const body = codec.xmlrpcEncodeResponse({ value: c.addon }, { ints: 'i8' }).toString();
    expect(simXml.parseMethodResponse(body)).toEqual({
      status: 'Success',
      value: expectedFromAddon(c.addon, 'xml', false),
    });
  });

  it('failure responses', () => {
    const error = ['SESSION_INVALID', 'OpaqueRef:s <&>'];
    expect(simXml.parseMethodResponse(codec.xmlrpcEncodeResponse({ error }).toString())).toEqual({
      status: 'Failure',
      error,
    });
  });
});

describe('addon writes, addon reads', () => {
  it.each(ALL.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const xml = codec.xmlrpcDecodeResponse(
      codec.xmlrpcEncodeResponse({ value: c.addon }, { ints: 'i8' }),
    );
    expect(xml).toEqual({ ok: true, value: expectedSelf(c.addon, 'xml') });
    const json = codec.jsonrpcDecodeResponse(codec.jsonrpcEncodeResponse({ value: c.addon }, 1));
    expect(json).toEqual({ ok: true, value: expectedSelf(c.addon, 'json') });
  });
});
