// The simulator's own XML-RPC and JSON-RPC codecs: xapi's response encodings per datamodel type,
// escaping, the lenient request parser, exact integers and the self-describing test encoding.
import {
  XDateTime,
  XDouble,
  XInt,
  XInt32,
  escapeXml,
  formatFailure,
  formatMethodCall,
  formatSuccess,
  formatTyped,
  formatUnwrapped,
  formatValue,
  parseMethodCall,
  parseMethodResponse,
  parseValueXml,
  XmlRpcParseError,
} from '../../../src/simulator/wire/xmlrpc';
import {
  JsonRpcParseError,
  formatJsonFailure,
  formatJsonRequest,
  formatJsonSuccess,
  formatJsonTyped,
  formatJsonValue,
  parseJson,
  parseJsonRequest,
} from '../../../src/simulator/wire/jsonrpc';

describe('XML-RPC writer (xapi non-strict serializer)', () => {
  it('writes strings, refs and enums as bare values with entities escaped', () => {
    expect(formatValue('a<b>&"c', 'string')).toBe('<value>a&lt;b&gt;&amp;&quot;c</value>');
    expect(formatValue('OpaqueRef:NULL', 'VM ref')).toBe('<value>OpaqueRef:NULL</value>');
    expect(formatValue('Running', 'enum vm_power_state')).toBe('<value>Running</value>');
  });
  it('drops control characters other than TAB, LF and CR, keeps UTF-8', () => {
    expect(escapeXml('a\u0001b\tc\nd\re\u001f')).toBe('ab\tc\nd\re');
    expect(formatValue('café ☕', 'string')).toBe('<value>café ☕</value>');
  });
  it('writes int64 as an untyped decimal, floats as %.16g doubles, bools as 1/0', () => {
    expect(formatValue(9007199254740993n, 'int')).toBe('<value>9007199254740993</value>');
    expect(formatValue(42, 'int')).toBe('<value>42</value>');
    expect(formatValue(1, 'float')).toBe('<value><double>1</double></value>');
    expect(formatValue(0.1, 'float')).toBe('<value><double>0.1</double></value>');
    expect(formatValue(1 / 3, 'float')).toBe('<value><double>0.3333333333333333</double></value>');
    expect(formatValue(true, 'bool')).toBe('<value><boolean>1</boolean></value>');
    expect(formatValue(false, 'bool')).toBe('<value><boolean>0</boolean></value>');
  });
  it('writes datetimes, void, sets and maps as xapi does', () => {
    expect(formatValue('20250319T04:16:24Z', 'datetime')).toBe(
      '<value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value>',
    );
    expect(formatValue(undefined, 'void')).toBe('<value></value>');
    expect(formatValue([], 'string set')).toBe('<value><array><data></data></array></value>');
    expect(formatValue(['a', 'b'], 'string set')).toBe(
      '<value><array><data><value>a</value><value>b</value></data></array></value>',
    );
    expect(formatValue({ 'k<': 'v' }, '(string -> string) map')).toBe(
      '<value><struct><member><name>k&lt;</name><value>v</value></member></struct></value>',
    );
    expect(formatValue({}, '(string -> string) map')).toBe('<value><struct></struct></value>');
  });
  it('writes records field by field in datamodel order, defaults for missing fields', () => {
    const x = formatValue({ uuid: 'u1', name_label: 'n' }, 'network record');
    expect(
      x.startsWith(
        '<value><struct><member><name>uuid</name><value>u1</value></member><member><name>name_label</name><value>n</value></member>',
      ),
    ).toBe(true);
    expect(x).toContain('<member><name>MTU</name><value>1500</value></member>');
  });
  it('wraps results in Status/Value and failures in ErrorDescription on one line', () => {
    expect(formatSuccess('x', 'string')).toBe(
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>x</value></member></struct></value></param></params></methodResponse>',
    );
    expect(formatFailure(['HANDLE_INVALID', 'VM', 'OpaqueRef:x'])).toBe(
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data><value>HANDLE_INVALID</value><value>VM</value><value>OpaqueRef:x</value></data></array></value></member></struct></value></param></params></methodResponse>',
    );
    expect(formatUnwrapped(['a'], 'string set')).toBe(
      '<?xml version="1.0"?><methodResponse><params><param><value><array><data><value>a</value></data></array></value></param></params></methodResponse>',
    );
  });
  it('encodes self-describing values for tests', () => {
    expect(formatTyped(new XInt(5n))).toBe('<value>5</value>');
    expect(formatTyped(new XDouble(2))).toBe('<value><double>2</double></value>');
    expect(formatTyped(new XDateTime('20200101T00:00:00Z'))).toBe(
      '<value><dateTime.iso8601>20200101T00:00:00Z</dateTime.iso8601></value>',
    );
    expect(formatTyped(new XInt32(7))).toBe('<value><i4>7</i4></value>');
    expect(formatTyped(null)).toBe('<value><nil/></value>');
    expect(formatTyped({ a: [1, 'b', true] })).toBe(
      '<value><struct><member><name>a</name><value><array><data><value>1</value><value>b</value><value><boolean>1</boolean></value></data></array></value></member></struct></value>',
    );
  });
});

