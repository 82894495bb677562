// The `events` tag: GET /v1/events as server-sent events of the caller's instances' lifecycle,
// resumable with Last-Event-ID (or ?last_event_id=), with keep-alive comments. Owns only the SSE
// framing; the driver's feed decides what happened and filters by namespace.
import type { Request, Response, Router } from 'express';
import { callerOf } from '../auth';
import type { DepthPort } from '../depth-port';
import type { components } from '../generated/openapi';

type LifecycleEvent = components['schemas']['LifecycleEvent'];

export const KEEPALIVE_MS = 15_000;

function frame(e: LifecycleEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function eventRoutes(
  router: Router,
  driver: { depth: DepthPort },
  opts: { keepAliveMs?: number } = {},
): void {
  router.get('/v1/events', (req: Request, res: Response) => {
    const caller = callerOf(req);
    const header = req.headers['last-event-id'];
    const query = req.query.last_event_id;
    const after =
      (typeof header === 'string' && header) || (typeof query === 'string' && query) || undefined;
    const only = typeof req.query.instance_id === 'string' ? req.query.instance_id : undefined;
    const wanted = (e: LifecycleEvent): boolean => only === undefined || e.instance_id === only;

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();

    const sub = driver.depth.events.subscribe(caller.namespace, after, (e) => {
      if (wanted(e)) res.write(frame(e));
    });
    res.write(`retry: 2000\n: events for namespace ${caller.namespace}\n\n`);
    if (sub.lost)
      res.write(
        `id: ${driver.depth.events.lastId}\nevent: events_lost\ndata: ${JSON.stringify({ after })}\n\n`,
      );
    for (const e of sub.backlog) if (wanted(e)) res.write(frame(e));

    const timer = setInterval(
      () => res.write(': keep-alive\n\n'),
      opts.keepAliveMs ?? KEEPALIVE_MS,
    );
    timer.unref();
    const stop = (): void => {
      clearInterval(timer);
      sub.close();
    };
    req.on('close', stop);
    res.on('close', stop);
  });
}
