// Sessions as xapi keeps them: login with 2-4 params and an originator, the delayed
// SESSION_AUTHENTICATION_FAILED [uname, msg], logout and SESSION_INVALID, HOST_IS_SLAVE on pool
// members, and sessions shared between the two protocols.
import { startSimulator, type SimulatorHandle } from '../../../src/simulator';
import { jsonErr, jsonOk, xml, xmlErr, xmlOk } from '../rpc';

let sim: SimulatorHandle;

beforeAll(async () => {
  sim = await startSimulator({ authFailureDelayMs: 150 });
});
afterAll(() => sim.close());

it.each([
  [['root', 'xenroot']],
  [['root', 'xenroot', '1.0']],
  [['root', 'xenroot', '1.0', 'my-originator']],
])('logs in with %j', async (params) => {
  const ref = (await xmlOk(sim.url, 'session.login_with_password', params)) as string;
  expect(ref).toMatch(/^OpaqueRef:[0-9a-f-]{36}$/);
  const rec = sim.store.get('session', ref);
  expect(rec.originator).toBe(params[3] ?? '');
  expect(rec.this_host).toBe(
    [...sim.store.all('host').keys()].find((h) => sim.store.get('host', h).address === '127.0.0.1'),
  );
});

it('refuses 5 params', async () => {
  expect(
    await jsonErr(sim.url, 'session.login_with_password', ['root', 'xenroot', '1.0', 'o', 'x']),
  ).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'session.login_with_password', '2', '5']);
});

it('answers SESSION_AUTHENTICATION_FAILED [uname, msg] after the configured delay', async () => {
  const t = Date.now();
  const e = await jsonErr(sim.url, 'session.login_with_password', ['root', 'wrong']);
  expect(Date.now() - t).toBeGreaterThanOrEqual(140);
  expect(e).toHaveLength(3);
  expect(e.slice(0, 2)).toEqual(['SESSION_AUTHENTICATION_FAILED', 'root']);
  expect((await xmlErr(sim.url, 'session.login_with_password', ['admin', 'xenroot']))[0]).toBe(
    'SESSION_AUTHENTICATION_FAILED',
  );
});

it('logout invalidates the session: SESSION_INVALID [ref]', async () => {
  const ref = (await jsonOk(sim.url, 'session.login_with_password', ['root', 'xenroot'])) as string;
  expect(await jsonOk(sim.url, 'session.logout', [ref])).toBe('');
  expect(await jsonErr(sim.url, 'VM.get_all', [ref])).toEqual(['SESSION_INVALID', ref]);
  expect(await xmlErr(sim.url, 'session.logout', [ref])).toEqual(['SESSION_INVALID', ref]);
});

it('shares sessions between XML-RPC and JSON-RPC', async () => {
  const ref = (await xmlOk(sim.url, 'session.login_with_password', ['root', 'xenroot'])) as string;
  expect(await jsonOk(sim.url, 'pool.get_all', [ref])).toHaveLength(1);
});

it('answers HOST_IS_SLAVE [master address] on a pool member, before checking credentials', async () => {
  expect(sim.hostUrls).toHaveLength(3);
  const member = sim.hostUrls[1];
  expect(member).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
  expect(await xmlErr(member, 'session.login_with_password', ['root', 'xenroot'])).toEqual([
    'HOST_IS_SLAVE',
    '127.0.0.1',
  ]);
  expect(await jsonErr(sim.hostUrls[2], 'session.login_with_password', ['root', 'bad'])).toEqual([
    'HOST_IS_SLAVE',
    '127.0.0.1',
  ]);
});

it('gives host i the address 127.0.0.(i+1) at the master port', async () => {
  const ref = (await jsonOk(sim.url, 'session.login_with_password', ['root', 'xenroot'])) as string;
  const hosts = (await jsonOk(sim.url, 'host.get_all_records', [ref])) as Record<
    string,
    { address: string }
  >;
  expect(
    Object.values(hosts)
      .map((h) => h.address)
      .sort(),
  ).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  // a member refuses ordinary (non-pool) sessions too
  expect(await xmlErr(sim.hostUrls[1], 'pool.get_all', [ref])).toEqual([
    'HOST_IS_SLAVE',
    '127.0.0.1',
  ]);
});

it('keeps at most 500 sessions per originator, dropping the oldest', async () => {
  const first = (await jsonOk(sim.url, 'session.login_with_password', [
    'root',
    'xenroot',
    '1.0',
    'gc-test',
  ])) as string;
  for (let i = 0; i < 500; i++)
    await jsonOk(sim.url, 'session.login_with_password', ['root', 'xenroot', '1.0', 'gc-test']);
  expect(await jsonErr(sim.url, 'pool.get_all', [first])).toEqual(['SESSION_INVALID', first]);
  const count = [...sim.store.all('session').values()].filter(
    (r) => r.originator === 'gc-test',
  ).length;
  expect(count).toBe(500);
});

it('serves the members through a master bound to a wildcard address', async () => {
  const wsim = await startSimulator({ listen: '0.0.0.0:0', hosts: 2, authFailureDelayMs: 10 });
  try {
    expect(wsim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(wsim.hostUrls[1]).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect(
      await xmlErr(wsim.hostUrls[1], 'session.login_with_password', ['root', 'xenroot']),
    ).toEqual(['HOST_IS_SLAVE', '127.0.0.1']);
    expect(await xmlOk(wsim.url, 'session.login_with_password', ['root', 'xenroot'])).toMatch(
      /^OpaqueRef:/,
    );
    const member = wsim.store.get(
      'host',
      [...wsim.store.all('host').keys()].find(
        (h) => wsim.store.get('host', h).address === '127.0.0.2',
      )!,
    );
    await wsim.setHostOnline(member.uuid as string, false);
    await expect(
      xml(wsim.hostUrls[1], 'session.login_with_password', ['root', 'xenroot']),
    ).rejects.toThrow();
  } finally {
    await wsim.close();
  }
});
