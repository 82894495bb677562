// Regression: client-aborted uploads were logged as 500 errors. A client that leaves mid-body
// gets one 'request aborted' line (status 499, info) and no error line; the service answers the
// next request as usual. The real app over the stack's driver, with a logger to memory.
import { request as httpRequest, type Server } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { TokenStore } from '../../src/api/auth';
import { createApp } from '../../src/app';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let server: Server;
let port: number;
const lines: Array<Record<string, any>> = [];
const TOKEN = 'tok-aborted';

beforeAll(async () => {
  stack = await startStack();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const app = createApp({
    driver: stack.driver,
    auth: new TokenStore().addToken(TOKEN, { id: 'op', namespace: 'aborted', role: 'operator' }),
    logger: pino({ level: 'info' }, sink),
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await stack?.close();
});

/** Sends headers and part of a body, then drops the connection once the server has read it. */
function abortMidBody(): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/v1/instances/aborted-1',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'content-length': '100000',
      },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write('{"template": "', () => setTimeout(() => req.destroy(), 50));
  });
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

test('a client-aborted upload is logged as aborted (499, info), not as a 500 error', async () => {
  await abortMidBody();
  await until(() => lines.some((l) => l.msg === 'request aborted'));
  const aborted = lines.filter((l) => l.msg === 'request aborted');
  expect(aborted).toHaveLength(1);
  expect(aborted[0]).toMatchObject({
    level: 30,
    aborted: true,
    res: { statusCode: 499 },
    req: { method: 'PUT', url: '/v1/instances/aborted-1' },
  });
  expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  expect(lines.some((l) => l.msg === 'request failed' || l.msg === 'request errored')).toBe(false);
  const next = await fetch(`http://127.0.0.1:${port}/v1/instances`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(next.status).toBe(200);
});
