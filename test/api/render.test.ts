// Instance views as the API sends them (src/api/render.ts keeps each view's JSON text), on the
// stack as `xcd serve` runs it (no response validation): GET of one instance answers the
// instance as the list shows it, byte for byte as JSON.stringify writes it, with the usual
// headers and metric; a change shows at once; and every failing read is answered as a problem.
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=30' };

beforeAll(async () => {
  stack = await startStack({ validateResponses: false });
  const template = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
  for (const id of ['read-1', 'read-2']) {
    const put = await stack.request('PUT', `/v1/instances/${id}`, {
      body: { template, power_on: false },
      headers: wait,
    });
    expect(put.status).toBe(200);
  }
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

test('GET of one instance answers it as the list shows it, with the usual headers and metric', async () => {
  const before = await count(200);
  const res = await fetch(`${stack.url}/v1/instances/read-1`, {
    headers: { authorization: `Bearer ${stack.tokens.operator}`, 'x-request-id': 'poll-1' },
  });
  const text = await res.text();
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.headers.get('x-request-id')).toBe('poll-1');
  expect(res.headers.get('etag')).toBeNull();
  expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(text));
  expect(text).toBe(JSON.stringify(JSON.parse(text)));
  const list = await stack.request('GET', '/v1/instances');
  expect(JSON.parse(text)).toEqual(list.body.items.find((i: { id: string }) => i.id === 'read-1'));
  expect(await count(200)).toBe(before + 1);
});

test('the list is written as JSON.stringify writes the page', async () => {
  const res = await fetch(`${stack.url}/v1/instances?limit=2&offset=0`, {
    headers: { authorization: `Bearer ${stack.tokens.operator}` },
  });
  const text = await res.text();
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  const page = JSON.parse(text) as { items: unknown[]; total: number };
  expect(text).toBe(JSON.stringify(page));
  expect(Object.keys(page)).toEqual(['items', 'total', 'limit', 'offset']);
  expect([page.items.length, page.total]).toEqual([2, 2]);
  const empty = await stack.request('GET', '/v1/instances?offset=5');
  expect(empty.body).toEqual({ items: [], total: 2, limit: 100, offset: 5 });
});

test('a change to an instance shows in its next read and in the list', async () => {
  const read = async (): Promise<[string, string]> => {
    const one = await stack.request('GET', '/v1/instances/read-2');
    const list = await stack.request('GET', '/v1/instances');
    const item = list.body.items.find((i: { id: string }) => i.id === 'read-2');
    return [one.body.power_state, item.power_state];
  };
  expect(await read()).toEqual(['shutdown', 'shutdown']);
  const on = await stack.request('POST', '/v1/instances/read-2/actions', {
    body: { action: 'power-on' },
    headers: wait,
  });
  expect([on.status, on.body.status]).toEqual([200, 'succeeded']);
  expect(await read()).toEqual(['running', 'running']);
});

test('failing reads are answered as problems', async () => {
  const none = await stack.request('GET', '/v1/instances/read-1', { token: null });
  expect([none.status, none.body.code]).toEqual([401, 'unauthorized']);
  const bad = await stack.request('GET', '/v1/instances/-bad');
  expect([bad.status, bad.body.errors?.[0]?.field]).toEqual([400, 'path.instance_id']);
  const missing = await stack.request('GET', '/v1/instances/read-missing');
  expect([missing.status, missing.body.code]).toEqual([404, 'instance_not_found']);
  const other = await stack.request('GET', '/v1/instances/read-1', { token: stack.tokens.other });
  expect([other.status, other.body.code]).toEqual([404, 'instance_not_found']);
  const query = await stack.request('GET', '/v1/instances/read-1?x=1');
  expect([query.status, query.body.errors?.[0]?.field]).toEqual([400, 'query.x']);
  for (const res of [none, bad, missing, other, query])
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
});
