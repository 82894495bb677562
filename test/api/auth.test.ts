// Authentication and authorization: 401 without or with a bad token, 403 for a role that may
// not, namespaces isolated (another namespace's instance answers 404), and the tokens file
// format (JSON lines of sha-256 hashes) with its errors. Runs the real stack.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, tokenLine, TokenStore } from '../../src/api/auth';
import { loadSpec } from '../../src/api/spec';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let template: string;

beforeAll(async () => {
  stack = await startStack();
  template = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
});
afterAll(async () => {
  await stack?.close();
});

describe('401', () => {
  test.each([
    ['no token', null],
    ['an unknown token', 'nope'],
  ])('%s answers 401 unauthorized with WWW-Authenticate', async (_what, token) => {
    const res = await stack.request('GET', '/v1/instances', { token });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.body).toMatchObject({
      status: 401,
      code: 'unauthorized',
      type: 'urn:xcd:error:unauthorized',
    });
  });

  test('a malformed Authorization header answers 401', async () => {
    const res = await stack.request('GET', '/v1/instances', {
      token: null,
      headers: { authorization: 'Basic abc' },
    });
    expect([res.status, res.body.code]).toEqual([401, 'unauthorized']);
  });

  test('401 comes before validation: a bad body without a token is 401', async () => {
    const res = await stack.request('PUT', '/v1/instances/x', {
      token: null,
      body: { nonsense: true },
    });
    expect(res.status).toBe(401);
  });

  test("every answer carries an X-Request-Id, the caller's when given", async () => {
    const fresh = await stack.request('GET', '/v1/instances', { token: null });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await stack.request('GET', '/healthz', {
      headers: { 'x-request-id': 'nova-req-1' },
    });
    expect(given.headers.get('x-request-id')).toBe('nova-req-1');
  });

  test('system endpoints need no token', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json'])
      expect((await stack.request('GET', path, { token: null })).status).toBe(200);
    const docs = await stack.request('GET', '/docs/', { token: null });
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('<title>xen-compute-driver API</title>');
    const spec = await stack.request('GET', '/openapi.json', { token: null });
    expect(spec.body).toEqual(loadSpec());
  });
});

describe('403', () => {
  test('a viewer may read but not spawn, act, destroy or cancel', async () => {
    const viewer = stack.tokens.viewer;
    expect((await stack.request('GET', '/v1/instances', { token: viewer })).status).toBe(200);
    expect((await stack.request('GET', '/v1/templates', { token: viewer })).status).toBe(200);
    const spawn = await stack.request('PUT', '/v1/instances/v1', {
      token: viewer,
      body: { template },
    });
    expect([spawn.status, spawn.body.code]).toEqual([403, 'forbidden']);
    const act = await stack.request('POST', '/v1/instances/v1/actions', {
      token: viewer,
      body: { action: 'power-on' },
    });
    expect(act.status).toBe(403);
    expect((await stack.request('DELETE', '/v1/instances/v1', { token: viewer })).status).toBe(403);
    expect((await stack.request('DELETE', '/v1/operations/op-1', { token: viewer })).status).toBe(
      403,
    );
  });

  test('only an admin sees the pool-wide host view', async () => {
    expect((await stack.request('GET', '/v1/host', { token: stack.tokens.viewer })).status).toBe(
      403,
    );
    const op = await stack.request('GET', '/v1/host', { token: stack.tokens.operator });
    expect([op.status, op.body.code]).toEqual([403, 'forbidden']);
    expect((await stack.request('GET', '/v1/host', { token: stack.tokens.admin })).status).toBe(
      200,
    );
  });
});

describe('namespaces', () => {
  test("another namespace's instance and operation answer 404 and are not listed", async () => {
    const spawn = await stack.request('PUT', '/v1/instances/ns-1', {
      body: { template, power_on: false },
      headers: { prefer: 'wait=15' },
    });
    expect(spawn.body.status).toBe('succeeded');
    const other = stack.tokens.other;
    const get = await stack.request('GET', '/v1/instances/ns-1', { token: other });
    expect([get.status, get.body.code]).toEqual([404, 'instance_not_found']);
    const act = await stack.request('POST', '/v1/instances/ns-1/actions', {
      token: other,
      body: { action: 'power-on' },
    });
    expect([act.status, act.body.code]).toEqual([404, 'instance_not_found']);
    const op = await stack.request('GET', `/v1/operations/${encodeURIComponent(spawn.body.id)}`, {
      token: other,
    });
    expect([op.status, op.body.code]).toEqual([404, 'operation_not_found']);
    const list = await stack.request('GET', '/v1/instances', { token: other });
    expect(list.body.items.map((i: { id: string }) => i.id)).not.toContain('ns-1');
    const admin = await stack.request('GET', '/v1/instances/ns-1', { token: stack.tokens.admin });
    expect(admin.status).toBe(200);
    // The same id in another namespace is another instance.
    const theirs = await stack.request('PUT', '/v1/instances/ns-1', {
      token: other,
      body: { template, power_on: false },
      headers: { prefer: 'wait=15' },
    });
    expect(theirs.body.status).toBe('succeeded');
    expect(theirs.body.result.namespace).toBe('beta');
    for (const token of [stack.tokens.operator, other])
      await stack.request('DELETE', '/v1/instances/ns-1', {
        token,
        headers: { prefer: 'wait=15' },
      });
  });
});

describe('tokens file', () => {
  test('parses JSON lines of hashes, skipping blanks and comments', () => {
    const text = [
      '# tokens',
      tokenLine('a', 'team-a', 'operator', 's3cret'),
      '',
      JSON.stringify({ id: 'b', namespace: 'team-b', role: 'viewer', sha256: hashToken('other') }),
    ].join('\n');
    const store = TokenStore.parse(text);
    expect(store.size).toBe(2);
    expect(store.lookup('s3cret')).toEqual({ tokenId: 'a', namespace: 'team-a', role: 'operator' });
    expect(store.lookup('other')?.role).toBe('viewer');
    expect(store.lookup('nope')).toBeUndefined();
    expect(text).not.toContain('s3cret');
  });

  test.each([
    ['not json', /tokens.jsonl:2: not a JSON object/],
    [
      '{"id":"a","namespace":"x","role":"root","sha256":"' + 'a'.repeat(64) + '"}',
      /"role" must be one of/,
    ],
    ['{"id":"a","namespace":"x","role":"admin","sha256":"abc"}', /"sha256" must be 64/],
    [
      '{"id":"a","namespace":"bad ns","role":"admin","sha256":"' + 'a'.repeat(64) + '"}',
      /"namespace" must match/,
    ],
    ['{"namespace":"x","role":"admin","sha256":"' + 'a'.repeat(64) + '"}', /"id" must be/],
  ])('rejects %s naming the line', (line, message) => {
    expect(() => TokenStore.parse(`# header\n${line}`, 'tokens.jsonl')).toThrow(message);
  });

  test('fromFile reads a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcd-tokens-'));
    const file = join(dir, 'tokens.jsonl');
    writeFileSync(file, `${tokenLine('ci', 'ci', 'admin', 'tok')}\n`);
    expect(TokenStore.fromFile(file).lookup('tok')?.namespace).toBe('ci');
  });
});
