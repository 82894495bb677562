// Readiness at the HTTP edge: until the driver is ready (start-up reconcile done, instance index
// built) /healthz answers, /readyz and every /v1 route answer 503 not_ready with Retry-After,
// and nothing acts on the empty index; once ready, the same requests are served. Real simulator,
// driver and app; the driver is started by the test.
import type { Server } from 'node:http';
import pino from 'pino';
import { TokenStore } from '../../src/api/auth';
import { createApp } from '../../src/app';
import { ComputeDriver } from '../../src/driver';
import { startSimulator, type SimulatorHandle } from '../../src/simulator';
import { XapiClient } from '../../src/xapi';

const TOKEN = 'tok-ready-operator';
const ADMIN = 'tok-ready-admin';

let sim: SimulatorHandle;
let xapi: XapiClient;
let driver: ComputeDriver;
let server: Server;
let url: string;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0 });
  xapi = await XapiClient.connect({ url: sim.url, user: sim.user, password: sim.password });
  driver = new ComputeDriver(xapi, { logger: pino({ level: 'silent' }) });
  const auth = new TokenStore()
    .addToken(TOKEN, { id: 'op', namespace: 'ready', role: 'operator' })
    .addToken(ADMIN, { id: 'admin', namespace: 'ready', role: 'admin' });
  const app = createApp({ driver, auth, validateResponses: true });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await driver?.close();
  await xapi?.close();
  await sim?.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const templateName = (): string => driver.templates()[0].name_label;

describe('before the driver is ready', () => {
  test('the driver is not ready yet', () => {
    expect(driver.ready()).toBe(false);
  });

  test('/healthz answers 200 at once; /readyz answers 503 not_ready with Retry-After', async () => {
    const health = await call('GET', '/healthz', undefined, null);
    expect([health.status, health.body]).toEqual([200, { status: 'ok' }]);
    const ready = await call('GET', '/readyz', undefined, null);
    expect([ready.status, ready.body.code]).toEqual([503, 'not_ready']);
    expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(ready.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('mutating routes answer 503 not_ready with Retry-After and act on nothing', async () => {
    const vmsBefore = xapi.mirror.count('VM');
    for (const [method, path, body] of [
      ['PUT', '/v1/instances/r-1', { template: templateName(), power_on: false }],
      ['DELETE', '/v1/instances/r-1', undefined],
      ['POST', '/v1/instances/r-1/actions', { action: 'power-on' }],
      ['PUT', '/v1/instances/r-1/snapshots/s-1', {}],
      ['POST', '/v1/instances/r-1/nics', { network: 'xenbr0' }],
      ['DELETE', '/v1/operations/op-1', undefined],
    ] as Array<[string, string, unknown]>) {
      const res = await call(method, path, body);
      expect({ method, path, status: res.status, code: res.body?.code }).toEqual({
        method,
        path,
        status: 503,
        code: 'not_ready',
      });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(xapi.mirror.count('VM')).toBe(vmsBefore);
  });

  test('reads answer 503 not_ready too, instead of a 404 or an empty list from the empty index', async () => {
    for (const path of [
      '/v1/instances',
      '/v1/instances/r-1',
      '/v1/operations/op-1',
      '/v1/templates',
    ])
      expect({ path, ...pick(await call('GET', path)) }).toEqual({
        path,
        status: 503,
        code: 'not_ready',
      });
  });

  test('authentication and roles still come first: 401 and 403 before 503', async () => {
    expect((await call('GET', '/v1/instances', undefined, null)).status).toBe(401);
    expect((await call('GET', '/v1/host')).status).toBe(403);
  });
});

describe('once the driver is ready', () => {
  beforeAll(async () => {
    await driver.start();
  });

  test('/readyz answers 200 with nothing but its status', async () => {
    const ready = await call('GET', '/readyz', undefined, null);
    expect([ready.status, ready.body]).toEqual([200, { status: 'ok' }]);
  });

  test('the same requests are served', async () => {
    expect((await call('GET', '/v1/instances')).status).toBe(200);
    expect((await call('GET', '/v1/host', undefined, ADMIN)).status).toBe(200);
    const spawn = await call('PUT', '/v1/instances/r-2', {
      template: templateName(),
      power_on: false,
    });
    expect(spawn.status).toBe(202);
  });
});

function pick(res: { status: number; body: any }): { status: number; code: unknown } {
  return { status: res.status, code: res.body?.code };
}
