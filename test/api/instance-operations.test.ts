// GET /v1/instances/{id}/operations over HTTP (responses validated against the spec): the
// instance's operations newest first, `status=running` giving the one under way, which a caller
// cancels (a live migration aborted); another namespace's instance and an unknown one 404.
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=30' };

beforeAll(async () => {
  // Simulated operations take time, so a migration is still running when it is listed.
  stack = await startStack({ sim: { timeScale: 25 } });
});
afterAll(async () => {
  await stack?.close();
});

async function template(): Promise<string> {
  const items = (await stack.request('GET', '/v1/templates')).body.items;
  return (items.find((t: { disk_gb?: number }) => t.disk_gb) ?? items[0]).uuid;
}

test("lists an instance's operations newest first; a running migration is found and aborted", async () => {
  const spawned = await stack.request('PUT', '/v1/instances/ops-1', {
    body: { template: await template(), vcpus: 1, memory_mb: 256 },
    headers: wait,
  });
  expect(spawned.body.status).toBe('succeeded');
  const paused = await stack.request('POST', '/v1/instances/ops-1/actions', {
    body: { action: 'pause' },
    headers: wait,
  });
  await stack.request('POST', '/v1/instances/ops-1/actions', {
    body: { action: 'unpause' },
    headers: wait,
  });
  const all = (await stack.request('GET', '/v1/instances/ops-1/operations')).body.items;
  expect(all.map((o: { kind: string }) => o.kind)).toEqual(['unpause', 'pause', 'spawn']);
  expect(all[1].id).toBe(paused.body.id);
  expect(
    (await stack.request('GET', '/v1/instances/ops-1/operations?status=running')).body,
  ).toEqual({
    items: [],
  });

  const here = (await stack.request('GET', '/v1/instances/ops-1')).body.host.uuid;
  const started = await stack.request('POST', '/v1/instances/ops-1/actions', {
    body: { action: 'migrate' },
  });
  expect(started.status).toBe(202);
  const running = (await stack.request('GET', '/v1/instances/ops-1/operations?status=running')).body
    .items;
  expect(running).toEqual([expect.objectContaining({ id: started.body.id, kind: 'migrate' })]);
  const cancelled = await stack.request('DELETE', `/v1/operations/${running[0].id}`);
  expect(cancelled.status).toBe(200);
  const final = await stack.request('GET', `/v1/operations/${running[0].id}`, {
    headers: { prefer: 'wait=30' },
  });
  expect(final.body.status).toBe('cancelled');
  expect((await stack.request('GET', '/v1/instances/ops-1')).body).toMatchObject({
    power_state: 'running',
    host: { uuid: here },
  });
});

test('another namespace and unknown instances answer 404; a bad status 400', async () => {
  for (const [path, token, status, code] of [
    ['/v1/instances/ops-1/operations', stack.tokens.other, 404, 'instance_not_found'],
    ['/v1/instances/nothing-here/operations', undefined, 404, 'instance_not_found'],
    ['/v1/instances/ops-1/operations?status=sleeping', undefined, 400, 'invalid_request'],
  ] as const) {
    const res = await stack.request('GET', path, token ? { token } : {});
    expect([path, res.status, res.body.code]).toEqual([path, status, code]);
  }
});
