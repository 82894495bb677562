// The console proxy end to end on the real stack: an instance spawned through the REST API, a
// one-time console of each form fetched by its operator, and a real RFB 3.8 client through the
// proxy to the simulated VM's screen: VNC Authentication on the console's own port, the CONNECT
// tunnel (Nova's internal_access_path), the WebSocket (noVNC's transport). Every refusal of the
// issue (wrong, reused or expired password or token, handshake timeout, another namespace, a
// halted or paused instance, too many consoles) leaves no relay open, and no XAPI session id
// shows in any answer or log line of the suite.
import { Writable } from 'node:stream';
import pino from 'pino';
import {
  connectConsole,
  connectTcp,
  connectWebSocket,
  distinctPixels,
  readFramebuffer,
  rfbHandshake,
  rfbInit,
  rfbSecurity,
  typeKey,
  type ConsoleConnection,
} from '../helpers/rfb-client';
import { TOKENS, startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const lines: string[] = [];
const answers: string[] = [];
const wait = { prefer: 'wait=15' };
// Generous for a loaded machine: the VNC client computes its response in a node subprocess.
const TTL_MS = 5000;
const HANDSHAKE_MS = 2000;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  stack = await startStack({
    logger: pino({ level: 'debug' }, sink),
    driver: {
      consoles: {
        ttlMs: TTL_MS,
        handshakeTimeoutMs: HANDSHAKE_MS,
        perInstance: 3,
        perNamespace: 4,
        vnc: { listenHost: '127.0.0.1', ports: { min: 0, max: 0 } },
      },
    },
  });
  const templates = await stack.request('GET', '/v1/templates');
  const template = templates.body.items[0].uuid;
  for (const id of ['cp-1', 'cp-2', 'cp-3']) {
    const res = await stack.request('PUT', `/v1/instances/${id}`, {
      body: { template, vcpus: 1, memory_mb: 256 },
      headers: wait,
    });
    expect([id, res.status, res.body.status]).toEqual([id, 200, 'succeeded']);
  }
});
afterAll(async () => {
  await stack?.close();
});

/** GET the console (operator unless told), keeping the answer's text for the session check. */
async function consoleOf(id: string, type?: string, token: string = TOKENS.operator) {
  const res = await stack.request(
    'GET',
    `/v1/instances/${id}/console${type ? `?type=${type}` : ''}`,
    { token },
  );
  answers.push(JSON.stringify(res.body));
  return res;
}

function vmName(id: string): string {
  const instance = stack.driver.getInstance(
    { namespace: 'alpha', role: 'admin', tokenId: 't' },
    id,
  );
  const vmRef = stack.sim.store.byUuid('VM', instance.uuid)!;
  return String(stack.sim.store.get('VM', vmRef).name_label);
}

/** Waits (by polling) until no client connection is open and the simulator has no console
 * connection: what every refusal and every end must leave. */
async function noRelayLeft(): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (stack.driver.openConsoles() === 0 && stack.sim.consoleConnections() === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  expect({ proxy: stack.driver.openConsoles(), sim: stack.sim.consoleConnections() }).toEqual({
    proxy: 0,
    sim: 0,
  });
}

/** Waits (by polling) until every console handed out is used or expired. */
async function noneHandedOut(): Promise<void> {
  for (let i = 0; i < 400 && stack.driver.consoleStats().pending > 0; i++)
    await new Promise((r) => setTimeout(r, 25));
  expect(stack.driver.consoleStats().pending).toBe(0);
}

/** Reads the whole screen and checks it is a picture, not one colour. */
async function seesScreen(c: ConsoleConnection, id: string): Promise<void> {
  const init = await rfbInit(c, { version: '', securityTypes: [], securityResult: 0 });
  expect(init).toMatchObject({ name: vmName(id), width: 640, height: 480, bitsPerPixel: 32 });
  const rects = await readFramebuffer(c, init);
  expect(rects.map((r) => [r.x, r.y, r.w, r.h])).toEqual([[0, 0, 640, 480]]);
  expect(distinctPixels(rects)).toBeGreaterThan(16);
  // a key typed changes the screen: the incremental request is answered
  typeKey(c, 'x'.charCodeAt(0));
  const after = await readFramebuffer(c, init, true);
  expect(after[0].pixels.equals(rects[0].pixels)).toBe(false);
}

