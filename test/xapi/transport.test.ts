// Transports of the native client: the dom0 Unix socket, plain HTTP with keep-alive, chunked and
// close-delimited responses (through a re-framing relay in front of the simulator), timeouts,
// refused connections, the response size bound, bad HTTP answers, and the PUT side channel.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { SimulatorHandle } from '../../src/simulator';
import { TransportError } from '../../src/xapi';
import { closeAll, connect, rejection, sim } from './fixtures';

let s: SimulatorHandle;
let dir: string;
const servers: net.Server[] = [];
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-transport-'));
  s = await sim({ socket: path.join(dir, 'xapi') });
});
afterEach(closeAll);
afterAll(async () => {
  for (const srv of servers) srv.close();
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function listen(srv: net.Server): Promise<string> {
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
}

/** A raw HTTP relay to the simulator that re-frames every answer as chunked or close-delimited. */
async function relay(mode: 'chunked' | 'close', counter?: { n: number }): Promise<string> {
  const target = new URL(s.url);
  const srv = net.createServer((sock) => {
    if (counter) counter.n++;
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        const len = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = buf.subarray(end + 4, end + 4 + len);
        buf = buf.subarray(end + 4 + len);
        const [method, reqPath] = head.split(' ');
        const req = http.request(
          {
            host: target.hostname,
            port: target.port,
            method,
            path: reqPath,
            headers: { 'content-length': len },
          },
          (res) => {
            const parts: Buffer[] = [];
            res.on('data', (p: Buffer) => parts.push(p));
            res.on('end', () => {
              const out = Buffer.concat(parts);
              const type = res.headers['content-type'] ?? 'text/xml';
              if (mode === 'chunked') {
                let framed = `HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`;
                for (let i = 0; i < out.length; i += 777) {
                  const piece = out.subarray(i, i + 777);
                  framed += `${piece.length.toString(16)}\r\n${piece.toString('latin1')}\r\n`;
                }
                sock.write(Buffer.from(framed + '0\r\n\r\n', 'latin1'));
              } else {
                sock.write(`HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nConnection: close\r\n\r\n`);
                sock.end(out);
              }
            });
          },
        );
        req.on('error', () => sock.destroy());
        req.end(body);
      }
    });
    sock.on('error', () => undefined);
  });
  return listen(srv);
}

test('the Unix socket logs in as local root with any credentials', async () => {
  const c = await connect(s, {
    url: `unix://${s.socketPath}`,
    user: 'anyone',
    password: 'anything',
  });
  expect(c.connection.masterUrl).toBe(`unix://${s.socketPath}`);
  expect(c.mirror.count('VM')).toBe(s.store.count('VM'));
  expect(s.store.get('session', c.sessionRef).is_local_superuser).toBe(true);
});

test('keep-alive: many calls reuse a few connections', async () => {
  const counter = { n: 0 };
  const url = await relay('chunked', counter);
  const c = await connect(s, { url, mirror: false, eventPollSeconds: 5 });
  for (let i = 0; i < 30; i++) await c.call('pool.get_all');
  expect(counter.n).toBeLessThanOrEqual(3); // calls, plus the event stream's own long poll
});

test.each(['chunked', 'close'] as const)('%s responses decode in both protocols', async (mode) => {
  const url = await relay(mode);
  for (const protocol of ['json-rpc', 'xml-rpc'] as const) {
    const c = await connect(s, { url, protocol, mirror: ['VM', 'host'] });
    expect(c.mirror.count('VM')).toBe(s.store.count('VM'));
    expect(await c.call('host.get_all')).toHaveLength(s.store.count('host'));
    await c.close();
  }
});

test('pooled connections the server closed while idle are dropped and the call retried once', async () => {
  // A TCP pipe to the simulator whose client-side sockets can all be cut at once, as a server's
  // keep-alive timeout does to idle connections.
  const target = new URL(s.url);
  const sockets = new Set<net.Socket>();
  const url = await listen(
    net.createServer((sock) => {
      sockets.add(sock);
      const upstream = net.connect(Number(target.port), target.hostname);
      sock.pipe(upstream).pipe(sock);
      const end = () => {
        sockets.delete(sock);
        sock.destroy();
        upstream.destroy();
      };
      sock.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    }),
  );
  const c = await connect(s, { url, mirror: false, eventPollSeconds: 5 });
  await Promise.all(Array.from({ length: 6 }, () => c.call('pool.get_all')));
  for (const sock of [...sockets]) sock.destroy();
  await new Promise((r) => setTimeout(r, 50));
  expect(await c.call('pool.get_all')).toHaveLength(1);
});

