// A service behind a TLS-terminating proxy (`--public-url`): the console forms that name the
// service itself (tunnel, WebSocket, page) give the public address and scheme, not the one the
// request reached; the VNC form keeps its own listener.
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
const wait = { prefer: 'wait=30' };

beforeAll(async () => {
  stack = await startStack({ publicUrl: 'https://xcd.example.com' });
  const templates = (await stack.request('GET', '/v1/templates')).body.items;
  const template = (templates.find((t: { disk_gb?: number }) => t.disk_gb) ?? templates[0]).uuid;
  const spawned = await stack.request('PUT', '/v1/instances/pub-1', {
    body: { template, vcpus: 1, memory_mb: 256 },
    headers: wait,
  });
  expect(spawned.body.status).toBe('succeeded');
});
afterAll(async () => {
  await stack?.close();
});

const consoleOf = async (type: string): Promise<any> =>
  (await stack.request('GET', `/v1/instances/pub-1/console?type=${type}`)).body;

test('tunnel, websocket and page forms give the public address over TLS', async () => {
  expect(await consoleOf('tunnel')).toMatchObject({
    type: 'tunnel',
    host: 'xcd.example.com',
    port: 443,
    tls: true,
    path: expect.stringMatching(/^\/v1\/consoles\/[^/]+$/),
  });
  expect((await consoleOf('websocket')).url).toMatch(
    /^wss:\/\/xcd\.example\.com\/v1\/consoles\/[^/]+\/websocket$/,
  );
  expect((await consoleOf('url')).url).toMatch(
    /^https:\/\/xcd\.example\.com\/v1\/consoles\/[^/]+\/$/,
  );
  const vnc = await consoleOf('vnc');
  expect(vnc.host).not.toBe('xcd.example.com');
});
