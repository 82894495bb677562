// The simulator's HTTP wire as xapi serves it: routing by path, envelopes and content types,
// CORS, HTTP 500 for malformed requests and a missing Content-Length, system.listMethods,
// lenient request typing, the Unix socket and the TLS listener.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import {
  XDateTime,
  XDouble,
  XInt32,
  defineMessage,
  startSimulator,
  type SimulatorHandle,
} from '../../../src/simulator';
import { json, jsonErr, jsonOk, login, raw, xml, xmlErr, xmlOk } from '../rpc';

let sim: SimulatorHandle;
let sid: string;
const socketPath = path.join(os.tmpdir(), `xcd-sim-wire-${process.pid}.sock`);

beforeAll(async () => {
  defineMessage('simtest.echo_types', (_ctx, args) => args, [
    [
      ['i', 'int', true],
      ['f', 'float', true],
      ['d', 'datetime', true],
      ['b', 'bool', true],
      ['m', '(string -> int) map', false],
    ],
    'any',
    false,
    true,
  ]);
  sim = await startSimulator({ authFailureDelayMs: 10, socket: socketPath });
  sid = await login(sim.url);
});
afterAll(() => sim.close());

describe('routing', () => {
  it.each(['/', '/RPC2', '/xmlrpc', '/anything/else'])('answers XML-RPC on POST %s', async (p) => {
    const r = await xml(sim.url, 'session.get_uuid', [sid, sid], p);
    expect(r.status).toBe('Success');
  });
  it('answers JSON-RPC on POST /jsonrpc with application/json', async () => {
    const r = await raw(sim.url, {
      path: '/jsonrpc',
      body: JSON.stringify({ jsonrpc: '2.0', method: 'pool.get_all', params: [sid], id: 1 }),
    });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(JSON.parse(r.body).result).toHaveLength(1);
  });
  it('sends text/xml and the CORS header on XML-RPC', async () => {
    const r = await raw(sim.url, {
      body:
        '<methodCall><methodName>pool.get_all</methodName><params><param><value>' +
        sid +
        '</value></param></params></methodCall>',
    });
    expect(r.headers['content-type']).toBe('text/xml');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(
      r.body.startsWith(
        '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value>',
      ),
    ).toBe(true);
  });
  it('answers CORS preflight', async () => {
    const r = await raw(sim.url, { method: 'OPTIONS', path: '/jsonrpc' });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('malformed requests get HTTP 500', () => {
  it('without Content-Length (chunked body)', async () => {
    const r = await raw(sim.url, {
      body: '<methodCall><methodName>pool.get_all</methodName><params/></methodCall>',
      chunked: true,
    });
    expect(r.status).toBe(500);
    expect(r.body).toContain('content-length');
  });
  it('XML-RPC call without <params>', async () => {
    const r = await raw(sim.url, {
      body: '<methodCall><methodName>pool.get_all</methodName></methodCall>',
    });
    expect(r.status).toBe(500);
    expect(r.headers['content-type']).toBe('text/html');
  });
  it.each([
    ['v1 without params', '{"method":"pool.get_all","id":1}'],
    ['without id', '{"jsonrpc":"2.0","method":"pool.get_all","params":[]}'],
    ['bad version', '{"jsonrpc":"3.0","method":"pool.get_all","params":[],"id":1}'],
    ['not JSON', 'pool.get_all'],
  ])('JSON-RPC %s', async (_n, body) => {
    const r = await raw(sim.url, { path: '/jsonrpc', body });
    expect(r.status).toBe(500);
  });
});

describe('envelopes', () => {
  it('JSON-RPC v1 success and error shapes', async () => {
    const ok = await json(sim.url, 'pool.get_all', [sid], 1, 'a');
    expect(ok.body.error).toBeNull();
    expect(ok.body.id).toBe('a');
    expect(ok.body.result).toHaveLength(1);
    const bad = await json(sim.url, 'VM.get_record', [sid, 'OpaqueRef:nope'], 1, 9);
    expect(bad.body).toEqual({
      result: null,
      error: ['HANDLE_INVALID', 'VM', 'OpaqueRef:nope'],
      id: 9,
    });
  });
  it('JSON-RPC v2 error object with code 1', async () => {
    const bad = await json(sim.url, 'VM.get_record', [sid, 'OpaqueRef:nope'], 2, 4);
    expect(bad.body).toEqual({
      jsonrpc: '2.0',
      error: { code: 1, message: 'HANDLE_INVALID', data: ['VM', 'OpaqueRef:nope'] },
      id: 4,
    });
  });
  it('XML-RPC failure with ErrorDescription', async () => {
    expect(await xmlErr(sim.url, 'VM.get_record', [sid, 'OpaqueRef:nope'])).toEqual([
      'HANDLE_INVALID',
      'VM',
      'OpaqueRef:nope',
    ]);
  });
  it('system.listMethods is unwrapped over XML-RPC and lists sync names', async () => {
    const r = await xml(sim.url, 'system.listMethods');
    expect(r.status).toBeUndefined();
    const names = (r as { value: string[] }).value;
    expect(names).toContain('VM.get_all_records');
    expect(names).toContain('session.login_with_password');
    expect(names.some((n) => n.startsWith('Async.'))).toBe(false);
    expect(await jsonOk(sim.url, 'system.listMethods')).toEqual(names);
  });
});

describe('type-directed encoding of results', () => {
  it('int64 fields are untyped decimals in XML-RPC and integers in JSON-RPC', async () => {
    const [host] = (await jsonOk(sim.url, 'host.get_all', [sid])) as string[];
    const metrics = (await jsonOk(sim.url, 'host.get_metrics', [sid, host])) as string;
    const j = await json(sim.url, 'host_metrics.get_memory_total', [sid, metrics]);
    expect(j.text).toMatch(/"result":\d+,/);
    const x = await raw(sim.url, {
      body: `<methodCall><methodName>host_metrics.get_memory_total</methodName><params><param><value>${sid}</value></param><param><value>${metrics}</value></param></params></methodCall>`,
    });
    expect(x.body).toMatch(/<name>Value<\/name><value>\d+<\/value>/);
  });
  it('datetimes go out as compact iso8601 and bools as <boolean>', async () => {
    const rec = (await xmlOk(sim.url, 'session.get_record', [sid, sid])) as Record<string, unknown>;
    expect(rec.last_active).toBeInstanceOf(XDateTime);
    expect((rec.last_active as XDateTime).text).toMatch(/^\d{8}T\d\d:\d\d:\d\dZ$/);
    expect(rec.is_local_superuser).toBe(true);
  });
});

describe('lenient request typing', () => {
  const echo = (params: unknown[]) => xml(sim.url, 'simtest.echo_types', [sid, ...params]);
  it('accepts ints as <int>, <i4>, untyped decimal strings; floats as <double>, ints or strings', async () => {
    for (const i of [7, new XInt32(7), '7']) {
      for (const f of [new XDouble(1.5), '1.5']) {
        const r = await echo([i, f, '20240420T12:00:00Z', true]);
        expect(r.status).toBe('Success');
      }
    }
    const r = (await echo([new XInt32(3), 2, new XDateTime('20240420T12:00:00Z'), false])) as {
      value: unknown[];
    };
    // echoed back self-described: integral numbers go out untyped
    expect(r.value.slice(0, 4)).toEqual(['3', '2', '20240420T12:00:00Z', false]);
  });
  it('accepts dashed datetimes and normalises them', async () => {
    const r = (await echo([1, new XDouble(1), new XDateTime('2024-04-20T12:00:00Z'), true])) as {
      value: unknown[];
    };
    expect(r.value[2]).toBe('20240420T12:00:00Z');
  });
  it('omits optional params', async () => {
    const r = (await echo([1, new XDouble(1), '20240420T12:00:00Z', true, { a: '5' }])) as {
      value: unknown[];
    };
    expect(r.value[4]).toEqual({ a: '5' });
  });
  it('accepts bools only as <boolean>', async () => {
    const e = await xmlErr(sim.url, 'simtest.echo_types', [
      sid,
      1,
      new XDouble(1),
      '20240420T12:00:00Z',
      1,
    ]);
    expect(e[0]).toBe('INTERNAL_ERROR');
  });
  it('rejects an unparseable datetime', async () => {
    expect(
      (await xmlErr(sim.url, 'simtest.echo_types', [sid, 1, new XDouble(1), 'yesterday', true]))[0],
    ).toBe('INTERNAL_ERROR');
  });
  it('JSON-RPC ints arrive exactly', async () => {
    const r = await json(sim.url, 'simtest.echo_types', [
      sid,
      9007199254740993n,
      1.5,
      '20240420T12:00:00Z',
      true,
    ]);
    expect(r.text).toContain('9007199254740993');
  });
});

describe('Unix socket', () => {
  it('logs in with any credentials as local root', async () => {
    const r = await xml(
      'http://localhost',
      'session.login_with_password',
      ['nobody', 'wrong'],
      '/',
      socketPath,
    );
    expect(r.status).toBe('Success');
    const ref = (r as { value: string }).value;
    const rec = (await xmlOk(sim.url, 'session.get_record', [ref, ref])) as Record<string, unknown>;
    expect(rec.is_local_superuser).toBe(true);
  });
});

describe('TLS listener', () => {
  it('serves the same API over HTTPS', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${dir}/k.pem`,
        '-out',
        `${dir}/c.pem`,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    const tsim = await startSimulator({
      hosts: 1,
      tls: {
        cert: fs.readFileSync(`${dir}/c.pem`, 'utf8'),
        key: fs.readFileSync(`${dir}/k.pem`, 'utf8'),
      },
    });
    try {
      expect(tsim.httpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = JSON.stringify({
        jsonrpc: '2.0',
        method: 'session.login_with_password',
        params: ['root', 'xenroot'],
        id: 0,
      });
      const text = await new Promise<string>((resolve, reject) => {
        const req = https.request(
          `${tsim.httpsUrl}/jsonrpc`,
          { method: 'POST', rejectUnauthorized: false, headers: { 'content-length': body.length } },
          (res) => {
            let t = '';
            res.on('data', (c: Buffer) => (t += c.toString()));
            res.on('end', () => resolve(t));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(JSON.parse(text).result).toMatch(/^OpaqueRef:/);
    } finally {
      await tsim.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('errors are the same over both protocols', () => {
  it('HANDLE_INVALID', async () => {
    expect(await jsonErr(sim.url, 'SR.get_record', [sid, 'OpaqueRef:x'])).toEqual(
      await xmlErr(sim.url, 'SR.get_record', [sid, 'OpaqueRef:x']),
    );
  });
});

describe('a result that cannot be encoded', () => {
  it('still answers with an RPC failure', async () => {
    defineMessage(
      'simtest.bad_result',
      () => ({
        toString: () => {
          throw new Error('cannot print');
        },
      }),
      [[], 'string', false, true],
    );
    expect((await xmlErr(sim.url, 'simtest.bad_result', [sid]))[0]).toBe('INTERNAL_ERROR');
    expect((await jsonErr(sim.url, 'simtest.bad_result', [sid]))[0]).toBe('INTERNAL_ERROR');
  });
});
