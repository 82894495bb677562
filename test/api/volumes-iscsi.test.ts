// The iSCSI volume contract over HTTP on the real stack (responses validated against the spec):
// Cinder's connection_info accepted as it is, the attachment listed with its volume_id and
// target, detached by the same id; hosts[].iscsi_iqn in GET /v1/host; a bad connection's
// problem codes; another namespace kept out; and the CHAP password in no answer, operation
// record, journal message or log line of the service (its own logger, at debug level).
import { Writable } from 'node:stream';
import { createLogger } from '../../src/api/logger';
import {
  ISCSI_IQN,
  ISCSI_PORTAL,
  SECRET,
  connection,
  registerTarget,
} from '../driver/iscsi-helpers';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const lines: string[] = [];
const wait = { prefer: 'wait=15' };

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  stack = await startStack({ logger: createLogger({ level: 'debug' }, sink) });
  registerTarget(stack.sim);
  const templates = await stack.request('GET', '/v1/templates');
  const template = templates.body.items.find((t: { disk_gb?: number }) => t.disk_gb)?.uuid;
  const res = await stack.request('PUT', '/v1/instances/web-1', {
    body: { template, vcpus: 1, memory_mb: 256 },
    headers: wait,
  });
  expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
});
afterAll(async () => {
  await stack?.close();
});

test('GET /v1/host gives each host its iSCSI initiator IQN', async () => {
  const res = await stack.request('GET', '/v1/host', { token: stack.tokens.admin });
  expect(res.status).toBe(200);
  const want = new Map(
    [...stack.sim.store.all('host').values()].map((h: any) => [h.uuid, h.iscsi_iqn]),
  );
  expect(res.body.hosts).toHaveLength(want.size);
  for (const h of res.body.hosts) {
    expect(h.iscsi_iqn).toMatch(/^iqn\./);
    expect(h.iscsi_iqn).toBe(want.get(h.uuid));
  }
  // A host whose iscsi_iqn field is empty (older xapi) gives other_config:iscsi_iqn.
  const [ref, rec] = [...stack.sim.store.all('host').entries()][1]! as [string, any];
  stack.sim.store.update('host', ref, {
    iscsi_iqn: '',
    other_config: { ...rec.other_config, iscsi_iqn: 'iqn.2005-01.org.example:legacy' },
  });
  for (let i = 0; i < 200; i++) {
    const now = await stack.request('GET', '/v1/host', { token: stack.tokens.admin });
    const h = now.body.hosts.find((x: { uuid: string }) => x.uuid === rec.uuid);
    if (h.iscsi_iqn === 'iqn.2005-01.org.example:legacy') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('GET /v1/host never gave the other_config IQN');
});

test('a volume by connection is attached, listed, detached, and its password never shown', async () => {
  const put = await stack.request('PUT', '/v1/instances/web-1/volumes/cinder-vol-1', {
    body: { connection: connection(1), device: '5', mode: 'RW' },
    headers: wait,
  });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ kind: 'attach-volume', status: 'succeeded' });
  const list = await stack.request('GET', '/v1/instances/web-1/volumes');
  expect(list.body.items).toEqual([
    expect.objectContaining({
      volume_id: 'cinder-vol-1',
      device: '5',
      size_gb: 3,
      iscsi: { target_portal: ISCSI_PORTAL, target_iqn: ISCSI_IQN, target_lun: 1 },
    }),
  ]);
  // The target's SR is no place for disks, and not in the catalogue.
  const srs = await stack.request('GET', '/v1/srs');
  expect(srs.status).toBe(200);
  expect(srs.body.items.length).toBeGreaterThan(0);
  expect(srs.body.items.some((sr: { type: string }) => sr.type === 'iscsi')).toBe(false);
  expect([...stack.sim.store.all('SR').values()].some((sr: any) => sr.type === 'iscsi')).toBe(true);
  const op = await stack.request('GET', `/v1/operations/${put.body.id}`);
  const ops = await stack.request('GET', '/v1/operations');
  const instance = await stack.request('GET', '/v1/instances/web-1');
  for (const answer of [put, list, op, ops, instance])
    expect(JSON.stringify(answer.body)).not.toContain(SECRET);

  // Another namespace neither sees nor detaches it.
  const other = { token: stack.tokens.other };
  expect((await stack.request('GET', '/v1/instances/web-1/volumes', other)).status).toBe(404);
  const foreign = await stack.request('DELETE', '/v1/instances/web-1/volumes/cinder-vol-1', other);
  expect([foreign.status, foreign.body.code]).toEqual([404, 'instance_not_found']);

  const del = await stack.request('DELETE', '/v1/instances/web-1/volumes/cinder-vol-1', {
    headers: wait,
  });
  expect([del.status, del.body.status]).toEqual([200, 'succeeded']);
  expect((await stack.request('GET', '/v1/instances/web-1/volumes')).body.items).toEqual([]);
  const again = await stack.request('DELETE', '/v1/instances/web-1/volumes/cinder-vol-1');
  expect(again.status).toBe(204);
  expect([...stack.sim.store.all('SR').values()].some((sr: any) => sr.type === 'iscsi')).toBe(
    false,
  );
});

