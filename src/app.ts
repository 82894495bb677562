// The app factory: the whole HTTP service as an express app over a ComputeDriver, with auth,
// roles, readiness, validation against the OpenAPI file, problem+json errors, request logging and
// metrics, and the HTTP server that serves it. Tests import createApp; `xcd serve` listens with
// it. Owns the order every request passes through; must not connect to XAPI or read config.
import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import express, { type Express } from 'express';
import pino from 'pino';
import { authenticate, authorize, type TokenStore } from './api/auth';
import { ApiError } from './driver/errors';
import type { ServiceDriver } from './api/driver-port';
import { readJsonBody } from './api/edge-rules';
import { Endpoints, type ApiRouter } from './api/endpoints';
import { Metrics } from './api/metrics';
import { problemHandler } from './api/problem';
import { requireReady } from './api/readiness';
import { ResponseCheck } from './api/response-check';
import { useRequestLog } from './api/request-log';
import { catalogueRoutes } from './api/routes/catalogue';
import { consoleAssetRoutes, consoleRoutes } from './api/routes/console';
import { routeRawRequests } from './api/raw-socket';
import { configDriveRoutes } from './api/routes/config-drive';
import { deviceRoutes } from './api/routes/devices';
import { diskSnapshotRoutes } from './api/routes/disk-snapshots';
import { eventRoutes } from './api/routes/events';
import { hostRoutes } from './api/routes/host';
import { imageRoutes } from './api/routes/images';
import { instanceRoutes } from './api/routes/instances';
import { operationRoutes } from './api/routes/operations';
import { snapshotRoutes } from './api/routes/snapshots';
import { systemRoutes } from './api/routes/system';
import { loadSpec } from './api/spec';
import { Validation } from './api/validation';

export interface AppOptions {
  driver: ServiceDriver;
  auth: TokenStore;
  logger?: pino.Logger;
  metrics?: Metrics;
  /** Check every JSON answer against the spec (tests); an invalid one becomes a 500. */
  validateResponses?: boolean;
  /** Where clients reach the service when a proxy stands in front (ServeConfig.publicUrl). */
  publicUrl?: string;
}

/** Registers every route module's handlers on the endpoints they serve. */
export function apiRoutes(
  router: ApiRouter,
  driver: ServiceDriver,
  opts: { publicUrl?: string } = {},
): void {
  hostRoutes(router, driver);
  catalogueRoutes(router, driver);
  instanceRoutes(router, driver);
  operationRoutes(router, driver);
  snapshotRoutes(router, driver);
  deviceRoutes(router, driver);
  diskSnapshotRoutes(router, driver);
  configDriveRoutes(router, driver);
  consoleRoutes(router, driver, opts.publicUrl);
  imageRoutes(router, driver);
  eventRoutes(router, driver);
}

export function createApp(opts: AppOptions): Express {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const metrics = opts.metrics ?? new Metrics({ defaultMetrics: false });
  const spec = loadSpec();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Paths match as the spec writes them (case counts, a trailing slash is another path), for
  // the system routes as for the endpoints.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  useRequestLog(app, logger);
  app.use(metrics.httpMiddleware());

  // The system routes (no path parameters, no token), and the console page's noVNC files.
  systemRoutes(app.router, { driver: opts.driver, metrics, spec });
  consoleAssetRoutes(app.router);

  // Every other request, in this order: who calls (401), which endpoint of the spec it is (404,
  // 405), whether the caller's role may (403), whether the service is ready (503); only then is
  // the body read (415, 413, 400) and checked, and the endpoint's route runs. The endpoint is
  // matched once: the role, the checks, the route and the metrics label all use that match.
  // The console token routes (`security: []`) are matched first and skip the token and role:
  // the one-time token in their path is their secret.
  const endpoints = new Endpoints(spec);
  const validation = new Validation(spec);
  const unlessPublic =
    (check: express.RequestHandler): express.RequestHandler =>
    (req, res, next) =>
      req.matched?.endpoint.public ? next() : check(req, res, next);
  app.use(endpoints.lookupPublic);
  app.use(unlessPublic(authenticate(opts.auth)));
  app.use(endpoints.lookup);
  app.use(unlessPublic(authorize()));
  app.use(requireReady(opts.driver));
  app.use(readJsonBody());
  app.use(validation.check);
  if (opts.validateResponses) app.use(new ResponseCheck(spec).check);

  apiRoutes(endpoints, opts.driver, opts.publicUrl ? { publicUrl: opts.publicUrl } : {});
  app.use(endpoints.dispatch);

  app.use((req, _res, next) =>
    next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`)),
  );
  app.use(problemHandler);
  return app;
}

/**
 * The HTTP server of an app. CONNECT requests and upgrades go through the app too
 * (raw-socket.ts): the console's tunnel and WebSocket are routes like the others. Its requests and responses are made with the app's own prototypes
 * (express's req and res API) from the start: express gives every request the app's prototypes,
 * and changing an object's prototype after it is made slows everything that touches the object
 * afterwards (Node's HTTP code included) by more than the whole middleware stack costs.
 */
export function createServer(app: Express): http.Server {
  // Node's own constructors are plain functions (not classes): they run on the object made here.
  if (/^class\b/.test(Function.prototype.toString.call(IncomingMessage))) {
    const server = http.createServer(app);
    routeRawRequests(server, app, ServerResponse);
    return server;
  }
  function AppRequest(this: IncomingMessage, socket: Socket): void {
    IncomingMessage.call(this, socket);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: object): void {
    (ServerResponse as unknown as (req: IncomingMessage, options?: object) => void).call(
      this,
      req,
      options,
    );
  }
  AppResponse.prototype = app.response;
  const server = http.createServer(
    {
      IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
      ServerResponse: AppResponse as unknown as typeof ServerResponse,
    },
    app,
  );
  routeRawRequests(server, app, AppResponse as unknown as typeof ServerResponse);
  return server;
}
