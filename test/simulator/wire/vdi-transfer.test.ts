// Who may use the raw VDI side channels: PUT /import_raw_vdi and GET /export_raw_vdi take a
// session (query or cookie) or the pool's credentials in Basic auth, split at the first ':'
// (RFC 7617), and refuse anything else with 401. Formats, tasks and errors: vdi-import.test.ts,
// vdi-export.test.ts.
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { jsonOk, login, raw } from '../rpc';
import { vdiFields } from './vdi-helpers';

const PASSWORD = 'pa:ss:word';

let sim: SimulatorHandle;
let sid: string;
let vdiRef: string;

const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

beforeAll(async () => {
  sim = await startSimulator({ hosts: 1, password: PASSWORD, authFailureDelayMs: 10 });
  sid = await login(sim.url, 'root', PASSWORD);
  [vdiRef] = [...sim.store.all('VDI').keys()].filter(
    (r) => Number(sim.store.get('VDI', r).virtual_size) === 4 * 1024 * 1024,
  );
  if (!vdiRef) {
    const sr = [...sim.store.all('SR').entries()].find(([, r]) => r.content_type === 'user')![0];
    vdiRef = (await jsonOk(sim.url, 'VDI.create', [sid, vdiFields(sr, 4 * 1024 * 1024)])) as string;
  }
});
afterAll(() => sim.close());

it('stores and serves raw VDI content, checking the session', async () => {
  const data = Buffer.from('config-drive-bytes');
  const denied = await raw(sim.url, {
    method: 'PUT',
    path: `/import_raw_vdi?session_id=OpaqueRef:bad&vdi=${vdiRef}`,
    body: data,
  });
  expect(denied.status).toBe(401);
  const put = await raw(sim.url, {
    method: 'PUT',
    path: `/import_raw_vdi?session_id=${sid}&vdi=${vdiRef}`,
    body: data,
  });
  expect(put.status).toBe(200);
  const got = await raw(sim.url, {
    method: 'GET',
    path: `/export_raw_vdi?session_id=${sid}&vdi=${vdiRef}`,
  });
  // the export is the whole disk: the bytes, then zeros up to the virtual size
  expect(got.headers['content-length']).toBe(String(4 * 1024 * 1024));
  expect(got.body.startsWith('config-drive-bytes\0')).toBe(true);
  const missing = await raw(sim.url, {
    method: 'GET',
    path: `/export_raw_vdi?session_id=${sid}&vdi=OpaqueRef:none`,
  });
  expect(missing.status).toBe(404);
});

it('password with ":" works on /import_raw_vdi', async () => {
  const put = await raw(sim.url, {
    method: 'PUT',
    path: `/import_raw_vdi?vdi=${vdiRef}`,
    headers: basic('root', PASSWORD),
    body: 'basic-bytes',
  });
  expect(put.status).toBe(200);
  const got = await raw(sim.url, {
    method: 'GET',
    path: `/export_raw_vdi?vdi=${vdiRef}`,
    headers: basic('root', PASSWORD),
  });
  expect(got.status).toBe(200);
  expect(got.body.startsWith('basic-bytes')).toBe(true); // written over the first test's bytes
});

it('refuses Basic credentials that match only up to a ":"', async () => {
  for (const password of ['pa', 'pa:ss', `${PASSWORD}:`, '']) {
    const r = await raw(sim.url, {
      method: 'GET',
      path: `/export_raw_vdi?vdi=${vdiRef}`,
      headers: basic('root', password),
    });
    expect(r.status).toBe(401);
  }
  const wrongUser = await raw(sim.url, {
    method: 'GET',
    path: `/export_raw_vdi?vdi=${vdiRef}`,
    headers: basic('admin', PASSWORD),
  });
  expect(wrongUser.status).toBe(401);
});

it('takes the session from the session_id cookie', async () => {
  const ok = await raw(sim.url, {
    method: 'GET',
    path: `/export_raw_vdi?vdi=${vdiRef}`,
    headers: { cookie: `theme=dark; session_id=${encodeURIComponent(sid)}` },
  });
  expect(ok.status).toBe(200);
  const stale = await raw(sim.url, {
    method: 'GET',
    path: `/export_raw_vdi?vdi=${vdiRef}`,
    headers: { cookie: 'session_id=OpaqueRef:gone' },
  });
  expect(stale.status).toBe(401);
});

it('answers 401 without a session or credentials', async () => {
  const r = await raw(sim.url, { method: 'GET', path: `/export_raw_vdi?vdi=${vdiRef}` });
  expect(r.status).toBe(401);
});
