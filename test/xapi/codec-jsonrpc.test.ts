// The addon's JSON-RPC codec through its `codec` exports: v1 and v2 requests and responses, both
// error shapes, exact int64, NaN/Infinity, escapes and surrogate pairs, UTF-8 checks, limits.
import { loadTestingAddon } from './testing-addon';

const { codec } = loadTestingAddon();

const ok = (resultJson: string) => {
  const r = codec.jsonrpcDecodeResponse(`{"jsonrpc":"2.0","result":${resultJson},"id":0}`);
  if (!r.ok) throw new Error(`unexpected failure ${r.error.join(' ')}`);
  return r.value;
};
const decodeError = (body: string | Buffer, opts?: { maxDepth?: number; repairUtf8?: boolean }) => {
  try {
    codec.jsonrpcDecodeResponse(body, opts);
  } catch (e) {
    return e as Error & { code: string; offset: number };
  }
  throw new Error('expected a DECODE_ERROR');
};

describe('jsonrpcDecodeResponse: envelopes', () => {
  it('v2 success and v2 error object', () => {
    expect(codec.jsonrpcDecodeResponse('{"jsonrpc":"2.0","result":"OpaqueRef:a","id":0}')).toEqual({
      ok: true,
      value: 'OpaqueRef:a',
    });
    expect(
      codec.jsonrpcDecodeResponse(
        '{"jsonrpc":"2.0","error":{"code":1,"message":"HANDLE_INVALID","data":["VM","OpaqueRef:x"]},"id":0}',
      ),
    ).toEqual({ ok: false, error: ['HANDLE_INVALID', 'VM', 'OpaqueRef:x'] });
  });

  it('v1 success and v1 error array', () => {
    expect(codec.jsonrpcDecodeResponse('{"result":[1,2],"error":null,"id":3}')).toEqual({
      ok: true,
      value: [1, 2],
    });
    expect(
      codec.jsonrpcDecodeResponse(
        '{"result":null,"error":["SESSION_INVALID","OpaqueRef:s"],"id":3}',
      ),
    ).toEqual({
      ok: false,
      error: ['SESSION_INVALID', 'OpaqueRef:s'],
    });
  });

  it('error oddities: no data, non-string params, a bare string, code without message', () => {
    expect(codec.jsonrpcDecodeResponse('{"error":{"code":1,"message":"X"},"id":0}')).toEqual({
      ok: false,
      error: ['X'],
    });
    expect(
      codec.jsonrpcDecodeResponse('{"error":{"code":1,"message":"X","data":[1,true]},"id":0}'),
    ).toEqual({
      ok: false,
      error: ['X', '1', 'true'],
    });
    expect(codec.jsonrpcDecodeResponse('{"error":"boom","id":0}')).toEqual({
      ok: false,
      error: ['boom'],
    });
    expect(codec.jsonrpcDecodeResponse('{"error":{"code":-32601},"id":0}')).toEqual({
      ok: false,
      error: ['-32601'],
    });
    // Regression (fuzz): an empty v1 error array is still a failure with a code.
    expect(codec.jsonrpcDecodeResponse('{"result":null,"error":[],"id":0}')).toEqual({
      ok: false,
      error: ['Failure'],
    });
  });

  it('a null result (void) and whitespace everywhere', () => {
    expect(
      codec.jsonrpcDecodeResponse(' { "result" : null , "error" : null , "id" : 1 } \n'),
    ).toEqual({
      ok: true,
      value: null,
    });
  });

  it('rejects a response that is not an object or has neither result nor error', () => {
    expect(decodeError('[1]').code).toBe('DECODE_ERROR');
    expect(decodeError('{"id":1}').code).toBe('DECODE_ERROR');
  });
});

