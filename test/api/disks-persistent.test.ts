// Persistent disks over HTTP on the real stack (responses validated against the spec): an image
// attached with `persistent: true`, shown `in_use_by` with an empty checksum, every use that
// would read or share it answering 409 image_in_use, another tenant's attempt 404, and the
// detach (DELETE .../disks/{device}) giving the image back with the bytes written; a spawn with
// `persistent_image` booting from the image, its destroy giving it back.
import { randomBytes } from 'node:crypto';
import { startStack, TOKENS, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=15' };
const bytes = randomBytes(1024 * 1024);

beforeAll(async () => {
  stack = await startStack();
  const templates = await stack.request('GET', '/v1/templates');
  const template = templates.body.items[0].uuid;
  for (const id of ['hp-1', 'hp-2']) {
    const res = await stack.request('PUT', `/v1/instances/${id}`, {
      body: { template, vcpus: 1, memory_mb: 256 },
      headers: wait,
    });
    expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
  }
  const up = await fetch(`${stack.url}/v1/images/hp-img?format=raw`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${TOKENS.operator}`,
      'content-type': 'application/octet-stream',
      prefer: 'wait=30',
    },
    body: bytes,
  });
  expect(up.status).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});

test('an image attached as a persistent disk is held by one instance until its detach', async () => {
  const add = await stack.request('PUT', '/v1/instances/hp-1/disks/4', {
    body: { image: 'hp-img', persistent: true },
    headers: wait,
  });
  expect([add.status, add.body.status]).toEqual([200, 'succeeded']);
  const image = await stack.request('GET', '/v1/images/hp-img');
  expect(image.body).toMatchObject({ in_use_by: 'hp-1', checksum: '', status: 'active' });
  const disk = add.body.result.disks.find((d: { device: string }) => d.device === '4');
  expect(disk).toMatchObject({ type: 'disk' });

  const conflicts = [
    await stack.request('PUT', '/v1/instances/hp-2/disks/4', {
      body: { image: 'hp-img', persistent: true },
    }),
    await stack.request('PUT', '/v1/instances/hp-2/disks/4', { body: { image: 'hp-img' } }),
    await stack.request('GET', '/v1/images/hp-img/file?format=raw'),
    await stack.request('DELETE', '/v1/images/hp-img'),
    await stack.request('PATCH', '/v1/images/hp-img', {
      body: { public: true },
      token: TOKENS.admin,
    }),
  ];
  expect(conflicts.map((r) => [r.status, r.body?.code])).toEqual(
    Array(5).fill([409, 'image_in_use']),
  );
  const other = await stack.request('PUT', '/v1/instances/hp-1/disks/5', {
    body: { image: 'hp-img', persistent: true, size_gb: 2 },
  });
  expect([other.status, other.body.code]).toEqual([400, 'invalid_request']);

  // The guest writes; the detach gives the image back with those bytes.
  const written = randomBytes(bytes.length);
  const vdiRef = stack.xapi.mirror.getByUuid('VDI', disk.uuid)!.$ref;
  await stack.xapi.httpPut('/import_raw_vdi', { vdi: vdiRef, format: 'raw' }, written);
  const removed = await stack.request('DELETE', '/v1/instances/hp-1/disks/4', { headers: wait });
  expect([removed.status, removed.body.status]).toEqual([200, 'succeeded']);
  const after = await stack.request('GET', '/v1/images/hp-img');
  expect(after.body.in_use_by).toBeUndefined();
  expect(after.body).toMatchObject({ status: 'active', checksum: '' });
  const file = await fetch(`${stack.url}/v1/images/hp-img/file?format=raw`, {
    headers: { authorization: `Bearer ${TOKENS.operator}` },
  });
  expect(file.status).toBe(200);
  const got = Buffer.from(await file.arrayBuffer()).subarray(0, written.length);
  expect(got.equals(written)).toBe(true);
});

test("another namespace cannot attach a tenant's private image", async () => {
  const templates = await stack.request('GET', '/v1/templates', { token: TOKENS.other });
  const res = await stack.request('PUT', '/v1/instances/hp-other', {
    body: { template: templates.body.items[0].uuid, vcpus: 1, memory_mb: 256 },
    headers: wait,
    token: TOKENS.other,
  });
  expect(res.status).toBe(200);
  const add = await stack.request('PUT', '/v1/instances/hp-other/disks/4', {
    body: { image: 'hp-img', persistent: true },
    token: TOKENS.other,
  });
  expect([add.status, add.body.code]).toEqual([404, 'image_not_found']);
});

test('a spawn with persistent_image boots from the image; its destroy gives the image back', async () => {
  const res = await stack.request('PUT', '/v1/instances/hp-root', {
    body: { image: 'hp-img', persistent_image: true, vcpus: 1, memory_mb: 256 },
    headers: wait,
  });
  expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
  const root = res.body.result.disks.find((d: { device: string }) => d.device === '0');
  expect(root).toMatchObject({ type: 'disk', bootable: true });
  expect((await stack.request('GET', '/v1/images/hp-img')).body.in_use_by).toBe('hp-root');
  const twice = await stack.request('PUT', '/v1/instances/hp-root-2', {
    body: { image: 'hp-img', persistent_image: true },
  });
  expect([twice.status, twice.body.code]).toEqual([409, 'image_in_use']);
  const grown = await stack.request('PUT', '/v1/instances/hp-root-2', {
    body: { image: 'hp-img', persistent_image: true, root_disk_gb: 4 },
  });
  expect([grown.status, grown.body.code]).toEqual([400, 'invalid_request']);
  const gone = await stack.request('DELETE', '/v1/instances/hp-root', { headers: wait });
  expect([gone.status, gone.body.status]).toEqual([200, 'succeeded']);
  expect(stack.xapi.mirror.getByUuid('VDI', root.uuid)).toBeDefined();
  const after = await stack.request('GET', '/v1/images/hp-img');
  expect(after.body.in_use_by).toBeUndefined();
  expect(after.body.status).toBe('active');
});
