// Prefer: wait=N (RFC 7240) on mutating calls and on GET /v1/operations/{id}: 202 with Location
// and no waiting by default, 200 with the final operation and Preference-Applied when it ends in
// time, and the header parser's edge cases. Runs the real stack.
import { MAX_WAIT_S, preferredWait } from '../../src/api/prefer';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
let template: string;

beforeAll(async () => {
  stack = await startStack({ sim: { timeScale: 0.05 } });
  template = (await stack.request('GET', '/v1/templates')).body.items[0].name_label;
});
afterAll(async () => {
  await stack?.close();
});

test('without Prefer a spawn answers 202 with Location; the operation can be followed', async () => {
  const res = await stack.request('PUT', '/v1/instances/p-1', {
    body: { template, power_on: false },
  });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('running');
  expect(res.headers.get('location')).toBe(`/v1/operations/${encodeURIComponent(res.body.id)}`);
  expect(res.headers.get('preference-applied')).toBeNull();
  const done = await stack.request('GET', res.headers.get('location')!, {
    headers: { prefer: 'wait=15' },
  });
  expect(done.status).toBe(200);
  expect(done.body.status).toBe('succeeded');
  expect(done.headers.get('preference-applied')).toBe('wait=15');
  expect(done.headers.get('vary')).toMatch(/Prefer/);
  // A replay of the finished spawn answers the same operation, final: 200.
  const replay = await stack.request('PUT', '/v1/instances/p-1', {
    body: { template, power_on: false },
  });
  expect([replay.status, replay.body.id, replay.body.status]).toEqual([
    200,
    res.body.id,
    'succeeded',
  ]);
  // A different body for the same id is a conflict.
  const clash = await stack.request('PUT', '/v1/instances/p-1', {
    body: { template, power_on: false, vcpus: 3 },
  });
  expect([clash.status, clash.body.code]).toEqual([409, 'conflict_spawn_mismatch']);
});

test('Prefer: wait=N answers 200 with the final operation and Preference-Applied', async () => {
  const res = await stack.request('POST', '/v1/instances/p-1/actions', {
    body: { action: 'power-on' },
    headers: { prefer: 'respond-async, wait=15' },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('preference-applied')).toBe('wait=15');
  expect(res.body).toMatchObject({ kind: 'power-on', status: 'succeeded', progress: 1 });
  expect(res.body.result.power_state).toBe('running');
  expect(res.body.finished_at).not.toBeNull();
});

test('Prefer: wait=0 does not wait', async () => {
  const res = await stack.request('DELETE', '/v1/instances/p-1', { headers: { prefer: 'wait=0' } });
  expect(res.status).toBe(202);
  expect(res.headers.get('preference-applied')).toBe('wait=0');
  const done = await stack.request('GET', `/v1/operations/${encodeURIComponent(res.body.id)}`, {
    headers: { prefer: 'wait=15' },
  });
  expect(done.body.status).toBe('succeeded');
});

test('the Prefer parser', () => {
  expect(preferredWait(undefined)).toBeUndefined();
  expect(preferredWait('respond-async')).toBeUndefined();
  expect(preferredWait('wait=10')).toBe(10);
  expect(preferredWait('respond-async, WAIT = 7')).toBe(7);
  expect(preferredWait('wait="3"')).toBe(3);
  expect(preferredWait(['handling=lenient', 'wait=2'])).toBe(2);
  expect(preferredWait('wait=99999')).toBe(MAX_WAIT_S);
  expect(preferredWait('wait=-1')).toBeUndefined();
});

test('DELETE /v1/operations/{id} cancels a running spawn, which leaves nothing behind', async () => {
  const vms = stack.sim.store.count('VM');
  const res = await stack.request('PUT', '/v1/instances/p-cancel', { body: { template } });
  expect(res.status).toBe(202);
  const cancel = await stack.request('DELETE', `/v1/operations/${encodeURIComponent(res.body.id)}`);
  expect(cancel.status).toBe(200);
  const done = await stack.request('GET', `/v1/operations/${encodeURIComponent(res.body.id)}`, {
    headers: { prefer: 'wait=15' },
  });
  expect(done.body.status).toBe('cancelled');
  expect(done.body.error).toMatchObject({ code: 'cancelled', type: 'urn:xcd:error:cancelled' });
  const get = await stack.request('GET', '/v1/instances/p-cancel');
  expect([get.status, get.body.code]).toEqual([404, 'instance_not_found']);
  expect(stack.sim.store.count('VM')).toBe(vms);
});
