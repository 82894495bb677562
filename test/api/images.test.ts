// The images routes over the real app, driver and simulator: raw uploads streamed into a VDI and
// exported back byte for byte, idempotency by image id, tenancy, and every bad input answering
// its code with no VDI left behind.
import { randomBytes, createHash } from 'node:crypto';
import { startStack, TOKENS, type Stack } from '../helpers/stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const MiB = 1024 * 1024;

/** PUT the bytes as an octet-stream upload, waiting for the operation. */
async function upload(
  id: string,
  bytes: Buffer,
  query: string,
  token: string = TOKENS.operator,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.url}/v1/images/${id}?${query}`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      prefer: 'wait=30',
    },
    body: bytes,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: await res.json() };
}

async function download(
  id: string,
  format = 'raw',
  token: string = TOKENS.operator,
): Promise<Buffer> {
  const res = await fetch(`${stack.url}/v1/images/${id}/file?format=${format}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** VDIs tagged for an image id (any state), once the mirror has caught up with a destroy. */
async function imageVdis(id: string): Promise<number> {
  const count = (): number =>
    stack.xapi.mirror.query('VDI', {
      where: { 'other_config.xcd_image_id': id },
      fields: ['uuid'],
    }).length;
  const deadline = Date.now() + 5000;
  while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return count();
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('a raw upload is streamed into one base VDI and exported byte for byte', async () => {
  const bytes = randomBytes(3 * MiB);
  const { status, body } = await upload('raw-1', bytes, 'format=raw&name=Raw%20one');
  expect(status).toBe(200);
  expect(body).toMatchObject({ kind: 'import-image', status: 'succeeded', image_id: 'raw-1' });
  expect(body.result).toMatchObject({
    id: 'raw-1',
    name: 'Raw one',
    namespace: 'alpha',
    public: false,
    format: 'raw',
    virtual_size: bytes.length,
    status: 'active',
    checksum: sha256(bytes),
  });
  expect(body.result.srs).toHaveLength(1);
  expect(await imageVdis('raw-1')).toBe(1);
  expect((await download('raw-1')).equals(bytes)).toBe(true);
  const got = await stack.request('GET', '/v1/images/raw-1');
  expect(got.body).toEqual(body.result);
  const list = await stack.request('GET', '/v1/images');
  expect(list.body.items.map((i: { id: string }) => i.id)).toContain('raw-1');
});

test('the same bytes again answer the same image; different bytes 409 image_conflict', async () => {
  const bytes = randomBytes(64 * 1024);
  expect((await upload('again', bytes, 'format=raw')).body.status).toBe('succeeded');
  const replay = await upload('again', bytes, 'format=raw');
  expect(replay.body).toMatchObject({ status: 'succeeded', result: { id: 'again' } });
  const other = await upload('again', randomBytes(64 * 1024), 'format=raw');
  expect(other.body).toMatchObject({
    status: 'failed',
    error: { status: 409, code: 'image_conflict' },
  });
  expect(await imageVdis('again')).toBe(1);
});

test('a checksum that does not match fails checksum_mismatch and leaves no VDI', async () => {
  const bytes = randomBytes(128 * 1024);
  const wrong = `md5:${'0'.repeat(32)}`;
  const { body } = await upload(
    'sum-bad',
    bytes,
    `format=raw&checksum=${encodeURIComponent(wrong)}`,
  );
  expect(body).toMatchObject({ status: 'failed', error: { code: 'checksum_mismatch' } });
  expect(await imageVdis('sum-bad')).toBe(0);
  const md5 = createHash('md5').update(bytes).digest('hex');
  const ok = await upload('sum-ok', bytes, `format=raw&checksum=md5%3A${md5}`);
  expect(ok.body.status).toBe('succeeded');
});

test('bytes of another format fail invalid_image, naming what they are', async () => {
  const qcow = Buffer.alloc(4096);
  qcow.write('QFI\xfb', 0, 'latin1');
  const { body } = await upload('mismatch', qcow, 'format=raw');
  expect(body).toMatchObject({ status: 'failed', error: { code: 'invalid_image' } });
  expect(body.error.detail).toMatch(/qcow2 image, not raw/);
  const notVhd = await upload('not-vhd', randomBytes(4096), 'format=vhd');
  expect(notVhd.body).toMatchObject({ status: 'failed', error: { code: 'invalid_image' } });
  expect((await imageVdis('mismatch')) + (await imageVdis('not-vhd'))).toBe(0);
});

test('an upload without a format is 400 invalid_request', async () => {
  const { status, body } = await upload('no-format', randomBytes(16), 'name=x');
  expect(status).toBe(400);
  expect(body.code).toBe('invalid_request');
});

test("another namespace's private image is 404; a public one is visible, deletable by admins only", async () => {
  await upload('shared', randomBytes(8192), 'format=raw');
  expect((await stack.request('GET', '/v1/images/shared', { token: TOKENS.other })).status).toBe(
    404,
  );
  const pub = await stack.request('PATCH', '/v1/images/shared', {
    token: TOKENS.admin,
    body: { public: true },
  });
  expect(pub.body).toMatchObject({ id: 'shared', public: true });
  const seen = await stack.request('GET', '/v1/images/shared', { token: TOKENS.other });
  expect(seen.body).toMatchObject({ id: 'shared', public: true, namespace: 'alpha' });
  expect((await stack.request('DELETE', '/v1/images/shared', { token: TOKENS.other })).status).toBe(
    403,
  );
  expect((await stack.request('DELETE', '/v1/images/shared')).status).toBe(403);
  expect((await stack.request('DELETE', '/v1/images/shared', { token: TOKENS.admin })).status).toBe(
    204,
  );
  expect(await imageVdis('shared')).toBe(0);
  expect((await stack.request('GET', '/v1/images/shared')).status).toBe(404);
});

test('an image beyond the SR free space fails 507 insufficient_storage', async () => {
  const vhd = Buffer.alloc(512);
  vhd.write('conectix', 0, 'latin1');
  vhd.writeBigUInt64BE(2n ** 60n, 48);
  vhd.writeUInt32BE(3, 60);
  const { body } = await upload('huge', vhd, 'format=vhd');
  expect(body).toMatchObject({
    status: 'failed',
    error: { status: 507, code: 'insufficient_storage' },
  });
  expect(await imageVdis('huge')).toBe(0);
});

test("a snapshot's disk is exported from the snapshot itself, in a format", async () => {
  const bytes = randomBytes(2 * MiB);
  expect((await upload('snap-src', bytes, 'format=raw')).body.status).toBe('succeeded');
  const spawn = await stack.request('PUT', '/v1/instances/snap-vm', {
    body: { image: 'snap-src', power_on: false },
    headers: { prefer: 'wait=30' },
  });
  expect(spawn.body).toMatchObject({ status: 'succeeded' });
  const snap = await stack.request('PUT', '/v1/instances/snap-vm/snapshots/s1', {
    body: {},
    headers: { prefer: 'wait=30' },
  });
  expect(snap.body).toMatchObject({ status: 'succeeded' });
  const res = await fetch(
    `${stack.url}/v1/instances/snap-vm/snapshots/s1/disks/0/file?format=raw`,
    {
      headers: { authorization: `Bearer ${TOKENS.operator}` },
    },
  );
  expect(res.status).toBe(200);
  expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  const other = await fetch(`${stack.url}/v1/instances/snap-vm/snapshots/s1/disks/0/file`, {
    headers: { authorization: `Bearer ${TOKENS.other}` },
  });
  expect(other.status).toBe(404);
  const none = await fetch(`${stack.url}/v1/instances/snap-vm/snapshots/s1/disks/7/file`, {
    headers: { authorization: `Bearer ${TOKENS.operator}` },
  });
  expect(none.status).toBe(404);
});