describe('XML-RPC parser (lenient, as xapi)', () => {
  const call = (params: string): string =>
    `<?xml version="1.0"?><methodCall><methodName>m.x</methodName><params>${params}</params></methodCall>`;
  it('reads every value type, typed and untyped', () => {
    const p = parseMethodCall(
      call(
        '<param><value>bare</value></param><param><value><string>s</string></value></param>' +
          '<param><value><int>1</int></value></param><param><value><i4>-2</i4></value></param>' +
          '<param><value><i8>9223372036854775807</i8></value></param>' +
          '<param><value><boolean>1</boolean></value></param><param><value><double>1.5</double></value></param>' +
          '<param><value><dateTime.iso8601>2024-04-20T12:00:00Z</dateTime.iso8601></value></param>' +
          '<param><value><base64>aGk=</base64></value></param><param><value><nil/></value></param>',
      ),
    );
    expect(p.method).toBe('m.x');
    expect(p.params.slice(0, 6)).toEqual(['bare', 's', 1, -2, 9223372036854775807n, true]);
    expect(p.params[6]).toEqual(new XDouble(1.5));
    expect(p.params[7]).toEqual(new XDateTime('2024-04-20T12:00:00Z'));
    expect(Buffer.isBuffer(p.params[8]) && p.params[8].toString()).toBe('hi');
    expect(p.params[9]).toBeNull();
  });
  it('accepts empty elements and whitespace between tags', () => {
    const p = parseMethodCall(
      call(
        '\n <param><value/></param><param><value><string/></value></param><param><value><array/></value></param>' +
          '<param><value><struct/></value></param><param><value><array><data/></array></value></param>' +
          '<param>\n<value>\n<struct>\n<member><name>a</name><value><array><data><value>x</value></data></array></value></member></struct></value></param>',
      ),
    );
    expect(p.params).toEqual(['', '', [], {}, [], { a: ['x'] }]);
  });
  it('decodes entities and character references', () => {
    expect(parseValueXml('<value>a&lt;b&amp;&#65;&#x42;&quot;&apos;</value>')).toBe('a<b&AB"\'');
  });
  it('accepts <params/> and rejects a call without <params>', () => {
    expect(
      parseMethodCall('<methodCall><methodName>a.b</methodName><params/></methodCall>').params,
    ).toEqual([]);
    expect(() => parseMethodCall('<methodCall><methodName>a.b</methodName></methodCall>')).toThrow(
      XmlRpcParseError,
    );
  });
  it('rejects malformed values', () => {
    expect(() => parseMethodCall(call('<param><value><int>x</int></value></param>'))).toThrow(
      XmlRpcParseError,
    );
    expect(() =>
      parseMethodCall(call('<param><value><boolean>2</boolean></value></param>')),
    ).toThrow(XmlRpcParseError);
    expect(() => parseMethodCall(call('<param><value><foo>1</foo></value></param>'))).toThrow(
      XmlRpcParseError,
    );
    expect(() => parseMethodCall('not xml')).toThrow(XmlRpcParseError);
  });
  it('round-trips a method call and responses', () => {
    const body = formatMethodCall('VM.get_record', [
      'OpaqueRef:1',
      5,
      1.5,
      true,
      ['x'],
      { k: 'v' },
    ]);
    // ints go out untyped, as xapi writes them, so they read back as decimal strings
    expect(parseMethodCall(body).params).toEqual([
      'OpaqueRef:1',
      '5',
      new XDouble(1.5),
      true,
      ['x'],
      { k: 'v' },
    ]);
    expect(parseMethodResponse(formatSuccess(['a'], 'string set'))).toEqual({
      status: 'Success',
      value: ['a'],
    });
    expect(parseMethodResponse(formatFailure(['X', 'p']))).toEqual({
      status: 'Failure',
      error: ['X', 'p'],
    });
    expect(parseMethodResponse(formatUnwrapped(['a'], 'string set'))).toEqual({
      status: undefined,
      value: ['a'],
    });
  });
});

