// Prometheus metrics of one service instance, on its own registry: default process metrics,
// HTTP request latency per route, XAPI call latency per method (by wrapping a client's call and
// callAsync), mirror size per class and initial sync time, console connections (open by form,
// and their outcomes). Must not change what it measures.
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the mirror-size gauge reads of a mirror: the classes it holds and their counts. */
interface MirrorCounts {
  readonly classes: readonly string[];
  count(cls: string): number;
}

/** The part of XapiClient that instrumentXapi wraps. */
export interface XapiCallable {
  call(method: string, ...args: unknown[]): Promise<unknown>;
  callAsync(method: string, args: unknown[], opts?: unknown): Promise<unknown>;
}

/** What the console gauges read (the driver's consoleStats()). */
interface ConsoleCounts {
  open: Record<string, number>;
  outcomes: Array<{ kind: string; outcome: string; count: number }>;
  pending: number;
}

/** When a request came in (performance.now()), on the request itself. */
const STARTED = Symbol('xcd.metrics.started');
type Timed = Request & { [STARTED]: number };

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly xapiDuration: Histogram<'method' | 'outcome'>;
  readonly xapiErrors: Counter<'method' | 'code'>;
  readonly mirrorSyncSeconds: Gauge;
  private mirror?: MirrorCounts;
  private consoles?: () => ConsoleCounts | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.httpDuration = new Histogram({
      name: 'xcd_http_request_duration_seconds',
      help: 'HTTP request latency by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.xapiDuration = new Histogram({
      name: 'xcd_xapi_call_duration_seconds',
      help: 'XAPI call latency by method (Async.* calls include the task) and outcome',
      labelNames: ['method', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers,
    });
    this.xapiErrors = new Counter({
      name: 'xcd_xapi_call_errors_total',
      help: 'XAPI calls that failed, by method and error code',
      labelNames: ['method', 'code'],
      registers,
    });
    this.mirrorSyncSeconds = new Gauge({
      name: 'xcd_mirror_sync_seconds',
      help: 'Time from connecting to XAPI until the mirror finished its initial sync',
      registers,
    });
    const consolesOf = (): ConsoleCounts | undefined => this.consoles?.();
    new Gauge({
      name: 'xcd_console_connections',
      help: 'Console client connections open now (handshakes included), by form',
      labelNames: ['form'],
      registers,
      collect() {
        const stats = consolesOf();
        if (!stats) return;
        this.reset();
        for (const [form, n] of Object.entries(stats.open)) this.set({ form }, n);
      },
    });
    new Gauge({
      name: 'xcd_console_pending',
      help: 'Consoles handed out and not yet used',
      registers,
      collect() {
        const stats = consolesOf();
        if (stats) this.set(stats.pending);
      },
    });
    new Counter({
      name: 'xcd_console_connections_total',
      help: 'Console client connections by form and outcome (relayed, refused, timeout, failed)',
      labelNames: ['form', 'outcome'],
      registers,
      collect() {
        const stats = consolesOf();
        if (!stats) return;
        this.reset();
        for (const o of stats.outcomes) this.inc({ form: o.kind, outcome: o.outcome }, o.count);
      },
    });
    const mirrorOf = (): MirrorCounts | undefined => this.mirror;
    new Gauge({
      name: 'xcd_mirror_objects',
      help: 'Objects held in the mirror, by XAPI class',
      labelNames: ['class'],
      registers,
      collect() {
        const mirror = mirrorOf();
        if (!mirror) return;
        for (const cls of mirror.classes) this.set({ class: cls }, mirror.count(cls));
      },
    });
  }

  /** Reads the console proxy's counts at each scrape. */
  watchConsoles(stats: () => ConsoleCounts | undefined): void {
    this.consoles = stats;
  }

  /** Counts objects of `mirror` at each scrape. */
  watchMirror(mirror: { readonly classes: readonly string[]; count(cls: never): number }): void {
    this.mirror = mirror as unknown as MirrorCounts;
  }

  /** Records one request's latency: one bound child per label set (labelling costs more than a request). */
  httpObserver(): (method: string, route: string, status: number, seconds: number) => void {
    const children = new Map<string, { observe(v: number): void }>();
    return (method, route, status, seconds) => {
      const key = `${method} ${route} ${status}`;
      let child = children.get(key);
      if (!child) {
        child = this.httpDuration.labels(method, route, String(status));
        children.set(key, child);
      }
      child.observe(seconds);
    };
  }

  /** Express middleware timing each request under its route template (e.g.
   * /v1/instances/:instance_id): the endpoint it matched, `unmatched` for a 404 that matched
   * none, `middleware` for an answer before the match (401). */
  httpMiddleware(): RequestHandler {
    const observe = this.httpObserver();
    function onFinish(this: ServerResponse & { req: Timed }): void {
      const req = this.req;
      const route = req.route
        ? `${req.baseUrl}${String(req.route.path)}`
        : req.matched
          ? req.matched.endpoint.route
          : this.statusCode === 404
            ? 'unmatched'
            : 'middleware';
      observe(req.method, route, this.statusCode, (performance.now() - req[STARTED]) / 1000);
    }
    return (req, res, next) => {
      (req as Timed)[STARTED] = performance.now();
      res.on('finish', onFinish);
      next();
    };
  }

  /** Wraps `client.call` and `client.callAsync` on this instance so every XAPI call is timed. */
  instrumentXapi<T extends XapiCallable>(client: T): T {
    const call = client.call.bind(client);
    const callAsync = client.callAsync.bind(client);
    const observe = async <R>(method: string, run: () => Promise<R>): Promise<R> => {
      const end = this.xapiDuration.startTimer();
      try {
        const out = await run();
        end({ method, outcome: 'ok' });
        return out;
      } catch (err) {
        end({ method, outcome: 'error' });
        this.xapiErrors.inc({
          method,
          code: String((err as { code?: unknown }).code ?? 'unknown'),
        });
        throw err;
      }
    };
    Object.assign(client, {
      call: (method: string, ...args: unknown[]) => observe(method, () => call(method, ...args)),
      callAsync: (method: string, args: unknown[], opts?: unknown) =>
        observe(`Async.${method}`, () => callAsync(method, args, opts)),
    });
    return client;
  }
}
