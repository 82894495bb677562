// The fast lane for GET /v1/instances/{id} (src/api/fast-read.ts), on a stack without response
// validation (where the lane is on): the same answer, headers and metric as the full stack, and
// every failing case still answered by express (401, 400 naming the field, 404).
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ validateResponses: false });
  const template = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
  const put = await stack.request('PUT', '/v1/instances/fast-1', {
    body: { template, power_on: false },
    headers: { prefer: 'wait=30' },
  });
  expect(put.status).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});

const count = async (status: number): Promise<number> => {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('xcd_http_request_duration_seconds_count{') &&
        l.includes('method="GET"') &&
        l.includes('route="/v1/instances/:instance_id"') &&
        l.includes(`status="${status}"`),
    );
  return line ? Number(line.split(' ').pop()) : 0;
};

test('a plain GET answers the instance as the list shows it, with the usual headers and metric', async () => {
  const before = await count(200);
  const res = await stack.request('GET', '/v1/instances/fast-1', {
    headers: { 'x-request-id': 'poll-1' },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.headers.get('x-request-id')).toBe('poll-1');
  expect(res.headers.get('etag')).toBeNull();
  expect(Number(res.headers.get('content-length'))).toBe(
    Buffer.byteLength(JSON.stringify(res.body)),
  );
  const list = await stack.request('GET', '/v1/instances');
  expect(res.body).toEqual(list.body.items.find((i: { id: string }) => i.id === 'fast-1'));
  expect(await count(200)).toBe(before + 1);
});

test('failures are answered by the full stack', async () => {
  const none = await stack.request('GET', '/v1/instances/fast-1', { token: null });
  expect([none.status, none.body.code]).toEqual([401, 'unauthorized']);
  const bad = await stack.request('GET', '/v1/instances/-bad');
  expect([bad.status, bad.body.errors?.[0]?.field]).toEqual([400, 'path.instance_id']);
  const missing = await stack.request('GET', '/v1/instances/fast-missing');
  expect([missing.status, missing.body.code]).toEqual([404, 'instance_not_found']);
  const other = await stack.request('GET', '/v1/instances/fast-1', { token: stack.tokens.other });
  expect([other.status, other.body.code]).toEqual([404, 'instance_not_found']);
  const query = await stack.request('GET', '/v1/instances/fast-1?x=1');
  expect(query.status).toBe(400);
});
