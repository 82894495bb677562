// Regression: a viewer read the admin-only /v1/host as /v1/host/, /V1/host or /v1/HOST (express
// ignored case and a trailing slash, the role check compared the raw path). Every route the spec
// marks admin-only is tried in each spelling with each weaker role; no spelling reaches it.
// Runs the real stack.
import { loadSpec } from '../../src/api/spec';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** [method, path template] of every operation the spec gives `x-required-role: admin`. */
function adminRoutes(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [path, item] of Object.entries(loadSpec().paths))
    for (const m of METHODS) {
      const op = (item as Record<string, Record<string, unknown> | undefined>)[m];
      if (op?.['x-required-role'] === 'admin') out.push([m.toUpperCase(), path]);
    }
  return out;
}

/** The path with each parameter filled, then the spellings express used to route alike. */
function spellings(template: string): string[] {
  const path = template.replace(/\{[^}]+\}/g, 'x-1');
  const last = path.lastIndexOf('/');
  return [
    `${path}/`,
    path.replace('/v1/', '/V1/'),
    path.slice(0, last + 1) + path.slice(last + 1).toUpperCase(),
    path.toUpperCase(),
    `${path.toUpperCase()}/`,
    path.replace('/v1/', '/v1//'),
    `${path}//`,
    path.replace(
      /\/([a-z])([a-z]*)$/,
      (_m, c: string, rest: string) => `/%${c.charCodeAt(0).toString(16)}${rest}`,
    ),
  ];
}

test('the spec marks /v1/host admin-only', () => {
  expect(adminRoutes()).toContainEqual(['GET', '/v1/host']);
});

test('a viewer reads the admin-only /v1/host as /v1/host/, /V1/host or /v1/HOST', async () => {
  for (const path of ['/v1/host/', '/V1/host', '/v1/HOST']) {
    const res = await stack.request('GET', path, { token: stack.tokens.viewer });
    expect({ path, status: res.status, hypervisor: res.body.hypervisor_type }).toEqual({
      path,
      status: 404,
      hypervisor: undefined,
    });
  }
});

test('a viewer or operator reaches no admin-only route through another spelling of its path', async () => {
  const routes = adminRoutes();
  expect(routes.length).toBeGreaterThan(0);
  for (const [method, template] of routes)
    for (const path of [template.replace(/\{[^}]+\}/g, 'x-1'), ...spellings(template)])
      for (const token of [stack.tokens.viewer, stack.tokens.operator]) {
        const res = await stack.request(method, path, { token });
        const refused =
          (res.status === 403 && res.body.code === 'forbidden') ||
          (res.status === 404 && res.body.code === 'not_found');
        expect({ method, path, status: res.status, refused }).toEqual({
          method,
          path,
          status: res.status,
          refused: true,
        });
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
});

test('other spellings of a path are no route at all, even for an admin', async () => {
  for (const path of spellings('/v1/host')) {
    const res = await stack.request('GET', path, { token: stack.tokens.admin });
    expect({ path, status: res.status, code: res.body.code }).toEqual({
      path,
      status: 404,
      code: 'not_found',
    });
  }
  const exact = await stack.request('GET', '/v1/host', { token: stack.tokens.admin });
  expect([exact.status, exact.body.hypervisor_type]).toEqual([200, 'xen']);
});

test('a role is checked on the route the request matched, before its body is validated', async () => {
  // A viewer's malformed spawn is refused for its role, whatever the spelling of its path.
  for (const path of ['/v1/instances/r-1', '/V1/instances/r-1', '/v1/instances/r-1/']) {
    const res = await stack.request('PUT', path, {
      token: stack.tokens.viewer,
      body: { nonsense: true },
    });
    expect({ path, status: res.status }).toEqual({
      path,
      status: path === '/v1/instances/r-1' ? 403 : 404,
    });
  }
});

test('paths outside the spec answer 401 without a token and 404 with one', async () => {
  for (const path of ['/v2/host', '//v1/host', '/host', '/V1/host']) {
    expect({ path, status: (await stack.request('GET', path, { token: null })).status }).toEqual({
      path,
      status: 401,
    });
    expect({ path, status: (await stack.request('GET', path)).status }).toEqual({
      path,
      status: 404,
    });
  }
});
