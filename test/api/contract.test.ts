// The contract test: every operation in openapi/compute-driver.yaml is routed and answered with
// a status the spec documents, and every response validates against the spec (the stack runs
// the response validator; a mismatch would be a 500). Runs the real stack on the simulator.
import { Endpoints } from '../../src/api/endpoints';
import { loadSpec } from '../../src/api/spec';
import { apiRoutes } from '../../src/app';
import { startStack, type HttpAnswer, type Stack } from '../helpers/stack';

let stack: Stack;
const seen = new Map<string, number[]>();

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const spec = loadSpec();
/** Paths the app's system routes answer (no token, before the endpoints). */
const SYSTEM_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** operationId -> [method, path template] from the spec. */
function operations(): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const [path, item] of Object.entries(spec.paths))
    for (const m of METHODS) {
      const op = (item as Record<string, { operationId?: string }>)[m];
      if (op?.operationId) out.set(op.operationId, [m, path]);
    }
  return out;
}

function documented(operationId: string, status: number): boolean {
  const [m, path] = operations().get(operationId)!;
  const responses = (spec.paths[path] as Record<string, { responses: Record<string, unknown> }>)[m]
    .responses;
  return String(status) in responses || ('default' in responses && status >= 400);
}

async function call(
  operationId: string,
  ...args: Parameters<Stack['request']>
): Promise<HttpAnswer> {
  const res = await stack.request(...args);
  seen.set(operationId, [...(seen.get(operationId) ?? []), res.status]);
  expect({
    operationId,
    status: res.status,
    documented: documented(operationId, res.status),
  }).toEqual({
    operationId,
    status: res.status,
    documented: true,
  });
  if (res.status >= 500) throw new Error(`${operationId}: ${JSON.stringify(res.body)}`);
  return res;
}

test('every operation in the spec has a route', () => {
  const endpoints = new Endpoints(loadSpec());
  apiRoutes(endpoints, stack.driver);
  const missing = endpoints
    .all()
    .filter((e) => !e.handler && !SYSTEM_PATHS.has(e.path))
    .map((e) => `${e.method} ${e.path}`);
  expect(missing).toEqual([]);
});

test('the system routes answer every system path of the spec', async () => {
  for (const path of SYSTEM_PATHS)
    expect({ path, status: (await stack.request('GET', path, { token: null })).status }).toEqual({
      path,
      status: 200,
    });
});

test('the core operations answer documented statuses and their responses validate', async () => {
  const admin = stack.tokens.admin;
  expect((await call('healthz', 'GET', '/healthz', { token: null })).status).toBe(200);
  expect((await call('readyz', 'GET', '/readyz', { token: null })).status).toBe(200);
  expect((await call('metrics', 'GET', '/metrics', { token: null })).body).toContain(
    'xcd_http_request_duration_seconds',
  );
  expect((await call('openapi', 'GET', '/openapi.json', { token: null })).body.openapi).toBe(
    '3.1.0',
  );

  const host = await call('getHost', 'GET', '/v1/host', { token: admin });
  expect(host.status).toBe(200);
  expect(host.body.hypervisor_type).toBe('xen');
  const templates = await call('listTemplates', 'GET', '/v1/templates');
  expect(templates.body.items.length).toBeGreaterThan(0);
  expect((await call('listNetworks', 'GET', '/v1/networks')).body.items.length).toBeGreaterThan(0);
  expect((await call('listSrs', 'GET', '/v1/srs')).body.items.length).toBeGreaterThan(0);

  const template = templates.body.items[0].name_label as string;
  const spawn = await call('spawnInstance', 'PUT', '/v1/instances/contract-1', {
    body: { template, vcpus: 1, memory_mb: 256 },
    headers: { prefer: 'wait=15' },
  });
  expect(spawn.status).toBe(200);
  expect(spawn.body.error).toBeNull();
  expect(spawn.body.status).toBe('succeeded');
  expect(spawn.body.result.id).toBe('contract-1');

  const list = await call('listInstances', 'GET', '/v1/instances?limit=10');
  expect(list.body.items.map((i: { id: string }) => i.id)).toContain('contract-1');
  const inst = await call('getInstance', 'GET', '/v1/instances/contract-1');
  expect(inst.body.power_state).toBe('running');

  for (const body of [
    { action: 'power-off', type: 'hard' },
    { action: 'power-on' },
    { action: 'reboot', type: 'hard' },
  ]) {
    const res = await call('instanceAction', 'POST', '/v1/instances/contract-1/actions', {
      body,
      headers: { prefer: 'wait=15' },
    });
    expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
  }

  const op = await call(
    'getOperation',
    'GET',
    `/v1/operations/${encodeURIComponent(spawn.body.id)}`,
  );
  expect(op.body.id).toBe(spawn.body.id);
  const cancel = await call(
    'cancelOperation',
    'DELETE',
    `/v1/operations/${encodeURIComponent(spawn.body.id)}`,
  );
  expect(cancel.status).toBe(409);
  expect(cancel.body.code).toBe('operation_finished');

  const destroy = await call('destroyInstance', 'DELETE', '/v1/instances/contract-1', {
    headers: { prefer: 'wait=15' },
  });
  expect([destroy.status, destroy.body.status]).toEqual([200, 'succeeded']);
  expect((await call('destroyInstance', 'DELETE', '/v1/instances/contract-1')).status).toBe(204);
  expect((await call('getInstance', 'GET', '/v1/instances/contract-1')).status).toBe(404);

  expect([...seen.keys()].length).toBeGreaterThanOrEqual(15);
});

test('a route the spec does not have answers 404 not_found; a wrong method 405', async () => {
  const missing = await stack.request('GET', '/v1/nothing-here');
  expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
  expect(missing.body.detail).toBe('no route for GET /v1/nothing-here');
  const wrong = await stack.request('PATCH', '/v1/instances/x', { body: {} });
  expect([wrong.status, wrong.body.code]).toEqual([405, 'method_not_allowed']);
});
