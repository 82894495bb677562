// The app's HTTP server (createServer in src/app.ts): it serves the app, and makes each request
// and response with the app's own prototypes from the start, so express, which sets them on
// every request, changes nothing on the objects it is handed.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createServer } from '../../src/app';

test('requests and responses are made with the app prototypes, and the app answers', async () => {
  const app = express();
  const seen: boolean[] = [];
  app.use((req, res) => {
    seen.push(Object.getPrototypeOf(req) === app.request);
    seen.push(Object.getPrototypeOf(res) === app.response);
    res.json({ path: req.path, query: req.query });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/a/b?x=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ path: '/a/b', query: { x: '1' } });
    expect(seen).toEqual([true, true]);
  } finally {
    server.close();
  }
});
