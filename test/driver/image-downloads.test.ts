// Imports from a URL against a local HTTP server: an allow-listed URL is downloaded (through a
// redirect) into an image; a URL off the list, one redirecting off it or too often, one that
// cannot be reached and one too large are refused with their codes, leaving no VDI.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alice, settle, startDriverStack, type DriverStack } from './stack';

let stack: DriverStack;
let server: Server;
let base: string;
const bytes = randomBytes(1024 * 1024);

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/disk.raw') {
      res.writeHead(200, { 'content-length': bytes.length });
      res.end(bytes);
    } else if (url.startsWith('/hop/')) {
      const n = Number(url.slice(5));
      res.writeHead(302, { location: n > 0 ? `/hop/${n - 1}` : '/disk.raw' });
      res.end();
    } else if (url === '/away') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest' });
      res.end();
    } else if (url === '/huge') {
      res.writeHead(200, { 'content-length': 1024 * 1024 * 1024 });
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stack = await startDriverStack({
    driver: { imageUrlAllow: [`${base}/`], imageDownload: { maxBytes: 64 * 1024 * 1024 } },
  });
});
afterAll(async () => {
  await stack?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const vdisOf = (id: string): number =>
  stack.xapi.mirror.query('VDI', { where: { 'other_config.xcd_image_id': id }, fields: ['uuid'] })
    .length;

test('an allow-listed URL is downloaded, through redirects, into an image', async () => {
  const sha = createHash('sha256').update(bytes).digest('hex');
  const op = stack.driver.importImageFromUrl(alice, 'from-url', {
    source_url: `${base}/hop/2`,
    format: 'raw',
    checksum: `sha256:${sha}`,
  });
  expect(await settle(stack, alice, op)).toMatchObject({
    status: 'succeeded',
    result: { id: 'from-url', checksum: `sha256:${sha}`, virtual_size: bytes.length },
  });
});

test('a URL off the allow-list, or not http(s), is refused at once', () => {
  for (const source_url of ['http://169.254.169.254/latest', 'file:///etc/passwd', 'ftp://x/y'])
    expect(() =>
      stack.driver.importImageFromUrl(alice, 'refused', { source_url, format: 'raw' }),
    ).toThrow(expect.objectContaining({ status: 400, code: 'url_not_allowed' }));
});

test.each([
  ['/hop/9', 'too_many_redirects'],
  ['/away', 'url_not_allowed'],
  ['/missing', 'url_unreachable'],
  ['/huge', 'image_too_large'],
])('%s fails %s and leaves no VDI', async (path, code) => {
  const id = `bad${path.replace(/\//g, '-')}`;
  const op = stack.driver.importImageFromUrl(alice, id, { source_url: base + path, format: 'raw' });
  expect(await settle(stack, alice, op)).toMatchObject({ status: 'failed', error: { code } });
  expect(vdisOf(id)).toBe(0);
});

test('an unreachable host fails url_unreachable', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const local = await startDriverStack({
    driver: { imageUrlAllow: [`http://127.0.0.1:${port}/`] },
  });
  try {
    const op = local.driver.importImageFromUrl(alice, 'nowhere', {
      source_url: `http://127.0.0.1:${port}/disk.raw`,
      format: 'raw',
    });
    expect(await settle(local, alice, op)).toMatchObject({
      status: 'failed',
      error: { code: 'url_unreachable' },
    });
  } finally {
    await local.close();
  }
});
