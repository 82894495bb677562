// /metrics exposes request latency per route template, XAPI call latency per method (the
// instrumented client), mirror object counts and sync time, in the Prometheus text format.
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

test('request, XAPI and mirror metrics are exported', async () => {
  const template = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
  await stack.request('GET', '/v1/instances/m-1');
  const spawn = await stack.request('PUT', '/v1/instances/m-1', {
    body: { template, power_on: false },
    headers: { prefer: 'wait=15' },
  });
  expect(spawn.body.status).toBe('succeeded');
  const res = await stack.request('GET', '/metrics', { token: null });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = res.body as string;
  expect(text).toMatch(
    /xcd_http_request_duration_seconds_count\{method="GET",route="\/v1\/instances\/:instance_id",status="404"\} 1/,
  );
  expect(text).toMatch(
    /xcd_http_request_duration_seconds_count\{method="PUT",route="\/v1\/instances\/:instance_id",status="200"\} 1/,
  );
  expect(text).toMatch(
    /xcd_xapi_call_duration_seconds_count\{method="[A-Za-z.]+",outcome="ok"\} \d+/,
  );
  expect(text).toMatch(/xcd_mirror_objects\{class="VM"\} [1-9]\d*/);
  expect(text).toMatch(/xcd_mirror_sync_seconds \d/);
  await stack.request('DELETE', '/v1/instances/m-1', { headers: { prefer: 'wait=15' } });
});
