// The `events` tag: GET /v1/events as server-sent events of the caller's instances' lifecycle,
// resumable with Last-Event-ID (or ?last_event_id=), with keep-alive comments. Owns only the SSE
// framing and its backpressure (a reader too slow to take the stream is ended and resumes from
// the feed's ring); the driver's feed decides what happened and filters by namespace.
import type { Request, Response } from 'express';
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';

type LifecycleEvent = components['schemas']['LifecycleEvent'];

export const KEEPALIVE_MS = 15_000;
/** Bytes a stream may hold unsent before its slow reader is ended (it resumes with Last-Event-ID). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long an ended stream may take to flush what it holds before its socket is dropped. */
const END_GRACE_MS = 30_000;

function frame(e: LifecycleEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function eventRoutes(
  router: ApiRouter,
  driver: Pick<ServiceDriver, 'events'>,
  opts: { keepAliveMs?: number; maxBufferedBytes?: number } = {},
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

    const limit = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    // Frames go out with the socket's own backpressure: the backlog (already held by the ring)
    // is written as the reader takes it; live frames wait in `queue` meanwhile. A reader that
    // leaves more than `limit` bytes unsent and queued is too slow: nothing more is written, the
    // stream ends after the whole frames it holds, and the reader resumes after the last id it got.
    const sub = driver.events.subscribe(caller.namespace, after, (e) => {
      if (wanted(e)) send(frame(e));
    });
    const backlog = sub.backlog.filter(wanted);
    let next = 0;
    const queue: string[] = [];
    let queuedBytes = 0;
    let draining = false;
    let ended = false;
    let grace: NodeJS.Timeout | undefined;

    const pump = (): void => {
      while (!ended && !draining) {
        let chunk: string;
        if (next < backlog.length) chunk = frame(backlog[next++]);
        else if (queue.length > 0) {
          chunk = queue.shift()!;
          queuedBytes -= Buffer.byteLength(chunk);
        } else return;
        if (!res.write(chunk)) {
          draining = true;
          res.once('drain', () => {
            draining = false;
            pump();
          });
        }
      }
    };
    const send = (chunk: string): void => {
      if (ended) return;
      queue.push(chunk);
      queuedBytes += Buffer.byteLength(chunk);
      if (res.writableLength + queuedBytes > limit) return endSlow();
      pump();
    };
    const endSlow = (): void => {
      ended = true;
      stop();
      res.end();
      grace = setTimeout(() => res.destroy(), END_GRACE_MS);
      grace.unref();
    };

    const timer = setInterval(() => send(': keep-alive\n\n'), opts.keepAliveMs ?? KEEPALIVE_MS);
    timer.unref();
    function stop(): void {
      clearInterval(timer);
      sub.close();
    }
    req.on('close', stop);
    res.on('close', () => {
      stop();
      clearTimeout(grace);
    });

    res.write(`retry: 2000\n: events for namespace ${caller.namespace}\n\n`);
    if (sub.lost)
      res.write(
        `id: ${driver.events.lastId}\nevent: events_lost\ndata: ${JSON.stringify({ after })}\n\n`,
      );
    pump();
  });
}
