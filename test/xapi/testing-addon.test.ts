// The addon's two modules: the product module (xapi.node) carries only the client; the test- and
// benchmark-only entry points live in xapi_testing.node, whose decodeIntoMirror loads a
// get_all_records body into a scratch mirror with the client's own datamodel tables.
import { loadAddon } from '../../src/xapi/addon';
import { datamodelTables } from '../../src/xapi/client';
import { loadTestingAddon } from './testing-addon';

test('the product module exports the client and no test entry point', () => {
  const addon = loadAddon() as unknown as Record<string, { prototype: object }>;
  expect(Object.keys(addon)).toEqual(['NativeClient']);
  const methods = Object.getOwnPropertyNames(addon.NativeClient.prototype);
  expect(methods).toContain('mirrorQuery');
  expect(methods).not.toContain('decodeIntoMirror');
});

test('the testing module carries the codec exports and decodeIntoMirror', () => {
  const testing = loadTestingAddon();
  expect(Object.keys(testing).sort()).toEqual(['codec', 'decodeIntoMirror']);
  expect(typeof testing.codec.xmlrpcDecodeResponse).toBe('function');
  expect(typeof testing.codec.decodeNative).toBe('function');
});

describe('decodeIntoMirror', () => {
  const { codec, decodeIntoMirror } = loadTestingAddon();
  const { schema } = datamodelTables();
  const records: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < 3; i++)
    records[`OpaqueRef:vm-${i}`] = {
      uuid: `uuid-${i}`,
      name_label: `vm ${i}`,
      memory_static_max: '1024',
    };

  test.each([
    ['xml-rpc', () => codec.xmlrpcEncodeResponse({ value: records })],
    ['json-rpc', () => codec.jsonrpcEncodeResponse({ value: records }, 1)],
  ] as const)('loads every record of a %s get_all_records body', (protocol, body) => {
    const r = decodeIntoMirror(schema, 'VM', protocol, body());
    expect(r.rows).toBe(3);
    expect(r.rowBytes).toBeGreaterThan(0);
    expect(r.totalMs).toBeGreaterThanOrEqual(r.decodeMs);
  });

  test('refuses an unknown class and an undecodable body', () => {
    const body = codec.xmlrpcEncodeResponse({ value: records });
    expect(() => decodeIntoMirror(schema, 'no_such_class', 'xml-rpc', body)).toThrow(
      'unknown class',
    );
    expect(() =>
      decodeIntoMirror(schema, 'VM', 'xml-rpc', Buffer.from('<methodResponse>')),
    ).toThrow(/XML-RPC/);
  });
});