test('a refused connection is ECONNREFUSED', async () => {
  const srv = net.createServer();
  const url = await listen(srv);
  await new Promise((r) => srv.close(r));
  const err = await rejection(connect(s, { url }));
  expect(err).toBeInstanceOf(TransportError);
  expect(err.code).toBe('ECONNREFUSED');
});

test('a server that never answers hits the read timeout (ETIMEDOUT)', async () => {
  const url = await listen(net.createServer((sock) => sock.on('data', () => undefined)));
  const err = await rejection(connect(s, { url, callTimeoutMs: 300 }));
  expect(err).toBeInstanceOf(TransportError);
  expect(err.code).toBe('ETIMEDOUT');
});

test('a TLS peer that never handshakes hits the connect timeout (ETIMEDOUT)', async () => {
  const url = (await listen(net.createServer(() => undefined))).replace('http:', 'https:');
  const err = await rejection(
    connect(s, {
      url,
      connectTimeoutMs: 300,
      tls: { insecure: true },
      logger: { warn: () => undefined },
    }),
  );
  expect(err.code).toBe('ETIMEDOUT');
});

test('responses beyond maxResponseBytes fail with RESPONSE_TOO_LARGE', async () => {
  const err = await rejection(connect(s, { maxResponseBytes: 4096 }));
  expect(err).toBeInstanceOf(TransportError);
  expect(err.code).toBe('RESPONSE_TOO_LARGE');
  const c = await connect(s, { maxResponseBytes: 12 * 1024, mirror: ['pool'] });
  await expect(c.call('VM.get_all_records')).rejects.toMatchObject({ code: 'RESPONSE_TOO_LARGE' });
  await expect(c.call('pool.get_all')).resolves.toHaveLength(1); // the client stays usable
});

test('a chunk size that would wrap the response bound is refused, not written past the buffer', async () => {
  const raw = (text: string) =>
    listen(net.createServer((sock) => sock.once('data', () => sock.end(text))));
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n';
  const wrap = await rejection(
    connect(s, {
      url: await raw(`${head}2\r\nab\r\nffffffffffffffff\r\nabcd`),
      protocol: 'xml-rpc',
    }),
  );
  expect(wrap).toMatchObject({ name: 'TransportError', code: 'RESPONSE_TOO_LARGE' });
  const garbage = await rejection(
    connect(s, { url: await raw(`${head}zz\r\nab\r\n0\r\n\r\n`), protocol: 'xml-rpc' }),
  );
  expect(garbage).toMatchObject({ name: 'TransportError', code: 'EPROTO' });
  const status = await rejection(
    connect(s, { url: await raw('HTTP/1.1\r\n\r\n'), protocol: 'xml-rpc' }),
  );
  expect(status).toMatchObject({ name: 'TransportError', code: 'EPROTO' });
});

test('an HTTP error status is HTTP_<status>; an undecodable body is EPROTO', async () => {
  const answer = (status: number, type: string, body: string) =>
    listen(
      net.createServer((sock) =>
        sock.once('data', () =>
          sock.end(
            `HTTP/1.1 ${status} X\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ),
        ),
      ),
    );
  const e500 = await rejection(
    connect(s, { url: await answer(500, 'text/html', '<h1>no</h1>'), protocol: 'xml-rpc' }),
  );
  expect(e500).toMatchObject({ name: 'TransportError', code: 'HTTP_500' });
  const bad = await rejection(
    connect(s, { url: await answer(200, 'text/xml', '<methodResponse><par'), protocol: 'xml-rpc' }),
  );
  expect(bad).toMatchObject({ name: 'TransportError', code: 'EPROTO' });
  const badJson = await rejection(
    connect(s, { url: await answer(200, 'application/json', '{"result":'), protocol: 'json-rpc' }),
  );
  expect(badJson).toMatchObject({ name: 'TransportError', code: 'EPROTO' });
});

test('httpPut stores bytes through the side channel with the session', async () => {
  const c = await connect(s, { mirror: ['VDI'] });
  const vdiRef = c.mirror.query('VDI', { fields: ['uuid'], limit: 1 })[0].$ref;
  const bytes = Buffer.from('config-drive-bytes\u0000\u00ff'.repeat(1000), 'latin1');
  await c.httpPut('/import_raw_vdi', { vdi: vdiRef }, bytes);
  // the VDI's content now begins with the bytes (the rest of its virtual size reads as zeros)
  const fd = fs.openSync(s.vdiContent(vdiRef), 'r');
  const back = Buffer.alloc(bytes.length);
  fs.readSync(fd, back, 0, bytes.length, 0);
  fs.closeSync(fd);
  expect(back.equals(bytes)).toBe(true);
  await expect(
    c.httpPut('/import_raw_vdi', { vdi: 'OpaqueRef:nope' }, bytes),
  ).rejects.toMatchObject({
    name: 'TransportError',
    code: expect.stringMatching(/^HTTP_4/),
  });
});
