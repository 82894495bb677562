// XAPI's own console form (admins) is usable as-is: an instance spawned through the REST API,
// its console read with GET /v1/instances/{id}/console?type=xapi, then a plain TCP connection to
// the answered host and port sending `CONNECT <path>` exactly as Nova's noVNC proxy does, through
// RFB's ServerInit. Also: the answer stops working once the instance is powered off.
import { connectConsole, rfbHandshake } from '../helpers/rfb-client';
import { TOKENS, startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=15' };

beforeAll(async () => {
  stack = await startStack();
  const templates = await stack.request('GET', '/v1/templates');
  const template =
    templates.body.items.find((t: { disk_gb?: number }) => t.disk_gb)?.uuid ??
    templates.body.items[0].uuid;
  const res = await stack.request('PUT', '/v1/instances/vnc-1', {
    body: { template, vcpus: 1, memory_mb: 256 },
    headers: wait,
  });
  expect([res.status, res.body.status]).toEqual([200, 'succeeded']);
});
afterAll(async () => {
  await stack?.close();
});

function vmNameOf(instanceUuid: string): string {
  const vmRef = stack.sim.store.byUuid('VM', instanceUuid)!;
  return String(stack.sim.store.get('VM', vmRef).name_label);
}

describe('GET /v1/instances/{id}/console, then CONNECT as a noVNC proxy', () => {
  // The console answer carries the service's XAPI session: it is given to admin tokens only.
  const admin = { token: TOKENS.admin };

  it('reaches the instance: 200, then RFB through ServerInit with its name', async () => {
    const instance = (await stack.request('GET', '/v1/instances/vnc-1')).body;
    expect(instance.power_state).toBe('running');
    const con = (await stack.request('GET', '/v1/instances/vnc-1/console?type=xapi', admin)).body;
    expect(con.tls).toBe(false); // the stack reaches the simulator over plain HTTP
    // Nova's proxy: 'CONNECT %s HTTP/1.1\r\n\r\n' with no headers; and the HTTP/1.0 form
    for (const version of ['1.1', '1.0'] as const) {
      const c = await connectConsole(con.host, con.port, con.path, version);
      try {
        expect(c.statusLine).toMatch(/^HTTP\/1\.[01] 200 /);
        const init = await rfbHandshake(c);
        expect(init).toMatchObject({
          version: 'RFB 003.008\n',
          securityTypes: [1],
          securityResult: 0,
          name: vmNameOf(instance.uuid),
        });
        expect(init.width * init.height).toBeGreaterThan(0);
      } finally {
        c.close();
      }
    }
  });

  it('the connection ends when the instance powers off, and the console is refused', async () => {
    const con = (await stack.request('GET', '/v1/instances/vnc-1/console?type=xapi', admin)).body;
    const c = await connectConsole(con.host, con.port, con.path);
    await rfbHandshake(c);
    const off = await stack.request('POST', '/v1/instances/vnc-1/actions', {
      body: { action: 'power-off' },
      headers: wait,
    });
    expect(off.body.status).toBe('succeeded');
    await c.closed;
    const again = await connectConsole(con.host, con.port, con.path);
    expect(again.status).toBe(404);
    again.close();
    expect(
      (await stack.request('GET', '/v1/instances/vnc-1/console?type=xapi', admin)).status,
    ).toBe(409);
  });
});
