// HTTPS to the simulator with certificates made at test time by the openssl CLI: verification
// against a CA file (with host name checks), a pinned SHA-256 fingerprint, rejection of an
// unverified or mismatched certificate, and the explicit, logged insecure opt-out.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SimulatorHandle } from '../../src/simulator';
import { TransportError } from '../../src/xapi';
import { PROTOCOLS, closeAll, connect, rejection, sim } from './fixtures';

let s: SimulatorHandle;
let dir: string;
let caFile: string;
let fingerprint: string;
let otherCaFile: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and a server certificate it signs for IP 127.0.0.1 only. */
function makeCerts(prefix: string): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${prefix} test CA`,
    '-keyout',
    `${prefix}-ca.key`,
    '-out',
    `${prefix}-ca.pem`,
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=xapi-sim',
    '-keyout',
    `${prefix}-server.key`,
    '-out',
    `${prefix}-server.csr`,
  );
  fs.writeFileSync(path.join(dir, `${prefix}-ext.cnf`), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    `${prefix}-server.csr`,
    '-CA',
    `${prefix}-ca.pem`,
    '-CAkey',
    `${prefix}-ca.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${prefix}-ext.cnf`,
    '-out',
    `${prefix}-server.pem`,
  );
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-tls-'));
  makeCerts('a');
  makeCerts('b');
  caFile = path.join(dir, 'a-ca.pem');
  otherCaFile = path.join(dir, 'b-ca.pem');
  const cert = fs.readFileSync(path.join(dir, 'a-server.pem'), 'utf8');
  fingerprint = new X509Certificate(cert).fingerprint256; // 'AB:CD:...'
  s = await sim({ tls: { cert, key: fs.readFileSync(path.join(dir, 'a-server.key'), 'utf8') } });
}, 20000);
afterEach(closeAll);
afterAll(async () => {
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(PROTOCOLS)('https over %s', (protocol) => {
  test('verifies the server against a CA file', async () => {
    const c = await connect(s, { url: s.httpsUrl!, protocol, tls: { caFile } });
    expect(c.connection.masterUrl).toBe(s.httpsUrl);
    expect(c.mirror.count('VM')).toBe(s.store.count('VM'));
    expect(await c.call('pool.get_all')).toHaveLength(1);
  });

  test('accepts a pinned SHA-256 fingerprint (colons or not, any case)', async () => {
    const c = await connect(s, { url: s.httpsUrl!, protocol, tls: { fingerprint } });
    expect(await c.call('pool.get_all')).toHaveLength(1);
    const c2 = await connect(s, {
      url: s.httpsUrl!,
      protocol,
      tls: { fingerprint: fingerprint.replace(/:/g, '').toLowerCase() },
    });
    expect(await c2.call('pool.get_all')).toHaveLength(1);
  });
});

test('rejects a certificate no trusted CA signed (TLS_VERIFY), by default and with another CA', async () => {
  for (const tls of [{}, { caFile: otherCaFile }]) {
    const err = await rejection(connect(s, { url: s.httpsUrl!, tls }));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('TLS_VERIFY');
  }
});

test('rejects a certificate for another host name (TLS_VERIFY)', async () => {
  const url = s.httpsUrl!.replace('127.0.0.1', 'localhost');
  const err = await rejection(connect(s, { url, tls: { caFile } }));
  expect(err.code).toBe('TLS_VERIFY');
  expect(err.message).toMatch(/hostname|host|mismatch/i);
});

test('rejects a certificate whose fingerprint differs from the pin (TLS_VERIFY)', async () => {
  const wrong = 'ab'.repeat(32);
  const err = await rejection(connect(s, { url: s.httpsUrl!, tls: { fingerprint: wrong } }));
  expect(err).toBeInstanceOf(TransportError);
  expect(err.code).toBe('TLS_VERIFY');
  expect(err.message).toContain('fingerprint');
});

test('the insecure opt-out connects and is logged', async () => {
  const warnings: string[] = [];
  const c = await connect(s, {
    url: s.httpsUrl!,
    tls: { insecure: true },
    logger: { warn: (m) => warnings.push(m) },
  });
  expect(await c.call('pool.get_all')).toHaveLength(1);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/verification is disabled/);
});

test('an unreadable CA file is TLS_INIT', async () => {
  const err = await rejection(
    connect(s, { url: s.httpsUrl!, tls: { caFile: path.join(dir, 'missing.pem') } }),
  );
  expect(err).toMatchObject({ name: 'TransportError', code: 'TLS_INIT' });
});
