// The addon's XML-RPC codec through its `codec` exports: xapi's envelope, every value type and
// datetime form, entities, CDATA, control characters, UTF-8 checks, limits and malformed input.
import { loadTestingAddon } from './testing-addon';

const { codec } = loadTestingAddon();

const HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
const TAIL = '</param></params></methodResponse>';
const success = (valueXml: string) =>
  `${HEAD}<value><struct><member><name>Status</name><value>Success</value></member>` +
  `<member><name>Value</name>${valueXml}</member></struct></value>${TAIL}`;
const decode = (valueXml: string) => {
  const r = codec.xmlrpcDecodeResponse(success(valueXml));
  if (!r.ok) throw new Error(`unexpected failure ${r.error.join(' ')}`);
  return r.value;
};
// Errors made by the addon come from the main realm, not jest's: compare names, not classes.
const thrownName = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).name;
  }
  return 'nothing thrown';
};
const decodeError = (body: string, opts?: { maxDepth?: number; repairUtf8?: boolean }) => {
  try {
    codec.xmlrpcDecodeResponse(body, opts);
  } catch (e) {
    return e as Error & { code: string; offset: number };
  }
  throw new Error('expected a DECODE_ERROR');
};

describe('xmlrpcDecodeResponse: envelope', () => {
  it('unwraps Status Success / Value', () => {
    expect(codec.xmlrpcDecodeResponse(success('<value>OpaqueRef:abc</value>'))).toEqual({
      ok: true,
      value: 'OpaqueRef:abc',
    });
  });

  it('returns ErrorDescription verbatim on Failure', () => {
    const body =
      `${HEAD}<value><struct><member><name>Status</name><value>Failure</value></member>` +
      '<member><name>ErrorDescription</name><value><array><data><value>HANDLE_INVALID</value>' +
      `<value>VM</value><value>OpaqueRef:x</value></data></array></value></member></struct></value>${TAIL}`;
    expect(codec.xmlrpcDecodeResponse(body)).toEqual({
      ok: false,
      error: ['HANDLE_INVALID', 'VM', 'OpaqueRef:x'],
    });
  });

  it('returns a response without envelope as is (system.listMethods)', () => {
    const body = `${HEAD}<value><array><data><value>VM.start</value><value>VM.get_all_records</value></data></array></value>${TAIL}`;
    expect(codec.xmlrpcDecodeResponse(body)).toEqual({
      ok: true,
      value: ['VM.start', 'VM.get_all_records'],
    });
  });

  it('maps an XML-RPC <fault> to XMLRPC_FAULT', () => {
    const body =
      '<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name>' +
      '<value><int>4</int></value></member><member><name>faultString</name><value><string>Too many</string>' +
      '</value></member></struct></value></fault></methodResponse>';
    expect(codec.xmlrpcDecodeResponse(body)).toEqual({
      ok: false,
      error: ['XMLRPC_FAULT', '4', 'Too many'],
    });
  });

  it('accepts pretty-printed bodies, comments, a BOM and no XML declaration', () => {
    const body =
      '\uFEFF<!-- hi -->\n<methodResponse>\n <params>\n  <param>\n   <value>\n    <struct>\n' +
      '     <member> <name>Status</name> <value><string>Success</string></value> </member>\n' +
      '     <member> <value><i4>7</i4></value> <name>Value</name> </member>\n' +
      '    </struct>\n   </value>\n  </param>\n </params>\n</methodResponse>\n';
    expect(codec.xmlrpcDecodeResponse(body)).toEqual({ ok: true, value: 7 });
  });

  it('accepts a Buffer body', () => {
    expect(codec.xmlrpcDecodeResponse(Buffer.from(success('<value>x</value>')))).toEqual({
      ok: true,
      value: 'x',
    });
  });
});

