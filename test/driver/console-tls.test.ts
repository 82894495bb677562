// XAPI's console form of a service that reaches XAPI over https: port and tls are those of the
// https URL (not the location's implied 443), and the answer works as-is over TLS to the
// master's TLS listener through RFB's ServerInit. The proxy's own tunnel to a host
// (XapiClient.openHostTunnel) goes the same way under the connection's TLS policy (the pinned
// fingerprint), and a host's refusal is its HTTP status. Certificate made at test time by openssl.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xapiConsole } from '../../src/driver/procedures/console';
import { startSimulator, type SimulatorHandle } from '../../src/simulator';
import { XapiClient } from '../../src/xapi';
import { ByteReader, clientHandshake } from '../../src/driver/console-proxy/rfb';
import { connectConsole, rfbHandshake } from '../helpers/rfb-client';

let dir: string;
let sim: SimulatorHandle;
let xapi: XapiClient;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-console-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=xapi-sim',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
    ],
    { cwd: dir, stdio: 'pipe' },
  );
  const cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  const key = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
  sim = await startSimulator({ authFailureDelayMs: 10, timeScale: 0, tls: { cert, key } });
  xapi = await XapiClient.connect({
    url: sim.httpsUrl!,
    user: sim.user,
    password: sim.password,
    tls: { fingerprint: new X509Certificate(cert).fingerprint256 },
    callTimeoutMs: 10_000,
  });
});
afterAll(async () => {
  await xapi?.close();
  await sim?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('over https the console answer names the https port with tls, and works over TLS', async () => {
  // web-01 runs on the master, the one host with a TLS listener in the simulator
  const vm = xapi.mirror.query('VM', { where: { name_label: 'web-01' } })[0];
  const answer = xapiConsole(xapi, vm);
  expect(answer).toMatchObject({
    host: '127.0.0.1',
    port: Number(new URL(sim.httpsUrl!).port),
    tls: true,
  });
  const c = await connectConsole(answer.host, answer.port, answer.path, '1.1', 5000, true);
  try {
    expect(c.status).toBe(200);
    expect((await rfbHandshake(c)).name).toBe('web-01');
  } finally {
    c.close();
  }
});

test('openHostTunnel opens the host console over TLS with the pinned fingerprint', async () => {
  const vm = xapi.mirror.query('VM', { where: { name_label: 'web-01' } })[0];
  const consoleUuid = xapi.mirror.get('console', vm.consoles[0])!.uuid;
  expect(xapi.hostTransport()).toEqual({ tls: true, port: Number(new URL(sim.httpsUrl!).port) });
  const socket = await xapi.openHostTunnel('127.0.0.1', '/console', { uuid: consoleUuid });
  try {
    const init = await clientHandshake(socket, new ByteReader(socket));
    expect(init.subarray(24).toString()).toBe('web-01');
  } finally {
    socket.destroy();
  }
  await expect(
    xapi.openHostTunnel('127.0.0.1', '/console', { uuid: '00000000-0000-0000-0000-000000000000' }),
  ).rejects.toMatchObject({ code: 'HTTP_404' });
});
