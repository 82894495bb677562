// The HTTP surface of the `config-drive` tag on the real stack (responses validated against the
// spec): a rebuild answers its operation, the drive then holds what was sent; the refusals a
// caller can meet: 400 on a body off the contract, 403 for a viewer, 404 for another namespace.
// Also through the typed client.
import { XcdClient } from '../../src/client';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=15' };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

beforeAll(async () => {
  stack = await startStack();
  const templates = await stack.request('GET', '/v1/templates');
  const template =
    templates.body.items.find((t: { disk_gb?: number }) => t.disk_gb)?.uuid ??
    templates.body.items[0].uuid;
  const res = await stack.request('PUT', '/v1/instances/hc-1', {
    body: { template, vcpus: 1, memory_mb: 256, user_data: b64('one') },
    headers: wait,
  });
  expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
});
afterAll(async () => {
  await stack?.close();
});

test('PUT /config-drive rebuilds the drive; the client speaks it', async () => {
  const drive = () =>
    stack.driver
      .getInstance({ namespace: 'alpha', role: 'viewer', tokenId: 't' }, 'hc-1')
      .disks.find((d) => d.type === 'cdrom' && d.uuid)!.uuid;
  const first = drive();
  const res = await stack.request('PUT', '/v1/instances/hc-1/config-drive', {
    body: { user_data: b64('two'), metadata: { a: 1 } },
    headers: wait,
  });
  expect([res.status, res.body.status, res.body.kind]).toEqual([
    200,
    'succeeded',
    'update-config-drive',
  ]);
  const second = drive();
  expect(second).not.toBe(first);
  const client = new XcdClient({ url: stack.url, token: stack.tokens.operator });
  const op = await client.updateConfigDrive('hc-1', { metadata: { a: 2 } }, { wait: 15 });
  expect(op).toMatchObject({ status: 'succeeded', kind: 'update-config-drive' });
  expect(drive()).not.toBe(second);
});

test('refusals answer problem+json with stable codes', async () => {
  const path = '/v1/instances/hc-1/config-drive';
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ body: { user_data: 'not base64!' } }, 400, 'invalid_request'],
    [{ body: { other: 1 } }, 400, 'invalid_request'],
    [{ body: {}, token: stack.tokens.viewer }, 403, 'forbidden'],
    [{ body: {}, token: stack.tokens.other }, 404, 'instance_not_found'],
  ];
  for (const [opts, status, code] of cases) {
    const res = await stack.request('PUT', path, opts as never);
    expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  }
});
