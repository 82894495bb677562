// Request logs (src/api/request-log.ts): one line per request at the level its method and status
// call for, with method, URL, status and time; reads at debug; probes never; the request id is
// echoed. Runs the middleware in a small express app on loopback with a pino logger to memory.
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { useRequestLog } from '../../src/api/request-log';

let server: Server;
let url: string;
const lines: Array<Record<string, any>> = [];

async function start(level: string): Promise<void> {
  lines.length = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const app = express();
  useRequestLog(app, pino({ level }, sink));
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/thing', (_req, res) => void res.json({ ok: true }));
  app.put('/thing', (_req, res) => void res.status(202).json({ ok: true }));
  app.get('/missing', (_req, res) => void res.status(404).end());
  app.get('/broken', (req, res) => {
    req.log.error({ detail: 'x' }, 'request failed');
    res.status(500).end();
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
}

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

test('at info: mutations and failures are logged, reads and probes are not', async () => {
  await start('info');
  await fetch(`${url}/thing`);
  await fetch(`${url}/healthz`);
  await fetch(`${url}/thing?x=1`, { method: 'PUT', headers: { 'x-request-id': 'put-1' } });
  await fetch(`${url}/missing`);
  await fetch(`${url}/broken`);
  await settle();
  expect(lines.map((l) => [l.level, l.msg, l.req?.method, l.req?.url, l.res?.statusCode])).toEqual([
    [30, 'request completed', 'PUT', '/thing?x=1', 202],
    [40, 'request completed', 'GET', '/missing', 404],
    [50, 'request failed', 'GET', '/broken', undefined],
    [50, 'request errored', 'GET', '/broken', 500],
  ]);
  expect(typeof lines[0].responseTime).toBe('number');
  expect(lines[0].req.id).toBe('put-1');
  expect(lines[3].err.message).toBe('failed with status code 500');
});

test('at debug: successful reads are logged too', async () => {
  await start('debug');
  await fetch(`${url}/thing`);
  await settle();
  expect(lines.map((l) => [l.level, l.msg, l.req.url])).toEqual([
    [20, 'request completed', '/thing'],
  ]);
});

test("every answer carries an X-Request-Id, the caller's when sane", async () => {
  await start('silent');
  const fresh = await fetch(`${url}/thing`);
  expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const given = await fetch(`${url}/thing`, { headers: { 'x-request-id': 'nova-req-1' } });
  expect(given.headers.get('x-request-id')).toBe('nova-req-1');
  const odd = await fetch(`${url}/thing`, { headers: { 'x-request-id': 'a b' } });
  expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
});