describe('jsonrpcDecodeResponse: values', () => {
  it('exact int64: numbers within 2^53, BigInt beyond, extremes both ways', () => {
    expect(ok('9007199254740991')).toBe(9007199254740991);
    expect(ok('-9007199254740991')).toBe(-9007199254740991);
    expect(ok('9007199254740993')).toBe(9007199254740993n);
    expect(ok('9223372036854775807')).toBe(9223372036854775807n);
    expect(ok('-9223372036854775808')).toBe(-9223372036854775808n);
    expect(ok('0')).toBe(0);
    expect(ok('-0')).toBe(0);
  });

  it('numbers beyond int64 and fractions are doubles', () => {
    expect(ok('9223372036854775808')).toBe(9223372036854775808);
    expect(ok('1.5')).toBe(1.5);
    expect(ok('2.0')).toBe(2);
    expect(ok('1e3')).toBe(1000);
    expect(ok('-1.25E-2')).toBe(-0.0125);
    expect(ok('1e400')).toBe(Infinity);
  });

  it('NaN, Infinity and -Infinity as yojson writes them', () => {
    expect(ok('NaN')).toBeNaN();
    expect(ok('Infinity')).toBe(Infinity);
    expect(ok('-Infinity')).toBe(-Infinity);
    expect(ok('[NaN,-Infinity]')).toEqual([NaN, -Infinity]);
  });

  it('literals, empty containers, nesting and member order', () => {
    expect(ok('{"b":true,"a":false,"n":null,"e":[],"o":{},"x":[{"y":[[]]}]}')).toEqual({
      b: true,
      a: false,
      n: null,
      e: [],
      o: {},
      x: [{ y: [[]] }],
    });
    expect(Object.keys(ok('{"z":1,"a":2,"m":3}') as object)).toEqual(['z', 'a', 'm']);
  });

  it('a member named __proto__ is an ordinary key', () => {
    const v = ok('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ polluted: 1 });
    expect((v as { polluted?: number }).polluted).toBeUndefined();
  });

  it('datetimes stay strings (JSON has no datetime type)', () => {
    expect(ok('"20250319T04:16:24Z"')).toBe('20250319T04:16:24Z');
  });
});

describe('jsonrpcDecodeResponse: strings', () => {
  it('escapes, \\u, surrogate pairs and raw UTF-8', () => {
    expect(ok('"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"')).toBe('a"b\\c/d\b\f\n\r\t');
    expect(ok('"\\u00e9\\u6771\\ud83d\\ude00"')).toBe('é東😀');
    expect(ok('"Zürich 東京 😀"')).toBe('Zürich 東京 😀');
    expect(ok('"\\u0000\\u0001"')).toBe('\u0000\u0001');
  });

  it('lone surrogates become U+FFFD, or an error when repair is off', () => {
    expect(ok('"a\\ud800b"')).toBe('a\uFFFDb');
    expect(ok('"\\udc00"')).toBe('\uFFFD');
    expect(ok('"\\ud83d\\u0041"')).toBe('\uFFFDA');
    expect(decodeError('{"result":"\\ud800","id":0}', { repairUtf8: false }).message).toMatch(
      /surrogate/,
    );
  });

  it('invalid UTF-8 becomes U+FFFD, or an error when repair is off', () => {
    const bad = Buffer.concat([
      Buffer.from('{"result":"a'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from('b","id":0}'),
    ]);
    expect(codec.jsonrpcDecodeResponse(bad)).toEqual({ ok: true, value: 'a\uFFFD\uFFFDb' });
    const err = decodeError(bad, { repairUtf8: false });
    expect(err.message).toMatch(/invalid UTF-8/);
    expect(err.offset).toBe(12);
  });

  it('rejects bad escapes', () => {
    for (const s of ['"\\x"', '"\\u12"', '"\\u12g4"', '"abc']) {
      expect(decodeError(`{"result":${s},"id":0}`).code).toBe('DECODE_ERROR');
    }
  });
});

describe('jsonrpcDecodeResponse: malformed input and limits', () => {
  it.each([
    ['empty', ''],
    ['truncated', '{"result":[1,2'],
    ['trailing comma', '{"result":[1,],"id":0}'],
    ['missing colon', '{"result" 1}'],
    ['bare word', '{"result":nope}'],
    ['lone minus', '{"result":-}'],
    ['dot without digits', '{"result":1.}'],
    ['exponent without digits', '{"result":1e}'],
    ['trailing garbage', '{"result":1} x'],
    ['single quotes', "{'result':1}"],
  ])('rejects %s', (_name, body) => {
    const err = decodeError(body);
    expect(err.code).toBe('DECODE_ERROR');
    expect(typeof err.offset).toBe('number');
  });

  it('limits nesting depth', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(ok(nest(100))).toBeDefined();
    expect(decodeError(`{"result":${nest(128)}}`).message).toMatch(/too deep/);
    expect(decodeError(`{"result":${nest(4)}}`, { maxDepth: 4 }).message).toMatch(/too deep/);
    expect(decodeError(`{"result":${nest(200000)}}`).code).toBe('DECODE_ERROR');
  });
});

describe('jsonrpcEncodeCall', () => {
  it('writes v2 and v1 requests', () => {
    expect(
      codec.jsonrpcEncodeCall('session.login_with_password', ['root', 'pw'], 5).toString(),
    ).toBe(
      '{"jsonrpc":"2.0","method":"session.login_with_password","params":["root","pw"],"id":5}',
    );
    expect(codec.jsonrpcEncodeCall('VM.start', ['OpaqueRef:a', false, true], 0, 1).toString()).toBe(
      '{"method":"VM.start","params":["OpaqueRef:a",false,true],"id":0}',
    );
  });

  it('writes exact int64, non-finite doubles, forced doubles, datetimes and escapes', () => {
    const dbl = (n: number) => ({ [Symbol.for('xapi.double')]: n });
    const body = codec
      .jsonrpcEncodeCall('m', [
        9223372036854775807n,
        -9223372036854775808n,
        NaN,
        Infinity,
        -Infinity,
        dbl(3),
        0.1,
        new Date(Date.UTC(2025, 2, 19, 4, 16, 24)),
        null,
        'q"\\\n\u0001é😀',
        { a: [], b: {} },
      ])
      .toString();
    expect(body).toBe(
      '{"jsonrpc":"2.0","method":"m","params":[9223372036854775807,-9223372036854775808,NaN,Infinity,' +
        '-Infinity,3.0,0.1,"20250319T04:16:24Z",null,"q\\"\\\\\\n\\u0001é😀",{"a":[],"b":{}}],"id":0}',
    );
  });

  it('round-trips its own encoding through the decoder (jsonDecode)', () => {
    const params = ['s', 1, 2.5, true, null, [1, 'x'], { a: { b: [] } }, 'é😀\u0000', 2n ** 62n];
    const decoded = codec.jsonDecode(codec.jsonrpcEncodeCall('VM.set_name_label', params, 9)) as {
      params: unknown[];
    };
    expect(decoded.params).toEqual(params);
  });

  it('writes responses the way xapi does, in both versions', () => {
    expect(codec.jsonrpcEncodeResponse({ value: 'OpaqueRef:a' }, 4).toString()).toBe(
      '{"jsonrpc":"2.0","result":"OpaqueRef:a","id":4}',
    );
    expect(
      codec.jsonrpcEncodeResponse({ error: ['HANDLE_INVALID', 'VM', 'x'] }, 4).toString(),
    ).toBe(
      '{"jsonrpc":"2.0","error":{"code":1,"message":"HANDLE_INVALID","data":["VM","x"]},"id":4}',
    );
    expect(codec.jsonrpcEncodeResponse({ error: ['E', 'p'] }, 4, 1).toString()).toBe(
      '{"result":null,"error":["E","p"],"id":4}',
    );
  });
});
