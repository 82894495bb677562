// startSimulator's listeners: members bind 127.0.0.(i+1) at the master's port, and a member
// address already taken at a system-picked port makes the pool start over on another port
// (bug: parallel jest workers got EADDRINUSE). The wire and sessions are tested elsewhere.
import net from 'node:net';
import { startSimulator } from '../../src/simulator';
import { xmlErr } from './rpc';

/** Bind a plain TCP server on host:port (port 0: any free one); resolves with it and its port. */
function occupy(host: string, port: number): Promise<{ server: net.Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    );
  });
}

const close = (server: net.Server): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()));

it('member address taken at the picked port: EADDRINUSE retried on a new master port', async () => {
  // Another process-local server takes 127.0.0.2 at the very port the master was just given,
  // just before the member binds there: the real collision two simulators can meet.
  const realListen = net.Server.prototype.listen;
  type ListenArgs = Parameters<net.Server['listen']>;
  let armed = true; // once, so the blocker's own listen goes straight through
  let blocker: { server: net.Server; port: number } | undefined;
  const spy = jest.spyOn(net.Server.prototype, 'listen');
  spy.mockImplementation(function (this: net.Server, ...args: unknown[]) {
    if (armed && args[1] === '127.0.0.2' && typeof args[0] === 'number') {
      armed = false;
      void occupy('127.0.0.2', args[0]).then((b) => {
        blocker = b;
        realListen.apply(this, args as ListenArgs);
      });
      return this;
    }
    return realListen.apply(this, args as ListenArgs);
  });
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;
  try {
    sim = await startSimulator({ hosts: 2, authFailureDelayMs: 10 });
    spy.mockRestore();
    expect(blocker).toBeDefined();
    const port = Number(new URL(sim.url).port);
    expect(port).not.toBe(blocker!.port);
    expect(sim.hostUrls[1]).toBe(`http://127.0.0.2:${port}`);
    expect(
      (await xmlErr(sim.hostUrls[1], 'session.login_with_password', ['root', 'xenroot']))[0],
    ).toBe('HOST_IS_SLAVE');
  } finally {
    spy.mockRestore();
    await sim?.close();
    if (blocker) await close(blocker.server);
  }
});

it('an explicit master port whose member address is taken fails with EADDRINUSE', async () => {
  const free = await occupy('127.0.0.1', 0);
  await close(free.server);
  const blocker = await occupy('127.0.0.2', free.port);
  try {
    await expect(
      startSimulator({ listen: `127.0.0.1:${free.port}`, hosts: 2, authFailureDelayMs: 10 }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    // everything it had bound is closed again: the master's port is free
    const again = await occupy('127.0.0.1', free.port);
    await close(again.server);
  } finally {
    await close(blocker.server);
  }
});

it('xapiVersion: MAJOR.MINOR.PATCH, reported by every host; anything else is refused', async () => {
  await expect(startSimulator({ hosts: 1, xapiVersion: '25.27' })).rejects.toThrow(
    /MAJOR\.MINOR\.PATCH/,
  );
  const sim = await startSimulator({ hosts: 2, xapiVersion: '26.1.3' });
  try {
    expect(sim.xapiVersion).toBe('26.1.3');
    for (const host of sim.store.all('host').values())
      expect(host.software_version).toMatchObject({ xapi: '26.1', xapi_build: '26.1.3' });
  } finally {
    await sim.close();
  }
  const dflt = await startSimulator({ hosts: 1 });
  expect(dflt.xapiVersion).toBe('24.19.2');
  await dflt.close();
});