describe('vnc: RFB 3.8 with VNC Authentication on the console port', () => {
  it('relays to the VM screen after the one-time password, then the port is gone', async () => {
    const res = await consoleOf('cp-1');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const con = res.body;
    expect(con).toMatchObject({ type: 'vnc', host: '127.0.0.1' });
    expect(con.password).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(Date.parse(con.expires_at)).toBeGreaterThan(Date.now());
    const c = await connectTcp(con.host, con.port);
    const security = await rfbSecurity(c, con.password);
    expect(security).toEqual({ version: 'RFB 003.008\n', securityTypes: [2], securityResult: 0 });
    await seesScreen(c, 'cp-1');
    expect(stack.driver.openConsoles({ namespace: 'alpha', instanceId: 'cp-1' })).toBe(1);
    expect(stack.sim.consoleConnections()).toBe(1);
    // single use: the port no longer listens
    await expect(connectTcp(con.host, con.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    c.close();
    await noRelayLeft();
  });

  it('a wrong password fails the SecurityResult and spends the console', async () => {
    const con = (await consoleOf('cp-1')).body;
    const c = await connectTcp(con.host, con.port);
    const wrong = con.password === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa';
    expect(await rfbSecurity(c, wrong)).toMatchObject({
      securityResult: 1,
      reason: 'authentication failed',
    });
    await c.closed;
    await expect(connectTcp(con.host, con.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await noRelayLeft();
  });

  it('a client that never finishes its handshake is cut off; the console stays usable', async () => {
    const con = (await consoleOf('cp-1')).body;
    const idle = await connectTcp(con.host, con.port);
    expect((await idle.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    await idle.closed; // nothing more sent: the handshake timeout closes it
    expect(stack.driver.consoleStats().outcomes).toContainEqual(
      expect.objectContaining({ kind: 'vnc', outcome: 'timeout' }),
    );
    const c = await connectTcp(con.host, con.port);
    await rfbHandshake(c, con.password);
    c.close();
    await noRelayLeft();
  });

  it('an expired console is refused: its port closes', async () => {
    const con = (await consoleOf('cp-1')).body;
    await new Promise((r) => setTimeout(r, TTL_MS + 300));
    await expect(connectTcp(con.host, con.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await noRelayLeft();
  });
});

describe('tunnel: CONNECT on the service listener, then RFB with security None', () => {
  it('answers 200 and relays to the VM screen; the token is single use', async () => {
    const con = (await consoleOf('cp-1', 'tunnel')).body;
    const url = new URL(stack.url);
    expect(con).toMatchObject({
      type: 'tunnel',
      host: url.hostname,
      port: Number(url.port),
      tls: false,
    });
    expect(con.path).toMatch(/^\/v1\/consoles\/[A-Za-z0-9_-]{32}$/);
    const c = await connectConsole(con.host, con.port, con.path);
    expect(c.statusLine).toBe('HTTP/1.1 200 OK');
    const security = await rfbSecurity(c);
    expect(security).toEqual({ version: 'RFB 003.008\n', securityTypes: [1], securityResult: 0 });
    await seesScreen(c, 'cp-1');
    const again = await connectConsole(con.host, con.port, con.path);
    expect([again.status, JSON.parse(again.body).code]).toEqual([404, 'console_token_invalid']);
    await again.closed;
    c.close();
    await noRelayLeft();
  });

  it('an unknown or expired token answers 404 console_token_invalid', async () => {
    const url = new URL(stack.url);
    const unknown = await connectConsole(
      url.hostname,
      Number(url.port),
      `/v1/consoles/${'x'.repeat(32)}`,
    );
    expect([unknown.status, JSON.parse(unknown.body).code]).toEqual([404, 'console_token_invalid']);
    const con = (await consoleOf('cp-1', 'tunnel')).body;
    await new Promise((r) => setTimeout(r, TTL_MS + 300));
    const late = await connectConsole(con.host, con.port, con.path);
    expect([late.status, JSON.parse(late.body).code]).toEqual([404, 'console_token_invalid']);
    await noRelayLeft();
  });

  it('a client that never sends its version is cut off', async () => {
    const con = (await consoleOf('cp-1', 'tunnel')).body;
    const c = await connectConsole(con.host, con.port, con.path);
    expect(c.status).toBe(200);
    await c.closed;
    await noRelayLeft();
  });
});

describe('websocket: RFB in binary messages, as noVNC speaks it', () => {
  it('relays to the VM screen; the token is single use', async () => {
    const con = (await consoleOf('cp-2', 'websocket')).body;
    expect(con.url).toMatch(
      /^ws:\/\/127\.0\.0\.1:\d+\/v1\/consoles\/[A-Za-z0-9_-]{32}\/websocket$/,
    );
    const c = await connectWebSocket(con.url);
    await rfbSecurity(c);
    await seesScreen(c, 'cp-2');
    await expect(connectWebSocket(con.url)).rejects.toMatchObject({ status: 404 });
    c.close();
    await noRelayLeft();
  });

  it('a GET without Upgrade answers 426 and spends nothing', async () => {
    const con = (await consoleOf('cp-2', 'websocket')).body;
    const res = await fetch(con.url.replace(/^ws/, 'http'));
    expect([res.status, ((await res.json()) as { code: string }).code]).toEqual([
      426,
      'upgrade_required',
    ]);
    const c = await connectWebSocket(con.url);
    await rfbHandshake(c);
    c.close();
    await noRelayLeft();
  });

  it('the url form is a page whose token opens the WebSocket once', async () => {
    const con = (await consoleOf('cp-2', 'url')).body;
    expect(con.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/consoles\/[A-Za-z0-9_-]{32}\/$/);
    const page = await fetch(con.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/console-assets/novnc/core/rfb.js');
    // loading the page spent nothing
    expect((await fetch(con.url)).status).toBe(200);
    const rfbModule = await fetch(`${stack.url}/console-assets/novnc/core/rfb.js`);
    expect([rfbModule.status, rfbModule.headers.get('content-type')]).toEqual([
      200,
      expect.stringMatching(/javascript/),
    ]);
    for (const missing of ['core/nope.js', 'core/', 'docs/API.md', 'package.json'])
      expect((await fetch(`${stack.url}/console-assets/novnc/${missing}`)).status).toBe(404);
    const c = await connectWebSocket(`${con.url.replace(/^http/, 'ws')}websocket`);
    await rfbHandshake(c);
    c.close();
    // the WebSocket spent it: the page is gone too
    const gone = await fetch(con.url);
    expect([gone.status, ((await gone.json()) as { code: string }).code]).toEqual([
      404,
      'console_token_invalid',
    ]);
    await noRelayLeft();
  });
});

describe('refusals at the console answer', () => {
  it('another namespace gets 404, a viewer 403, the xapi form is for admins only', async () => {
    expect((await consoleOf('cp-1', 'vnc', TOKENS.other)).body).toMatchObject({
      status: 404,
      code: 'instance_not_found',
    });
    expect((await consoleOf('cp-1', 'tunnel', TOKENS.viewer)).body).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    expect((await consoleOf('cp-1', 'xapi')).body).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    const admin = (await consoleOf('cp-1', 'xapi', TOKENS.admin)).body;
    expect(admin).toMatchObject({ type: 'xapi', protocol: 'vnc' });
    expect(admin.path).toContain('session_id=');
    answers.pop(); // the admin form carries the session by design: not a proxied answer
    expect((await consoleOf('cp-1', 'serial')).body).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
  });

  it('too many consoles of an instance, then of the namespace: 429 too_many_consoles', async () => {
    await noRelayLeft();
    await noneHandedOut();
    const held = [];
    for (let i = 0; i < 3; i++) held.push((await consoleOf('cp-3', 'tunnel')).body);
    expect((await consoleOf('cp-3', 'vnc')).body).toMatchObject({
      status: 429,
      code: 'too_many_consoles',
    });
    // an open connection counts as one: using a console does not free a place
    const c = await connectConsole(held[0].host, held[0].port, held[0].path);
    await rfbHandshake(c);
    expect((await consoleOf('cp-3', 'websocket')).body.code).toBe('too_many_consoles');
    // the namespace's fourth place, then none
    expect((await consoleOf('cp-2', 'tunnel')).status).toBe(200);
    expect((await consoleOf('cp-1', 'tunnel')).body.code).toBe('too_many_consoles');
    c.close();
    await noRelayLeft();
  });
});

describe('the relay ends with the VM', () => {
  it('when the instance is paused, powered off, or destroyed; halted and paused answer 409', async () => {
    await noneHandedOut(); // the places above expire
    const open = async (id: string): Promise<ConsoleConnection> => {
      const con = (await consoleOf(id, 'tunnel')).body;
      const c = await connectConsole(con.host, con.port, con.path);
      await rfbHandshake(c);
      return c;
    };
    // paused: the relay ends, and a paused instance gets 409 with the states
    let c = await open('cp-3');
    const pause = await stack.request('POST', '/v1/instances/cp-3/actions', {
      body: { action: 'pause' },
      headers: wait,
    });
    expect(pause.body.status).toBe('succeeded');
    await c.closed;
    expect((await consoleOf('cp-3')).body).toMatchObject({
      status: 409,
      code: 'invalid_power_state',
      expected_power_states: ['running'],
      actual_power_state: 'paused',
    });
    await noRelayLeft();
    await stack.request('POST', '/v1/instances/cp-3/actions', {
      body: { action: 'unpause' },
      headers: wait,
    });

    // powered off
    c = await open('cp-3');
    const off = await stack.request('POST', '/v1/instances/cp-3/actions', {
      body: { action: 'power-off' },
      headers: wait,
    });
    expect(off.body.status).toBe('succeeded');
    await c.closed;
    expect((await consoleOf('cp-3', 'tunnel')).body).toMatchObject({
      status: 409,
      code: 'invalid_power_state',
      actual_power_state: 'halted',
    });
    await noRelayLeft();

    // a console handed out while running is refused once the instance has stopped
    await stack.request('POST', '/v1/instances/cp-3/actions', {
      body: { action: 'power-on' },
      headers: wait,
    });
    const handed = (await consoleOf('cp-3', 'tunnel')).body;
    await stack.request('POST', '/v1/instances/cp-3/actions', {
      body: { action: 'power-off' },
      headers: wait,
    });
    const refused = await connectConsole(handed.host, handed.port, handed.path);
    expect([refused.status, JSON.parse(refused.body).code]).toEqual([409, 'invalid_power_state']);

    // destroyed
    c = await open('cp-2');
    const gone = await stack.request('DELETE', '/v1/instances/cp-2', { headers: wait });
    expect(gone.status).toBeLessThan(300);
    await c.closed;
    await noRelayLeft();
  });
});

describe('migration and metrics', () => {
  it('a migrated VM ends its relay; a console fetched again reaches it on its new host', async () => {
    const hosts = (await stack.request('GET', '/v1/host', { token: TOKENS.admin })).body
      .hosts as Array<{
      uuid: string;
      name: string;
    }>;
    const from = (await stack.request('GET', '/v1/instances/cp-1')).body.host?.uuid;
    const target = hosts.find((h) => h.uuid !== from && h.name !== 'xcp-host-1')!;
    const con = (await consoleOf('cp-1', 'tunnel')).body;
    const c = await connectConsole(con.host, con.port, con.path);
    await rfbHandshake(c);
    const moved = await stack.request('POST', '/v1/instances/cp-1/actions', {
      body: { action: 'migrate', host: target.uuid },
      headers: wait,
    });
    expect(moved.body.status).toBe('succeeded');
    await c.closed;
    await noRelayLeft();
    const again = (await consoleOf('cp-1', 'tunnel')).body;
    const c2 = await connectConsole(again.host, again.port, again.path);
    const rfb = await rfbSecurity(c2);
    await seesScreen(c2, 'cp-1');
    expect(rfb.securityResult).toBe(0);
    c2.close();
    await noRelayLeft();
  });

  it("a host whose console cannot be reached fails the VNC client's SecurityResult with a reason", async () => {
    const hostUuid = (await stack.request('GET', '/v1/instances/cp-1')).body.host.uuid as string;
    const con = (await consoleOf('cp-1')).body;
    await stack.sim.setHostOnline(hostUuid, false);
    try {
      const c = await connectTcp(con.host, con.port);
      expect(await rfbSecurity(c, con.password)).toMatchObject({
        securityResult: 1,
        reason: "the VM's console cannot be reached",
      });
      await c.closed;
    } finally {
      await stack.sim.setHostOnline(hostUuid, true);
    }
    await noRelayLeft();
    expect(stack.driver.consoleStats().outcomes).toContainEqual(
      expect.objectContaining({ kind: 'vnc', outcome: 'failed' }),
    );
  });

  it('the metrics count connections by form and outcome', async () => {
    stack.metrics.watchConsoles(() => stack.driver.consoleStats());
    const text = (await stack.request('GET', '/metrics', { token: null })).body as string;
    expect(text).toMatch(/^xcd_console_connections_total\{form="vnc",outcome="relayed"\} [1-9]/m);
    expect(text).toMatch(
      /^xcd_console_connections_total\{form="tunnel",outcome="refused"\} [1-9]/m,
    );
    expect(text).toMatch(/^xcd_console_connections_total\{form="vnc",outcome="timeout"\} [1-9]/m);
    expect(text).toMatch(/^xcd_console_pending \d+/m);
    expect(text).toContain('# TYPE xcd_console_connections gauge');
  });
});

describe('secrets', () => {
  it("no answer and no log line of the suite holds the service's XAPI session id", () => {
    const session = stack.xapi.sessionRef;
    expect(session.length).toBeGreaterThan(8);
    expect(answers.length).toBeGreaterThan(20);
    expect(lines.length).toBeGreaterThan(20);
    for (const text of [...answers, ...lines]) expect(text).not.toContain(session);
    // the token routes are logged like any request, their token masked
    const switched = lines.filter((l) => l.includes('request switched protocols'));
    expect(switched.length).toBeGreaterThan(3);
    for (const l of switched) expect(l).toMatch(/"url":"\/v1\/consoles\/<token>(\/websocket)?"/);
    // nor a console token or password
    for (const a of answers) {
      const body = JSON.parse(a) as { path?: string; url?: string; password?: string };
      const secret =
        body.password ?? /\/v1\/consoles\/([^/]+)/.exec(body.path ?? body.url ?? '')?.[1];
      if (secret) for (const line of lines) expect(line).not.toContain(secret);
    }
  });
});
