// The endpoint table (src/api/endpoints.ts) built from openapi/compute-driver.yaml: a request
// path matches exactly one endpoint as the spec writes it (case, trailing and doubled slashes
// count; a percent-encoded literal is another path), path parameters arrive decoded, a wrong
// method is 405 with the methods the path allows, roles follow x-required-role, and a route the
// spec does not have cannot be registered.
import { ApiError } from '../../src/driver/errors';
import { Endpoints, type Matched } from '../../src/api/endpoints';
import { loadSpec } from '../../src/api/spec';
import { startStack, type Stack } from '../helpers/stack';

const endpoints = new Endpoints(loadSpec());

function matched(method: string, path: string): Matched {
  const m = endpoints.match(method, path);
  if ('error' in m) throw m.error;
  return m;
}

function refused(method: string, path: string): [number, string, string | undefined] {
  const m = endpoints.match(method, path);
  if (!('error' in m)) throw new Error(`${method} ${path} matched ${m.endpoint.path}`);
  expect(m.error).toBeInstanceOf(ApiError);
  return [m.error.status, m.error.code, m.allow];
}

test('a path matches the endpoint the spec writes, with its parameters decoded', () => {
  const m = matched('GET', '/v1/instances/a%3Ab/snapshots/s-1');
  expect([m.endpoint.path, m.endpoint.route, m.params]).toEqual([
    '/v1/instances/{instance_id}/snapshots/{snapshot_id}',
    '/v1/instances/:instance_id/snapshots/:snapshot_id',
    { instance_id: 'a:b', snapshot_id: 's-1' },
  ]);
  expect(matched('GET', '/v1/instances').endpoint.path).toBe('/v1/instances');
  expect(matched('GET', '/v1/instances/i-1/console/log').endpoint.path).toBe(
    '/v1/instances/{instance_id}/console/log',
  );
});

test('other spellings of a path are no route', () => {
  for (const path of [
    '/v1/host/',
    '/V1/host',
    '/v1/HOST',
    '//v1/host',
    '/v1//host',
    '/v1/%68ost',
    '/v1/instances/',
    '/v1/instances//actions',
    'v1/host',
    '',
  ])
    expect({ path, answer: refused('GET', path) }).toEqual({
      path,
      answer: [404, 'not_found', undefined],
    });
});

test('a method the path lacks is 405 with the methods it has', () => {
  expect(refused('PATCH', '/v1/instances/i-1')).toEqual([
    405,
    'method_not_allowed',
    'GET, PUT, DELETE',
  ]);
  expect(refused('HEAD', '/v1/host')).toEqual([405, 'method_not_allowed', 'GET']);
});

test('a parameter that is not valid percent-encoding is 400 naming it', () => {
  const m = endpoints.match('GET', '/v1/instances/%E0%A4%A');
  expect('error' in m && m.error.toJSON()).toMatchObject({
    status: 400,
    code: 'invalid_request',
    errors: [{ field: 'path.instance_id', message: 'not valid percent-encoding' }],
  });
});

test('roles: x-required-role, else viewer for reads and operator for changes', () => {
  expect(matched('GET', '/v1/host').endpoint.role).toBe('admin');
  expect(matched('GET', '/v1/instances/i-1').endpoint.role).toBe('viewer');
  expect(matched('PUT', '/v1/instances/i-1').endpoint.role).toBe('operator');
});

test('a route the spec does not have, or one registered twice, is refused', () => {
  const table = new Endpoints(loadSpec());
  expect(() => table.get('/v1/nothing', () => undefined)).toThrow(/not in the OpenAPI file/);
  expect(() => table.post('/v1/instances/:instance_id', () => undefined)).toThrow(
    /not in the OpenAPI file/,
  );
  table.get('/v1/instances/:instance_id', () => undefined);
  expect(() => table.get('/v1/instances/:instance_id', () => undefined)).toThrow(/twice/);
});

describe('over HTTP', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('a wrong method answers 405 method_not_allowed with Allow', async () => {
    const res = await stack.request('PATCH', '/v1/instances/i-1', { body: {} });
    expect([res.status, res.body.code, res.headers.get('allow')]).toEqual([
      405,
      'method_not_allowed',
      'GET, PUT, DELETE',
    ]);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  test('a body-taking endpoint without a Content-Type answers 415 saying so', async () => {
    const res = await stack.request('PUT', '/v1/instances/i-1');
    expect([res.status, res.body.code, res.body.detail]).toEqual([
      415,
      'unsupported_media_type',
      'media type not specified',
    ]);
  });
});