describe('xmlrpcDecodeResponse: value types', () => {
  it('untyped values are strings, including xapi ints and surrounding spaces', () => {
    expect(decode('<value>4294967296</value>')).toBe('4294967296');
    expect(decode('<value>  a b  </value>')).toBe('  a b  ');
  });

  it('empty forms', () => {
    expect(decode('<value></value>')).toBe('');
    expect(decode('<value/>')).toBe('');
    expect(decode('<value><string/></value>')).toBe('');
    expect(decode('<value><string></string></value>')).toBe('');
    expect(decode('<value><array/></value>')).toEqual([]);
    expect(decode('<value><array><data/></array></value>')).toEqual([]);
    expect(decode('<value><array><data></data></array></value>')).toEqual([]);
    expect(decode('<value><struct/></value>')).toEqual({});
    expect(decode('<value><struct></struct></value>')).toEqual({});
    expect(decode('<value><nil/></value>')).toBeNull();
  });

  it('ints: <i4>, <int>, <i8>, exact int64 extremes as BigInt', () => {
    expect(decode('<value><i4>-5</i4></value>')).toBe(-5);
    expect(decode('<value><int> 42 </int></value>')).toBe(42);
    expect(decode('<value><i8>9007199254740991</i8></value>')).toBe(9007199254740991);
    expect(decode('<value><i8>9007199254740993</i8></value>')).toBe(9007199254740993n);
    expect(decode('<value><i8>9223372036854775807</i8></value>')).toBe(9223372036854775807n);
    expect(decode('<value><i8>-9223372036854775808</i8></value>')).toBe(-9223372036854775808n);
    expect(decodeError(success('<value><i8>9223372036854775808</i8></value>')).code).toBe(
      'DECODE_ERROR',
    );
    expect(decodeError(success('<value><int>12x</int></value>')).code).toBe('DECODE_ERROR');
  });

  it('booleans', () => {
    expect(decode('<value><boolean>1</boolean></value>')).toBe(true);
    expect(decode('<value><boolean>0</boolean></value>')).toBe(false);
    expect(decodeError(success('<value><boolean>2</boolean></value>')).code).toBe('DECODE_ERROR');
  });

  it('doubles, including inf, -inf and nan as xapi prints them', () => {
    expect(decode('<value><double>1</double></value>')).toBe(1);
    expect(decode('<value><double>-0.5</double></value>')).toBe(-0.5);
    expect(decode('<value><double>1.5e300</double></value>')).toBe(1.5e300);
    expect(decode('<value><double>inf</double></value>')).toBe(Infinity);
    expect(decode('<value><double>-inf</double></value>')).toBe(-Infinity);
    expect(decode('<value><double>nan</double></value>')).toBeNaN();
    expect(decode('<value><double>-nan</double></value>')).toBeNaN();
    expect(decode('<value><double>Infinity</double></value>')).toBe(Infinity);
    expect(decodeError(success('<value><double>abc</double></value>')).code).toBe('DECODE_ERROR');
  });

  it('base64', () => {
    expect(decode('<value><base64>aGVs\nbG8=</base64></value>')).toBe('hello');
  });

  it('arrays and structs keep order and nest', () => {
    expect(
      decode(
        '<value><struct><member><name>b</name><value><array><data><value>1</value><value><i4>2</i4></value>' +
          '</data></array></value></member><member><name>a</name><value><struct><member><name>x</name>' +
          '<value><boolean>1</boolean></value></member></struct></value></member></struct></value>',
      ),
    ).toEqual({ b: ['1', 2], a: { x: true } });
  });

  it('a struct member named __proto__ is an ordinary key', () => {
    const v = decode(
      '<value><struct><member><name>__proto__</name><value>x</value></member></struct></value>',
    ) as object;
    expect(Object.getPrototypeOf(v).constructor.name).toBe('Object');
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toBe('x');
  });
});

