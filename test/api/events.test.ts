// Backpressure of GET /v1/events (src/api/routes/events.ts) on the real driver: a reader that
// stops taking the stream makes it end once the unsent bytes pass the limit, instead of growing
// the response buffer without bound, and resuming with Last-Event-ID loses and repeats nothing.
import express, { type Response } from 'express';
import { parseSse } from '../../src/client';
import { eventRoutes } from '../../src/api/routes/events';
import { startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

test('SSE backpressure: a slow reader is ended when the unsent bytes pass the limit, and resumes with Last-Event-ID', async () => {
  const from = stack.driver.events.lastId;
  const templates = await stack.request('GET', '/v1/templates');
  const spawned = await stack.request('PUT', '/v1/instances/bp-1', {
    body: { template: templates.body.items[0].uuid, vcpus: 1, memory_mb: 256 },
    headers: { prefer: 'wait=15' },
  });
  expect(spawned.body.status).toBe('succeeded');
  for (let i = 0; i < 4; i++) {
    for (const action of ['pause', 'unpause'])
      await stack.request('POST', '/v1/instances/bp-1/actions', {
        body: { action },
        headers: { prefer: 'wait=15' },
      });
  }
  const kept = (): string[] => {
    const sub = stack.driver.events.subscribe('alpha', from, () => undefined);
    sub.close();
    return sub.backlog.filter((e) => e.instance_id === 'bp-1').map((e) => `${e.id} ${e.type}`);
  };
  const until = async (check: () => boolean): Promise<void> => {
    for (let i = 0; !check(); i++) {
      if (i > 500) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until(() => kept().length >= 10);
  const backlog = kept();

  // The same route with a small limit, behind a stalled peer: the server's socket is corked, so
  // every frame stays unsent (on loopback the kernel would otherwise absorb megabytes first).
  const limit = 1024;
  const app = express();
  let stalled: Response | undefined;
  app.use((req, res, next) => {
    req.caller = { namespace: 'alpha', role: 'operator', tokenId: 'bp' };
    if (req.query.stall === '1') {
      res.socket!.cork();
      stalled = res;
    }
    next();
  });
  const router = express.Router();
  eventRoutes(router, stack.driver, { maxBufferedBytes: limit });
  app.use(router);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/events`;
  try {
    // The backlog is more than the limit but is paced by the socket, not counted as slowness.
    const answer = fetch(`${url}?instance_id=bp-1&stall=1`, { headers: { 'last-event-id': from } });
    await until(() => (stalled?.writableLength ?? 0) > limit);
    expect(stalled!.writableEnded).toBe(false);
    // A live event while the reader takes nothing: the stream ends instead of buffering it.
    await stack.request('POST', '/v1/instances/bp-1/actions', {
      body: { action: 'pause' },
      headers: { prefer: 'wait=15' },
    });
    await until(() => kept().length > backlog.length);
    await until(() => stalled!.writableEnded);
    const first: string[] = [];
    // Ends by itself: the server closed the stream (a hang fails the test by its timeout).
    for await (const m of parseSse((await answer).body!))
      if (m.id && m.event) first.push(`${m.id} ${m.event}`);
    expect(first).toEqual(backlog);

    // Resuming after the last id received gives the rest, in order, once (the stream then stays
    // open for live events: read what the ring holds and stop).
    const all = kept();
    const rest: string[] = [];
    const ctl = new AbortController();
    const res = await fetch(`${url}?instance_id=bp-1`, {
      headers: { 'last-event-id': first[first.length - 1].split(' ')[0] },
      signal: ctl.signal,
    });
    try {
      for await (const m of parseSse(res.body!)) {
        if (m.id && m.event) rest.push(`${m.id} ${m.event}`);
        if (first.length + rest.length === all.length) ctl.abort();
      }
    } catch {
      /* aborted */
    }
    expect(rest.map((e) => e.split(' ')[1])).toEqual(['paused']);
    expect([...first, ...rest]).toEqual(all);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
