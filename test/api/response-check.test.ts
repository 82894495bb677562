// The contract check of answers (src/api/response-check.ts, on with validateResponses): an
// answer the spec does not describe becomes 500 internal_error saying where, and a conforming
// one goes out unchanged. A driver port answering a wrong host shape stands in for a bug.
import type { AddressInfo } from 'node:net';
import { TokenStore } from '../../src/api/auth';
import type { ServiceDriver } from '../../src/api/driver-port';
import { createApp, createServer } from '../../src/app';

async function get(host: unknown, path: string): Promise<{ status: number; body: any }> {
  const driver = { ready: () => true, host: () => host, templates: () => [] };
  const auth = new TokenStore().addToken('tok', { id: 'a', namespace: 'n', role: 'admin' });
  const app = createApp({
    driver: driver as unknown as ServiceDriver,
    auth,
    validateResponses: true,
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: { authorization: 'Bearer tok' },
    });
    return { status: res.status, body: await res.json() };
  } finally {
    server.close();
  }
}

test('an answer the spec does not describe becomes 500 internal_error saying where', async () => {
  const res = await get({ hypervisor_type: 42 }, '/v1/host');
  expect([res.status, res.body.code]).toEqual([500, 'internal_error']);
  expect(res.body.detail).toMatch(/^response does not match the contract: .*\/response/);
});

test('a conforming answer goes out unchanged', async () => {
  const res = await get(undefined, '/v1/templates');
  expect([res.status, res.body]).toEqual([200, { items: [] }]);
});