test('a bad connection fails with its problem code; a malformed one is a 400 without the password', async () => {
  const put = await stack.request('PUT', '/v1/instances/web-1/volumes/cinder-vol-2', {
    body: { connection: connection(0, { auth_password: `${SECRET}-wrong` }) },
    headers: wait,
  });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({
    status: 'failed',
    error: {
      type: 'urn:xcd:error:iscsi_login_failed',
      status: 422,
      code: 'iscsi_login_failed',
      xapi_error: { code: 'SR_BACKEND_FAILURE_68' },
    },
  });
  expect(JSON.stringify(put.body)).not.toContain(SECRET);

  for (const data of [
    { target_lun: 'zero' },
    { target_portal: 'not a portal' },
    { target_iqn: 'no-iqn' },
  ]) {
    const bad = await stack.request('PUT', '/v1/instances/web-1/volumes/cinder-vol-3', {
      body: { connection: connection(0, data) },
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'invalid_request']);
    expect(bad.headers.get('content-type')).toMatch(/problem\+json/);
    expect(JSON.stringify(bad.body)).not.toContain(SECRET);
  }
  const port = await stack.request('PUT', '/v1/instances/web-1/volumes/cinder-vol-3', {
    body: { connection: connection(0, { target_portal: '10.0.0.5:70000' }) },
  });
  expect([port.status, port.body.code]).toEqual([400, 'invalid_request']);
  const kind = await stack.request('PUT', '/v1/instances/web-1/volumes/cinder-vol-3', {
    body: { connection: { driver_volume_type: 'rbd', data: connection(0).data } },
  });
  expect([kind.status, kind.body.code]).toEqual([400, 'invalid_request']);
});

test('the password is in no journal message and no log line', async () => {
  await stack.driver.close(); // flushes the journal and the operation tags
  const messages = [...stack.sim.store.all('message').values()].map((m: any) => String(m.body));
  const vms = [...stack.sim.store.all('VM').values()].map((v: any) =>
    JSON.stringify(v.other_config),
  );
  // What is recorded names the volume (so the check looks where records are) ...
  expect(messages.join('\n')).toContain('cinder-vol-1');
  // ... and never the password.
  for (const text of [...messages, ...vms]) expect(text).not.toContain(SECRET);
  // The request log saw the attach (so the check reads the lines the service writes).
  expect(lines.join('\n')).toContain('/volumes/cinder-vol-1');
  for (const line of lines) expect(line).not.toContain(SECRET);
  // The service's logger takes the password out wherever a connection body is logged.
  const captured: string[] = [];
  const logger = createLogger(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        captured.push(chunk.toString());
        done();
      },
    }),
  );
  logger.info({ body: { connection: connection(0) } }, 'a');
  logger.info({ device_config: { chappassword: SECRET } }, 'b');
  expect(captured).toHaveLength(2);
  for (const line of captured) expect(line).not.toContain(SECRET);
});
