// Session rules of the native client against the simulator: originator, one reused session,
// transparent re-login after logout or restart, HOST_IS_SLAVE redirection, failover when the
// master stops answering, logout on close, authentication failure.
import type { SimulatorHandle } from '../../src/simulator';
import { TransportError, XapiError } from '../../src/xapi';
import { PROTOCOLS, closeAll, connect, rejection, sim, until } from './fixtures';

let s: SimulatorHandle;
beforeAll(async () => {
  s = await sim();
});
afterEach(closeAll);
afterAll(() => s.close());

function sessionsOf(originator: string): string[] {
  return [...s.store.all('session').entries()]
    .filter(([, r]) => r.originator === originator)
    .map(([ref]) => ref);
}

describe.each(PROTOCOLS)('sessions over %s', (protocol) => {
  test('logs in once with originator xen-compute-driver and reuses the session', async () => {
    const before = sessionsOf('xen-compute-driver').length;
    const c = await connect(s, { protocol, mirror: false });
    expect(sessionsOf('xen-compute-driver')).toContain(c.sessionRef);
    for (let i = 0; i < 5; i++) await c.call('pool.get_all');
    await Promise.all([c.call('VM.get_all'), c.call('host.get_all'), c.call('SR.get_all')]);
    expect(sessionsOf('xen-compute-driver').length).toBe(before + 1);
    expect(c.connection.protocol).toBe(protocol);
  });

  test('logs in again transparently once the session is gone (SESSION_INVALID)', async () => {
    const c = await connect(s, { protocol, mirror: false });
    const first = c.sessionRef;
    s.store.destroy('session', first);
    await expect(c.call('pool.get_all')).resolves.toHaveLength(1);
    expect(c.sessionRef).not.toBe(first);
    expect(c.connection.generation).toBe(2);
  });

  test('logs in again after a xapi restart (every ref and session changes)', async () => {
    const c = await connect(s, { protocol });
    const vmUuid = c.mirror.query('VM', { fields: ['uuid'], limit: 1 })[0].uuid;
    const oldRef = c.mirror.getByUuid('VM', vmUuid)!.$ref;
    await s.restart();
    const pools = await c.call<string[]>('pool.get_all');
    expect(pools).toHaveLength(1);
    await until(() => c.mirror.getByUuid('VM', vmUuid)?.$ref !== oldRef, 5000, 'mirror resync');
    expect(c.mirror.get('VM', oldRef)).toBeUndefined();
  });
});

test('follows HOST_IS_SLAVE from a pool member to the master', async () => {
  const c = await connect(s, { url: s.hostUrls[1], mirror: false });
  expect(c.connection.masterUrl).toBe(s.url);
  await expect(c.call('pool.get_all')).resolves.toHaveLength(1);
});

test('logs out on close', async () => {
  const c = await connect(s, { mirror: false });
  const ref = c.sessionRef;
  expect(s.store.find('session', ref)).toBeDefined();
  await c.close();
  expect(s.store.find('session', ref)).toBeUndefined();
  await expect(c.call('pool.get_all')).rejects.toMatchObject({
    name: 'TransportError',
    code: 'CLOSED',
  });
  await c.close(); // idempotent
});

test('wrong credentials fail with SESSION_AUTHENTICATION_FAILED', async () => {
  const err = await rejection(connect(s, { password: 'nope' }));
  expect(err).toBeInstanceOf(XapiError);
  expect(err.code).toBe('SESSION_AUTHENTICATION_FAILED');
  expect(err.params).toEqual(['root', 'Authentication failure']);
});

describe('failover', () => {
  let pool: SimulatorHandle;
  beforeEach(async () => {
    pool = await sim();
  });
  afterEach(() => pool.close());

  test('the master going offline fails calls with a TransportError; the session comes back with it', async () => {
    const c = await connect(pool, { mirror: false, connectTimeoutMs: 500 });
    const masterUuid = pool.store.get(
      'host',
      [...pool.store.all('host').keys()].find(
        (r) => pool.store.get('host', r).address === '127.0.0.1',
      )!,
    ).uuid as string;
    await pool.setHostOnline(masterUuid, false);
    // Every other known host answers HOST_IS_SLAVE pointing at the dead master.
    const err = await rejection(c.call('pool.get_all'));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('ECONNREFUSED');
    await pool.setHostOnline(masterUuid, true);
    await expect(c.call('pool.get_all')).resolves.toHaveLength(1);
  });

  test('a client pointed at a member whose server closed fails over to the master', async () => {
    const c = await connect(pool, { url: pool.hostUrls[2], mirror: false });
    expect(c.connection.masterUrl).toBe(pool.url);
    const memberUuid = [...pool.store.all('host').values()].find((h) => h.address === '127.0.0.3')!
      .uuid as string;
    pool.setHostOnline(memberUuid, false);
    await expect(c.call('pool.get_all')).resolves.toHaveLength(1);
  });
});