describe('JSON-RPC codec', () => {
  it('writes ints as exact integer literals and floats with a fraction part', () => {
    expect(formatJsonValue(9007199254740993n, 'int')).toBe('9007199254740993');
    expect(formatJsonValue(12, 'int')).toBe('12');
    expect(formatJsonValue(1, 'float')).toBe('1.0');
    expect(formatJsonValue(0.25, 'float')).toBe('0.25');
    expect(formatJsonValue(Infinity, 'float')).toBe('Infinity');
    expect(formatJsonValue(undefined, 'void')).toBe('""');
    expect(formatJsonValue('20250319T04:16:24Z', 'datetime')).toBe('"20250319T04:16:24Z"');
    expect(formatJsonValue({ a: 1 }, '(string -> int) map')).toBe('{"a":1}');
    expect(formatJsonValue(['x'], 'VM ref set')).toBe('["x"]');
  });
  it('writes v1 and v2 envelopes', () => {
    expect(formatJsonSuccess('r', 'string', 2, 7)).toBe('{"jsonrpc":"2.0","result":"r","id":7}');
    expect(formatJsonSuccess('r', 'string', 1, 'a')).toBe('{"result":"r","error":null,"id":"a"}');
    expect(formatJsonFailure(['HANDLE_INVALID', 'VM', 'x'], 2, 0)).toBe(
      '{"jsonrpc":"2.0","error":{"code":1,"message":"HANDLE_INVALID","data":["VM","x"]},"id":0}',
    );
    expect(formatJsonFailure(['HANDLE_INVALID', 'VM', 'x'], 1, 0)).toBe(
      '{"result":null,"error":["HANDLE_INVALID","VM","x"],"id":0}',
    );
  });
  it('parses integers exactly and marks fractional numbers as doubles', () => {
    expect(
      parseJson('[1, 9223372036854775807, 1.0, 2e3, -0.5, "a\\"b", null, true, {"k": []}]'),
    ).toEqual([
      1,
      9223372036854775807n,
      new XDouble(1),
      new XDouble(2000),
      new XDouble(-0.5),
      'a"b',
      null,
      true,
      { k: [] },
    ]);
    expect(() => parseJson('[1,]')).toThrow(JsonRpcParseError);
    expect(() => parseJson('{"a":1} x')).toThrow(JsonRpcParseError);
  });
  it('reads requests: v1 needs params, v2 params may be absent or an object; id required', () => {
    expect(parseJsonRequest('{"method":"a.b","params":[1],"id":3}')).toEqual({
      version: 1,
      method: 'a.b',
      params: [1],
      id: 3,
    });
    expect(parseJsonRequest('{"jsonrpc":"2.0","method":"a.b","id":"x"}').params).toEqual([]);
    expect(
      parseJsonRequest('{"jsonrpc":"2.0","method":"a.b","params":null,"id":1}').params,
    ).toEqual([]);
    expect(
      parseJsonRequest('{"jsonrpc":"2.0","method":"a.b","params":{"k":1},"id":1}').params,
    ).toEqual([{ k: 1 }]);
    expect(() => parseJsonRequest('{"method":"a.b","id":1}')).toThrow(JsonRpcParseError);
    expect(() => parseJsonRequest('{"jsonrpc":"2.0","method":"a.b","params":[]}')).toThrow(
      JsonRpcParseError,
    );
    expect(() =>
      parseJsonRequest('{"jsonrpc":"2.0","method":"a.b","params":[],"id":null}'),
    ).toThrow(JsonRpcParseError);
    expect(() => parseJsonRequest('{"jsonrpc":"1.5","method":"a.b","params":[],"id":1}')).toThrow(
      JsonRpcParseError,
    );
    expect(() => parseJsonRequest('[]')).toThrow(JsonRpcParseError);
  });
  it('formats self-describing requests', () => {
    expect(formatJsonRequest('a.b', [new XInt(1n), new XDouble(2), 'x'], 2, 0)).toBe(
      '{"jsonrpc":"2.0","method":"a.b","params":[1,2.0,"x"],"id":0}',
    );
    expect(formatJsonTyped({ d: new XDateTime('20200101T00:00:00Z') })).toBe(
      '{"d":"20200101T00:00:00Z"}',
    );
  });
});
