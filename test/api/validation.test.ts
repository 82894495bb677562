// Malformed requests answer 400 invalid_request as problem+json, with `errors[]` naming each
// offending field (body, query, path), before anything reaches the driver. Runs the real stack.
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

async function fields(
  method: string,
  path: string,
  body?: unknown,
  rawBody?: string,
): Promise<string[]> {
  const res = await stack.request(method, path, { body, rawBody });
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: 'urn:xcd:error:invalid_request',
    title: 'Invalid request',
    status: 400,
    code: 'invalid_request',
  });
  expect(typeof res.body.detail).toBe('string');
  return res.body.errors.map((e: { field: string }) => e.field);
}

test.each([
  ['a bad MAC', { template: 't', nics: [{ network: 'n', mac: 'zz' }] }, 'body.nics[0].mac'],
  ['a NIC without network', { template: 't', nics: [{}] }, 'body.nics[0].network'],
  ['an unknown member', { template: 't', colour: 'blue' }, 'body.colour'],
  ['vcpus as a string', { template: 't', vcpus: 'two' }, 'body.vcpus'],
  ['zero memory', { template: 't', memory_mb: 0 }, 'body.memory_mb'],
  ['a disk of size 0', { template: 't', disks: [{ size_gb: 0 }] }, 'body.disks[0].size_gb'],
  ['power_on not boolean', { template: 't', power_on: 'yes' }, 'body.power_on'],
  ['both template and image_vdi', { template: 't', image_vdi: 'u' }, 'body.image_vdi'],
  ['neither template nor image_vdi', { vcpus: 1 }, 'body.template'],
])('spawn with %s names %s', async (_what, body, field) => {
  expect(await fields('PUT', '/v1/instances/bad-1', body)).toContain(field);
});

test('a body that is not JSON names the body', async () => {
  expect(await fields('PUT', '/v1/instances/bad-1', undefined, '{"template": ')).toEqual(['body']);
});

test('a spawn without a body is 415 unsupported_media_type; an empty JSON body is 400', async () => {
  const none = await stack.request('PUT', '/v1/instances/bad-1');
  expect([none.status, none.body.code]).toEqual([415, 'unsupported_media_type']);
  const empty = await stack.request('PUT', '/v1/instances/bad-1', {
    rawBody: '',
    headers: { 'content-type': 'application/json' },
  });
  expect([empty.status, empty.body.code]).toEqual([400, 'invalid_request']);
});

test('a body sent as text/plain is 415', async () => {
  const res = await stack.request('PUT', '/v1/instances/bad-1', {
    rawBody: '{}',
    headers: { 'content-type': 'text/plain' },
  });
  expect([res.status, res.body.code]).toEqual([415, 'unsupported_media_type']);
});

test.each([
  ['an unknown action', { action: 'fly' }, 'body.action'],
  ['no action', {}, 'body.action'],
  ['a reboot of type clean', { action: 'reboot', type: 'clean' }, 'body.type'],
  ['a negative timeout', { action: 'power-off', timeout: -1 }, 'body.timeout'],
  ['power-on with a type', { action: 'power-on', type: 'hard' }, 'body.type'],
])('an action with %s names %s', async (_what, body, field) => {
  expect(await fields('POST', '/v1/instances/bad-1/actions', body)).toContain(field);
});

test.each([
  ['/v1/instances?limit=0', 'query.limit'],
  ['/v1/instances?limit=abc', 'query.limit'],
  ['/v1/instances?offset=-1', 'query.offset'],
  ['/v1/instances?power_state=on', 'query.power_state'],
])('GET %s names %s', async (path, field) => {
  expect(await fields('GET', path)).toContain(field);
});

test('an instance id outside the allowed pattern names the path parameter', async () => {
  expect(await fields('GET', `/v1/instances/${encodeURIComponent('bad id!')}`)).toContain(
    'path.instance_id',
  );
});

test('a valid spawn naming a template that does not exist answers 404 template_not_found', async () => {
  const res = await stack.request('PUT', '/v1/instances/ghost', {
    body: { template: 'no such template' },
    headers: { prefer: 'wait=10' },
  });
  const problem = res.status === 200 ? res.body.error : res.body;
  expect(problem).toMatchObject({ code: 'template_not_found', status: 404 });
});

test('a body over 1 MiB is 413 invalid_request naming the body', async () => {
  const res = await stack.request('PUT', '/v1/instances/big-1', {
    body: { template: 't', metadata: { blob: 'x'.repeat(1_100_000) } },
  });
  expect([res.status, res.body.code, res.body.errors]).toEqual([
    413,
    'invalid_request',
    [{ field: 'body', message: 'too large' }],
  ]);
});
