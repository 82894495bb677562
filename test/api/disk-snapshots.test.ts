// The HTTP surface of the `disk-snapshots` tag on the real stack (responses validated against
// the spec): create by id (a retry 200 at once), list per device, export (VHD), revert, delete
// (204 once gone), and the refusals a caller can meet: 400 on a bad id or device, 403 for a
// viewer, 404 for another namespace and an unknown snapshot, 409 for a device holding no disk
// the instance owns and for a root disk revert while running. Also through the typed client.
import { XcdClient } from '../../src/client';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=15' };
const base = '/v1/instances/hs-1/disks';

beforeAll(async () => {
  stack = await startStack();
  const templates = await stack.request('GET', '/v1/templates');
  const template =
    templates.body.items.find((t: { disk_gb?: number }) => t.disk_gb)?.uuid ??
    templates.body.items[0].uuid;
  const res = await stack.request('PUT', '/v1/instances/hs-1', {
    body: { template, vcpus: 1, memory_mb: 256, disks: [{ size_gb: 1 }] },
    headers: wait,
  });
  expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
});
afterAll(async () => {
  await stack?.close();
});

function dataDevice(): string {
  const inst = stack.driver.getInstance(
    { namespace: 'alpha', role: 'viewer', tokenId: 't' },
    'hs-1',
  );
  return inst.disks.find((d) => d.type === 'disk' && d.device !== '0')!.device;
}

test('create, list, revert and delete a disk snapshot over HTTP', async () => {
  const dev = dataDevice();
  const created = await stack.request('PUT', `${base}/${dev}/snapshots/7`, {
    body: { name: 'first' },
    headers: wait,
  });
  expect([created.status, created.body.status, created.body.kind]).toEqual([
    200,
    'succeeded',
    'disk-snapshot',
  ]);
  const again = await stack.request('PUT', `${base}/${dev}/snapshots/7`, { headers: wait });
  expect([again.status, again.body.status]).toEqual([200, 'succeeded']);
  const list = await stack.request('GET', `${base}/${dev}/snapshots`);
  expect(list.status).toBe(200);
  expect(list.body.items).toEqual([
    expect.objectContaining({ id: '7', name: 'first', device: dev, instance_id: 'hs-1' }),
  ]);
  const whole = await stack.request('GET', '/v1/instances/hs-1/snapshots');
  expect(whole.body.items).toEqual([]);
  const file = await fetch(`${stack.url}${base}/${dev}/snapshots/7/file?format=vhd`, {
    headers: { authorization: `Bearer ${stack.tokens.operator}` },
  });
  expect([file.status, file.headers.get('content-type')]).toEqual([
    200,
    'application/octet-stream',
  ]);
  const vhd = Buffer.from(await file.arrayBuffer());
  expect(vhd.subarray(-512, -504).toString()).toBe('conectix'); // a VHD footer
  const none = await stack.request('GET', `${base}/${dev}/snapshots/8/file?format=vhd`);
  expect([none.status, none.body.code]).toEqual([404, 'snapshot_not_found']);
  const revert = await stack.request('POST', `${base}/${dev}/snapshots/7/revert`, {
    headers: wait,
  });
  expect([revert.status, revert.body.status, revert.body.kind]).toEqual([
    200,
    'succeeded',
    'revert-disk-snapshot',
  ]);
  const del = await stack.request('DELETE', `${base}/${dev}/snapshots/7`, { headers: wait });
  expect([del.status, del.body.status]).toEqual([200, 'succeeded']);
  expect((await stack.request('DELETE', `${base}/${dev}/snapshots/7`)).status).toBe(204);
  expect((await stack.request('GET', `${base}/${dev}/snapshots`)).body.items).toEqual([]);
});

test('refusals answer problem+json with stable codes', async () => {
  const dev = dataDevice();
  const cases: Array<[string, string, Record<string, unknown>, number, string]> = [
    ['PUT', `${base}/${dev}/snapshots/-bad`, {}, 400, 'invalid_request'],
    ['PUT', `${base}/07/snapshots/a`, {}, 400, 'invalid_request'],
    ['PUT', `${base}/${dev}/snapshots/a`, { body: { extra: 1 } }, 400, 'invalid_request'],
    ['PUT', `${base}/${dev}/snapshots/a`, { token: stack.tokens.viewer }, 403, 'forbidden'],
    ['PUT', `${base}/${dev}/snapshots/a`, { token: stack.tokens.other }, 404, 'instance_not_found'],
    ['GET', `${base}/${dev}/snapshots`, { token: stack.tokens.other }, 404, 'instance_not_found'],
    ['PUT', `${base}/9/snapshots/a`, {}, 409, 'operation_not_allowed'],
    ['POST', `${base}/${dev}/snapshots/none/revert`, {}, 404, 'snapshot_not_found'],
  ];
  for (const [method, path, opts, status, code] of cases) {
    const res = await stack.request(method, path, opts as never);
    expect({ method, path, status: res.status, code: res.body?.code }).toEqual({
      method,
      path,
      status,
      code,
    });
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  }
});

test('a root disk revert while running answers 409 invalid_power_state; the client speaks it', async () => {
  const client = new XcdClient({ url: stack.url, token: stack.tokens.operator });
  const op = await client.createDiskSnapshot('hs-1', '0', 'r1', {}, { wait: 15 });
  expect(op.status).toBe('succeeded');
  expect((await client.listDiskSnapshots('hs-1', '0')).map((s) => s.id)).toEqual(['r1']);
  // The spawn started it.
  expect((await stack.request('GET', '/v1/instances/hs-1')).body.power_state).toBe('running');
  const res = await stack.request('POST', `${base}/0/snapshots/r1/revert`, { headers: wait });
  expect([res.status, res.body.code]).toEqual([409, 'invalid_power_state']);
  expect(await client.deleteDiskSnapshot('hs-1', '0', 'r1', { wait: 15 })).toMatchObject({
    status: 'succeeded',
  });
  expect(await client.deleteDiskSnapshot('hs-1', '0', 'r1')).toBeNull();
});
