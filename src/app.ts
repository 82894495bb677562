// The app factory: the whole HTTP service as an express app over a ComputeDriver, with auth,
// roles, readiness, validation against the OpenAPI file, problem+json errors, request logging and
// metrics. Tests import createApp; `xcd serve` listens with it. Owns the order every request
// passes through; must not connect to XAPI or read config itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import pino from 'pino';
import { authenticate, authorize, rolePolicy, type TokenStore } from './api/auth';
import { ApiError } from './driver/errors';
import type { ServiceDriver } from './api/driver-port';
import { boundBodyDepth, distinctMacs, finiteQueryNumbers } from './api/edge-rules';
import { Metrics } from './api/metrics';
import { problemHandler } from './api/problem';
import { requireReady } from './api/readiness';
import { requestLogBase, useRequestLog } from './api/request-log';
import { fastInstanceRead } from './api/fast-read';
import { catalogueRoutes } from './api/routes/catalogue';
import { consoleRoutes } from './api/routes/console';
import { deviceRoutes } from './api/routes/devices';
import { eventRoutes } from './api/routes/events';
import { hostRoutes } from './api/routes/host';
import { imageRoutes } from './api/routes/images';
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
}

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, done?: unknown) => void;

/** Paths match as the spec writes them: case counts, and a trailing slash is another path. */
const ROUTING = { caseSensitive: true, strict: true } as const;

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

export function createApp(opts: AppOptions): Express {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const metrics = opts.metrics ?? new Metrics({ defaultMetrics: false });
  const spec = loadSpec();
  const policy = rolePolicy(spec);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Set before the app's router exists (it reads them when made); the validator's route lookup
  // reads them too, so the router, the lookup and the role check agree on every path.
  app.set('case sensitive routing', ROUTING.caseSensitive);
  app.set('strict routing', ROUTING.strict);

  useRequestLog(app, logger);
  app.use(metrics.httpMiddleware());

  // The system routes (no path parameters, no token) go on the app's own router: a nested
  // router would be one more dispatch on every request.
  systemRoutes(app.router, { driver: opts.driver, metrics, spec: loadSpec() });

  // Every other request, in this order: who calls (401), which operation of the spec it is
  // (404, 405), whether the caller's role may (403), whether the service is ready (503); only
  // then is the body read (415, 413, 400) and checked. Chained inside one layer: the router's
  // per-layer dispatch costs more than the checks themselves.
  const { lookup, check } = validation(spec, { validateResponses: opts.validateResponses });
  const json = express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] });
  app.use(
    series([
      authenticate(opts.auth),
      ...lookup,
      authorize(policy),
      requireReady(opts.driver),
      (req, res, next) =>
        req.method === 'GET' || req.method === 'HEAD' ? next() : json(req, res, next),
      boundBodyDepth(),
      ...check,
      finiteQueryNumbers(),
      distinctMacs(),
    ]),
  );

  // The API's routes stay in a router of their own: the validator registers app.param handlers
  // (which would re-set req.params from its coerced values) on the app's router.
  const api = express.Router(ROUTING);
  hostRoutes(api, opts.driver);
  catalogueRoutes(api, opts.driver);
  instanceRoutes(api, opts.driver);
  operationRoutes(api, opts.driver);
  snapshotRoutes(api, opts.driver);
  deviceRoutes(api, opts.driver);
  consoleRoutes(api, opts.driver);
  imageRoutes(api, opts.driver);
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
      policy,
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
