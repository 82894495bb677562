// The typed client against a loopback server that plays a service starting up: `503 not_ready`
// is waited out after its Retry-After and the same request sent again (within the patience
// given); any other refusal, a 503 of another code included, is reported at once.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XcdClient } from '../../src/client';

let server: Server;
let url: string;
let script: Array<{ status: number; code?: string }> = [];
const seen: Array<{ method: string; path: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', body });
      const next = script.shift() ?? { status: 200 };
      if (next.status === 200) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ items: [] }));
        return;
      }
      res.writeHead(next.status, {
        'content-type': 'application/problem+json',
        'retry-after': '1',
      });
      res.end(JSON.stringify({ status: next.status, code: next.code, title: 'refused' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

test('waits out 503 not_ready and sends the same request again', async () => {
  script = [
    { status: 503, code: 'not_ready' },
    { status: 503, code: 'not_ready' },
  ];
  const client = new XcdClient({ url, token: 'tok' });
  await expect(client.createNetwork('n1', { vlan: 300 })).resolves.toEqual({ items: [] });
  expect(seen).toEqual(
    Array(3).fill({ method: 'PUT', path: '/v1/networks/n1', body: '{"vlan":300}' }),
  );
});

test('reports other refusals at once, and not_ready once its patience is spent', async () => {
  const client = new XcdClient({ url, token: 'tok' });
  script = [{ status: 503, code: 'xapi_unavailable' }];
  await expect(client.templates()).rejects.toMatchObject({ status: 503, code: 'xapi_unavailable' });
  script = [{ status: 409, code: 'instance_busy' }];
  await expect(client.templates()).rejects.toMatchObject({ status: 409, code: 'instance_busy' });
  const impatient = new XcdClient({ url, token: 'tok', notReadyPatienceMs: 0 });
  script = [{ status: 503, code: 'not_ready' }];
  await expect(impatient.templates()).rejects.toMatchObject({ status: 503, code: 'not_ready' });
  expect(seen.length).toBe(3);
});
