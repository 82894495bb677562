// `xcd serve`'s console settings: --console-listen, --console-ports, --console-public-host,
// --console-ttl and --console-limits (and their XCD_CONSOLE_* variables) parsed and checked, and
// a service started with them hands out a VNC console on a port of its range, named by the
// public host, that a VNC client reaches the VM's screen through; the metrics count it.
import pino from 'pino';
import { startService, type RunningService } from '../../src/cli/serve';
import { loadServeConfig } from '../../src/config';
import { connectTcp, rfbHandshake } from '../helpers/rfb-client';

test('defaults: the listen host, ports 5900-5999, 60 s, 4 per instance and 32 per namespace', () => {
  expect(loadServeConfig({ listen: '10.1.2.3:8780' }, {}).consoles).toEqual({
    ttlMs: 60_000,
    perInstance: 4,
    perNamespace: 32,
    vnc: { listenHost: '10.1.2.3', ports: { min: 5900, max: 5999 } },
  });
});

test('flags win over the environment', () => {
  const cfg = loadServeConfig(
    {
      consoleListen: '0.0.0.0',
      consolePorts: '6000-6009',
      consolePublicHost: 'consoles.example',
      consoleTtl: '30',
      consoleLimits: '2,10',
    },
    { XCD_CONSOLE_PORTS: '7000-7001', XCD_CONSOLE_TTL: '90' },
  );
  expect(cfg.consoles).toEqual({
    ttlMs: 30_000,
    perInstance: 2,
    perNamespace: 10,
    vnc: { listenHost: '0.0.0.0', ports: { min: 6000, max: 6009 }, publicHost: 'consoles.example' },
  });
  expect(loadServeConfig({}, { XCD_CONSOLE_PORTS: '0' }).consoles.vnc.ports).toEqual({
    min: 0,
    max: 0,
  });
});

test.each([
  [{ consolePorts: '6000' }, /--console-ports/],
  [{ consolePorts: '6010-6000' }, /--console-ports/],
  [{ consolePorts: '1-70000' }, /--console-ports/],
  [{ consoleTtl: '0' }, /--console-ttl/],
  [{ consoleTtl: '1.5' }, /--console-ttl/],
  [{ consoleLimits: '5,2' }, /--console-limits/],
  [{ consoleLimits: '0,2' }, /--console-limits/],
  [{ consoleListen: 'a host' }, /--console-listen/],
])('refuses %j', (flags, message) => {
  expect(() => loadServeConfig(flags, {})).toThrow(message);
});

describe('a service started with console settings', () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService(
      loadServeConfig(
        { listen: '127.0.0.1:0', consolePorts: '0', consolePublicHost: '127.0.0.1' },
        { XCD_TOKEN: 'console-token', XCD_TOKEN_NAMESPACE: 'ns1', XCD_TOKEN_ROLE: 'operator' },
      ),
      pino({ level: 'silent' }),
    );
    await svc.ready;
  });
  afterAll(async () => {
    await svc?.close();
  });

  it('hands out a VNC console a client reaches the VM screen through', async () => {
    const headers = {
      authorization: 'Bearer console-token',
      'content-type': 'application/json',
      prefer: 'wait=15',
    };
    const templates = (await (await fetch(`${svc.url}/v1/templates`, { headers })).json()) as {
      items: Array<{ uuid: string }>;
    };
    const spawned = await fetch(`${svc.url}/v1/instances/serve-c1`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ template: templates.items[0].uuid, vcpus: 1, memory_mb: 256 }),
    });
    expect(((await spawned.json()) as { status: string }).status).toBe('succeeded');
    const con = (await (
      await fetch(`${svc.url}/v1/instances/serve-c1/console`, { headers })
    ).json()) as { type: string; host: string; port: number; password: string };
    expect(con).toMatchObject({ type: 'vnc', host: '127.0.0.1' });
    const c = await connectTcp(con.host, con.port);
    expect((await rfbHandshake(c, con.password)).name).toBe('serve-c1');
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/^xcd_console_connections\{form="vnc"\} 1$/m);
    c.close();
  });
});