describe('xmlrpcDecodeResponse: datetimes', () => {
  const at = (text: string) =>
    decode(`<value><dateTime.iso8601>${text}</dateTime.iso8601></value>`);
  const iso = (text: string) => (at(text) as Date).toISOString();

  it.each([
    ['20250319T04:16:24Z', '2025-03-19T04:16:24.000Z'],
    ['20250319T04:16:24', '2025-03-19T04:16:24.000Z'],
    ['20250319T041624', '2025-03-19T04:16:24.000Z'],
    ['20250319T041624Z', '2025-03-19T04:16:24.000Z'],
    ['2025-03-19T04:16:24Z', '2025-03-19T04:16:24.000Z'],
    ['2025-03-19T04:16:24.250Z', '2025-03-19T04:16:24.250Z'],
    ['2025-03-19T06:16:24+02:00', '2025-03-19T04:16:24.000Z'],
    ['20250319T06:16:24+02:00', '2025-03-19T04:16:24.000Z'],
    ['20250318T23:46:24-0430', '2025-03-19T04:16:24.000Z'],
    ['2025-03-19 04:16:24', '2025-03-19T04:16:24.000Z'],
    ['19700101T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['20240229', '2024-02-29T00:00:00.000Z'],
    ['1627478400.', '2021-07-28T13:20:00.000Z'],
    [' 20250319T04:16:24Z ', '2025-03-19T04:16:24.000Z'],
  ])('%s', (text, expected) => {
    expect(iso(text)).toBe(expected);
  });

  it('keeps text that is not a datetime as a string', () => {
    expect(at('not a date')).toBe('not a date');
    expect(at('20250230T00:00:00Z')).toBe('20250230T00:00:00Z');
    expect(at('20250319T24:00:00Z')).toBe('20250319T24:00:00Z');
  });

  it('parseDatetime / formatDatetime', () => {
    expect(codec.parseDatetime('20190113T19:31:47Z')).toBe(Date.UTC(2019, 0, 13, 19, 31, 47));
    expect(codec.parseDatetime('garbage')).toBeNull();
    expect(codec.formatDatetime(Date.UTC(2019, 0, 13, 19, 31, 47, 999))).toBe('20190113T19:31:47Z');
    expect(codec.formatDatetime(-1)).toBe('19691231T23:59:59Z');
  });
});

describe('xmlrpcDecodeResponse: text', () => {
  it('decodes predefined entities and character references', () => {
    expect(decode('<value>&lt;a&gt; &amp; &quot;&apos; &#233;&#xE9;&#x1F600;</value>')).toBe(
      '<a> & "\' éé😀',
    );
  });

  it('decodes entities in member names and <string>', () => {
    expect(
      decode(
        '<value><struct><member><name>a&amp;b</name><value><string>&lt;</string></value></member></struct></value>',
      ),
    ).toEqual({ 'a&b': '<' });
  });

  it('reads CDATA sections and skips comments inside text', () => {
    expect(decode('<value>a<![CDATA[<b> & ]]>c</value>')).toBe('a<b> & c');
    expect(decode('<value><string>x<!-- no -->y</string></value>')).toBe('xy');
  });

  it('keeps raw control characters, CR and references to them', () => {
    expect(decode('<value>a\tb\nc\rd\u0001e&#1;&#13;</value>')).toBe('a\tb\nc\rd\u0001e\u0001\r');
  });

  it('passes multi-byte UTF-8 through', () => {
    expect(decode('<value>Zürich 東京 😀</value>')).toBe('Zürich 東京 😀');
  });

  it('repairs invalid UTF-8 with U+FFFD by default, rejects it when asked', () => {
    const bad = Buffer.concat([
      Buffer.from(`${HEAD}<value>a`),
      Buffer.from([0xff, 0xc3]),
      Buffer.from(`b</value>${TAIL}`),
    ]);
    expect(codec.xmlrpcDecodeResponse(bad)).toEqual({ ok: true, value: 'a\uFFFD\uFFFDb' });
    const err = decodeError(bad as unknown as string, { repairUtf8: false });
    expect(err.code).toBe('DECODE_ERROR');
    expect(err.message).toMatch(/invalid UTF-8/);
  });

  it('rejects unknown entities, bad references and surrogate references', () => {
    for (const t of ['&nbsp;', '&#xD800;', '&#x110000;', '&#;', '&amp', '&#12a;']) {
      expect(decodeError(success(`<value>${t}</value>`)).code).toBe('DECODE_ERROR');
    }
  });
});

describe('xmlrpcDecodeResponse: malformed input and limits', () => {
  it.each([
    ['empty', ''],
    ['not xml', 'hello'],
    ['truncated', success('<value>abc</value>').slice(0, 60)],
    ['mismatched close', `${HEAD}<value><array><data></struct></value>${TAIL}`],
    ['unknown type', success('<value><float>1</float></value>')],
    ['text beside a typed value', success('<value>x<i4>1</i4></value>')],
    ['two typed values', success('<value><i4>1</i4><i4>2</i4></value>')],
    ['attributes', success('<value type="x">a</value>')],
    ['trailing garbage', success('<value>a</value>') + 'junk'],
    ['doctype', '<!DOCTYPE x [<!ENTITY a "b">]>' + success('<value>&a;</value>')],
    [
      'member without name',
      success('<value><struct><member><value>a</value></member></struct></value>'),
    ],
    ['unterminated CDATA', success('<value><![CDATA[abc</value>')],
  ])('rejects %s with DECODE_ERROR and an offset', (_name, body) => {
    const err = decodeError(body);
    expect(err.code).toBe('DECODE_ERROR');
    expect(typeof err.offset).toBe('number');
  });

  it('limits nesting depth', () => {
    const nest = (n: number) =>
      '<value><array><data>'.repeat(n) + '<value>x</value>' + '</data></array></value>'.repeat(n);
    expect(decode(nest(100))).toBeDefined();
    expect(decodeError(success(nest(129))).message).toMatch(/too deep/);
    expect(decodeError(success(nest(5)), { maxDepth: 4 }).message).toMatch(/too deep/);
    // Far deeper than any stack would allow if it recursed unchecked.
    expect(decodeError(success(nest(100000))).code).toBe('DECODE_ERROR');
  });
});

describe('xmlrpcEncodeCall', () => {
  it('writes xapi-style calls: bare strings, ints as decimal strings, typed scalars', () => {
    const body = codec
      .xmlrpcEncodeCall('VM.start', [
        'OpaqueRef:a',
        false,
        true,
        42,
        -1.5,
        new Date(Date.UTC(2025, 2, 19, 4, 16, 24)),
        null,
      ])
      .toString();
    expect(body).toBe(
      '<?xml version="1.0"?><methodCall><methodName>VM.start</methodName><params>' +
        '<param><value>OpaqueRef:a</value></param><param><value><boolean>0</boolean></value></param>' +
        '<param><value><boolean>1</boolean></value></param><param><value>42</value></param>' +
        '<param><value><double>-1.5</double></value></param>' +
        '<param><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></param>' +
        '<param><value><nil/></value></param></params></methodCall>',
    );
  });

  it('writes <i8> when asked, and exact int64 from BigInt', () => {
    const body = codec
      .xmlrpcEncodeCall('m', [9223372036854775807n, -9223372036854775808n, 7], { ints: 'i8' })
      .toString();
    expect(body).toContain('<value><i8>9223372036854775807</i8></value>');
    expect(body).toContain('<value><i8>-9223372036854775808</i8></value>');
    expect(body).toContain('<value><i8>7</i8></value>');
  });

  it('writes non-finite and integral-but-forced doubles', () => {
    const dbl = (n: number) => ({ [Symbol.for('xapi.double')]: n });
    const body = codec
      .xmlrpcEncodeCall('m', [NaN, Infinity, -Infinity, dbl(2), 2 ** 60])
      .toString();
    expect(body).toContain('<double>nan</double>');
    expect(body).toContain('<double>inf</double>');
    expect(body).toContain('<double>-inf</double>');
    expect(body).toContain('<double>2.0</double>');
    expect(body).toContain('<double>1152921504606846976.0</double>');
  });

  it('forces ints from a number, bigint or decimal string', () => {
    const int = (n: unknown) => ({ [Symbol.for('xapi.int')]: n });
    const body = codec
      .xmlrpcEncodeCall('m', [int('123'), int(5n), int(6)], { ints: 'i8' })
      .toString();
    expect(body).toContain(
      '<i8>123</i8></value></param><param><value><i8>5</i8></value></param><param><value><i8>6</i8>',
    );
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [int('12x')]))).toBe('RangeError');
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [int(1.5)]))).toBe('RangeError');
  });

  it('escapes markup and writes control characters as references', () => {
    const body = codec.xmlrpcEncodeCall('m', [{ 'k<&>': 'a<b>&c\r\u0001\t\n' }]).toString();
    expect(body).toContain(
      '<member><name>k&lt;&amp;&gt;</name><value>a&lt;b&gt;&amp;c&#13;&#1;\t\n</value></member>',
    );
  });

  it('skips undefined members, writes empty containers', () => {
    const body = codec.xmlrpcEncodeCall('m', [{ a: undefined, b: [] }, {}]).toString();
    expect(body).toContain(
      '<value><struct><member><name>b</name><value><array><data></data></array></value></member></struct></value>',
    );
    expect(body).toContain('<value><struct></struct></value>');
  });

  it('rejects values XAPI cannot carry', () => {
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [() => 1]))).toBe('TypeError');
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [Symbol('s')]))).toBe('TypeError');
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [Buffer.from('x')]))).toBe('TypeError');
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [2n ** 64n]))).toBe('RangeError');
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [new Date(NaN)]))).toBe('RangeError');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(thrownName(() => codec.xmlrpcEncodeCall('m', [cyclic]))).toBe('RangeError');
    expect(thrownName(() => codec.xmlrpcEncodeCall(1 as unknown as string, []))).toBe('TypeError');
  });

  it('decodes its own calls back (xmlrpcDecodeCall)', () => {
    const params = ['s', 1, 2.5, true, [1, 'x'], { a: { b: [] } }, 'é😀'];
    const decoded = codec.xmlrpcDecodeCall(
      codec.xmlrpcEncodeCall('VM.set_name_label', params, { ints: 'i8' }),
    );
    expect(decoded).toEqual({ method: 'VM.set_name_label', params });
  });
});
