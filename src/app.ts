// The app factory: the whole HTTP service as an express app over a ComputeDriver, with auth,
// validation against the OpenAPI file, problem+json errors, request logging and metrics. Tests
// import createApp; `xcd serve` listens with it. Must not connect to XAPI or read config itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import pino from 'pino';
import { authenticate, authorize, type TokenStore } from './api/auth';
import { ApiError } from './driver/errors';
import type { ServiceDriver } from './api/driver-port';
import { Metrics } from './api/metrics';
import { problemHandler } from './api/problem';
import { requestLogBase, useRequestLog } from './api/request-log';
import { fastInstanceRead } from './api/fast-read';
import { catalogueRoutes } from './api/routes/catalogue';
import { consoleRoutes } from './api/routes/console';
import { deviceRoutes } from './api/routes/devices';
import { eventRoutes } from './api/routes/events';
import { hostRoutes } from './api/routes/host';
import { instanceRoutes } from './api/routes/instances';
import { operationRoutes } from './api/routes/operations';
import { snapshotRoutes } from './api/routes/snapshots';
import { systemRoutes } from './api/routes/system';
import { loadSpec } from './api/spec';
import { validation } from './api/validation';

export interface AppOptions {
  driver: ServiceDriver;
  auth: TokenStore;
  logger?: pino.Logger;
  metrics?: Metrics;
  /** Validate every response against the spec (tests); an invalid one becomes a 500. */
  validateResponses?: boolean;
  /** Answer a plain successful GET of one instance before express (default true). */
  fastReads?: boolean;
  /** Shown by /healthz and /readyz. */
  xapiUrl?: string;
  version?: string;
}

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, done?: unknown) => void;

/** What app.use('/v1', ...) matches (case-insensitive, like express's routing). */
const V1 = /^\/v1(?:\/|$)/i;

/** One middleware running `handlers` in order, as separate app.use layers would. */
function series(handlers: RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      const handler = handlers[i++];
      if (!handler) return next();
      const out = handler(req, res, step) as unknown;
      if (out instanceof Promise) out.catch(step);
    };
    step();
  };
}

/** `handler` for requests whose path matches `re`, with req.path and req.url left whole. */
function whenPath(re: RegExp, handler: RequestHandler): RequestHandler {
  return (req, res, next) => (re.test(req.path) ? handler(req, res, next) : next());
}

export function createApp(opts: AppOptions): Express {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const metrics = opts.metrics ?? new Metrics({ defaultMetrics: false });
  const spec = loadSpec();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  useRequestLog(app, logger);
  app.use(metrics.httpMiddleware());

  // The system routes (no path parameters) go on the app's own router: a nested router would be
  // one more dispatch on every request.
  systemRoutes(app.router, {
    driver: opts.driver,
    metrics,
    spec: loadSpec(),
    xapiUrl: opts.xapiUrl,
    version: opts.version,
  });

  const json = express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] });
  app.use((req, res, next) =>
    req.method === 'GET' || req.method === 'HEAD' ? next() : json(req, res, next),
  );
  // Middleware that runs on every API request is chained inside one layer each: the router's
  // per-layer dispatch (and, for a mounted path, rewriting and re-parsing the URL) costs more
  // than the checks themselves.
  app.use(whenPath(V1, series([authenticate(opts.auth), authorize()])));
  app.use(series(validation(spec, { validateResponses: opts.validateResponses })));

  // The API's routes stay in a router of their own: the validator registers app.param handlers
  // (which would re-set req.params from its coerced values) on the app's router.
  const api = express.Router();
  hostRoutes(api, opts.driver);
  catalogueRoutes(api, opts.driver);
  instanceRoutes(api, opts.driver);
  operationRoutes(api, opts.driver);
  snapshotRoutes(api, opts.driver);
  deviceRoutes(api, opts.driver);
  consoleRoutes(api, opts.driver);
  eventRoutes(api, opts.driver);
  app.use(api);

  app.use((req, _res, next) =>
    next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`)),
  );
  app.use(problemHandler);

  // GET of one instance, the poll orchestrators make most, skips express when it simply
  // succeeds (src/api/fast-read.ts). Not with response validation: that checks every answer.
  if (!opts.validateResponses && opts.fastReads !== false) {
    const fast = fastInstanceRead({
      driver: opts.driver,
      auth: opts.auth,
      metrics,
      spec,
      logBase: requestLogBase(logger),
    });
    const handle = (app as unknown as { handle: ExpressHandle }).handle.bind(app);
    (app as unknown as { handle: ExpressHandle }).handle = (req, res, done) => {
      if (!fast(req, res)) handle(req, res, done);
    };
  }
  return app;
}
