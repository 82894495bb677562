// The bulk decode of large get_all_records answers (addon/src/xapi/bulk_decode.h), through the
// test module's codec.decodeBulk: decoded in pieces (with or without a helper thread) it gives
// exactly what the plain decoder gives, and any doubtful cut falls back to the whole-body decode.
import { loadTestingAddon } from './testing-addon';

const { codec } = loadTestingAddon();

type Protocol = 'xml-rpc' | 'json-rpc';

// `count` VM-like records keyed by ref, about 1.2 kB each in XML, plus `extra` fields on the first.
function records(count: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    out[`OpaqueRef:${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`] = {
      uuid: `${String(i).padStart(8, '0')}-1111-4000-8000-000000000000`,
      name_label: `vm ${i} </name><value><struct> & "quotes" },"OpaqueRef:x":{`,
      power_state: i % 3 ? 'Halted' : 'Running',
      memory_static_max: String(1024 * 1024 * (i + 1)),
      VCPUs_max: String((i % 8) + 1),
      is_a_template: i % 2 === 0,
      allowed_operations: ['start', 'clone', 'copy', 'export'],
      other_config: { xcd_namespace: `ns-${i % 5}`, note: 'é ü ✓' },
      VBDs: [`OpaqueRef:vbd-${i}-a`, `OpaqueRef:vbd-${i}-b`],
      ...(i === 0 ? extra : {}),
    };
  }
  return out;
}

function body(protocol: Protocol, value: unknown): Buffer {
  return protocol === 'xml-rpc'
    ? codec.xmlrpcEncodeResponse({ value })
    : codec.jsonrpcEncodeResponse({ value }, 7);
}

function plain(protocol: Protocol, b: Buffer) {
  return protocol === 'xml-rpc' ? codec.xmlrpcDecodeResponse(b) : codec.jsonrpcDecodeResponse(b);
}

// An array nested `n` deep around 'x'.
function nest(n: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

describe.each(['xml-rpc', 'json-rpc'] as const)('bulk decode over %s', (protocol) => {
  // JSON is about 2.5 times as compact: as many more records give bodies of like size.
  const n = (xmlCount: number) => Math.round(xmlCount * (protocol === 'json-rpc' ? 2.5 : 1));
  const big = body(protocol, records(n(4000)));

  test('a large answer decodes in pieces, equal to the plain decode', () => {
    expect(big.length).toBeGreaterThan(3 << 20);
    const { pieces, ...response } = codec.decodeBulk(protocol, big, 'helper');
    expect(pieces).toBeGreaterThan(1);
    expect(response).toEqual(plain(protocol, big));
  });

  test('alone, or automatically, it is the same answer', () => {
    const want = plain(protocol, big);
    const { pieces, ...alone } = codec.decodeBulk(protocol, big, 'alone');
    expect(pieces).toBe(0);
    expect(alone).toEqual(want);
    const auto = codec.decodeBulk(protocol, big);
    expect({ ok: auto.ok, value: auto.ok ? auto.value : undefined }).toEqual(want);
  });

  test('a small answer is decoded whole', () => {
    const small = body(protocol, records(50));
    const { pieces, ...response } = codec.decodeBulk(protocol, small, 'helper');
    expect(pieces).toBe(0);
    expect(response).toEqual(plain(protocol, small));
  });

  test('a cut that lands inside a record falls back to the whole-body decode', () => {
    // One record holds a map of ref-keyed structs large enough that the first cut falls in it.
    const nested: Record<string, unknown> = {};
    for (let i = 0; i < n(30000); i++) nested[`OpaqueRef:nested-${i}`] = { k: String(i) };
    const b = body(protocol, records(200, { nested }));
    expect(b.length).toBeGreaterThan(2 << 20);
    const { pieces, ...response } = codec.decodeBulk(protocol, b, 'helper');
    expect(pieces).toBe(0);
    expect(response).toEqual(plain(protocol, b));
  });

  test('the nesting limit counts as in the whole document', () => {
    // Document, records map, record: 3 levels, so 125 nested arrays reach the limit of 128.
    const atLimit = body(protocol, records(n(3000), { deep: nest(125) }));
    const { pieces, ...response } = codec.decodeBulk(protocol, atLimit, 'helper');
    expect(pieces).toBeGreaterThan(1);
    expect(response).toEqual(plain(protocol, atLimit));
    const beyond = body(protocol, records(n(3000), { deep: nest(126) }));
    expect(() => plain(protocol, beyond)).toThrow(
      expect.objectContaining({ code: 'DECODE_ERROR' }),
    );
    expect(() => codec.decodeBulk(protocol, beyond, 'helper')).toThrow(
      expect.objectContaining({ code: 'DECODE_ERROR' }),
    );
  });

  test('a truncated answer is refused as the plain decoder refuses it', () => {
    const cut = big.subarray(0, big.length - 40);
    expect(() => plain(protocol, cut)).toThrow(expect.objectContaining({ code: 'DECODE_ERROR' }));
    expect(() => codec.decodeBulk(protocol, cut, 'helper')).toThrow(
      expect.objectContaining({ code: 'DECODE_ERROR' }),
    );
  });
});

test('a JSON-RPC answer with an error beside its result is the plain decode', () => {
  const text = big().replace(
    /,"id":7}$/,
    ',"error":{"code":1,"message":"SESSION_INVALID"},"id":7}',
  );
  const b = Buffer.from(text);
  const { pieces, ...response } = codec.decodeBulk('json-rpc', b, 'helper');
  expect(pieces).toBe(0);
  expect(response).toEqual(plain('json-rpc', b));
  expect(response.ok).toBe(false);

  function big(): string {
    return body('json-rpc', records(10000)).toString();
  }
});
