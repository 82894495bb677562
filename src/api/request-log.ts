// Request logging: one line per finished request ('request completed', 'request errored' for
// 5xx, 'request aborted' with status 499 when the client left before any answer), at a level
// chosen from the method and status, plus the request id (X-Request-Id). Builds nothing for a
// line its level suppresses: req.log's child logger is made on first use only. Must not log
// bodies or headers of requests; errors themselves are logged by the problem handler.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, Request } from 'express';
import pino from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    id?: string;
    log: pino.Logger;
  }
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Mutations and failures at info and above; successful reads (many: orchestrators poll) at debug. */
export function requestLogLevel(
  method: string | undefined,
  status: number,
  failed: boolean,
): Level {
  if (failed || status >= 500) return 'error';
  if (status >= 400) return 'warn';
  return method === 'GET' || method === 'HEAD' ? 'debug' : 'info';
}

/** Paths polled by probes and scrapers: never logged. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;

/** The status logged for a request whose client left before it was answered (nginx's). */
export const CLIENT_CLOSED_REQUEST = 499;

const serializers = {
  req: (req: IncomingMessage & { originalUrl?: string; id?: string }) => ({
    id: req.id,
    method: req.method,
    // a console token is a secret until it is spent: never in a log line
    url: (req.originalUrl ?? req.url ?? '').replace(/^(\/v1\/consoles\/)[^/?]+/, '$1<token>'),
  }),
  // pino's shows no status for an answer never sent; an aborted request's is CLIENT_CLOSED_REQUEST.
  res: (res: ServerResponse) => {
    const out = pino.stdSerializers.res(res);
    if (!res.headersSent && res.statusCode === CLIENT_CLOSED_REQUEST)
      out.statusCode = res.statusCode;
    return out;
  },
  err: pino.stdSerializers.err,
};

/** Per-request state, on the request object (plain properties: no closures per request). */
const BASE = Symbol('xcd.log.base');
const CHILD = Symbol('xcd.log.child');
const START = Symbol('xcd.log.start');
const DONE = Symbol('xcd.log.done');
type LoggedRequest = Request & {
  [BASE]: pino.Logger;
  [CHILD]?: pino.Logger;
  [START]: number;
  [DONE]?: true;
};

/** The request's logger: a child of the app's bound to {req}, made when first asked for. */
function requestLogger(req: LoggedRequest): pino.Logger {
  return (req[CHILD] ??= req[BASE].child({ req }));
}

/** The answer is closed (sent, or its client left) or failed: its one line. */
function onDone(this: ServerResponse & { req: LoggedRequest }, err?: Error): void {
  const req = this.req;
  if (req[DONE]) return;
  req[DONE] = true;
  // Closed with nothing sent: the client left (mid-body, or while waiting). Not a failure here.
  if (!this.headersSent && !this.writableFinished) {
    if (!req[BASE].isLevelEnabled('info')) return;
    this.statusCode = CLIENT_CLOSED_REQUEST;
    const responseTime = Date.now() - req[START];
    requestLogger(req).info({ res: this, responseTime, aborted: true }, 'request aborted');
    return;
  }
  const level = requestLogLevel(req.method, this.statusCode, !!err);
  if (!req[BASE].isLevelEnabled(level)) return;
  const responseTime = Date.now() - req[START];
  if (err || this.statusCode >= 500) {
    const error = err ?? new Error(`failed with status code ${this.statusCode}`);
    requestLogger(req)[level]({ res: this, err: error, responseTime }, 'request errored');
  } else {
    requestLogger(req)[level]({ res: this, responseTime }, 'request completed');
  }
}

/** The logger request lines go through (its serializers), for useRequestLog and startRequestLog. */
export function requestLogBase(logger: pino.Logger): pino.Logger {
  return logger.child({}, { serializers });
}

/** Starts the request's log: X-Request-Id, and its line when the answer is finished. */
export function startRequestLog(
  req: IncomingMessage,
  res: ServerResponse,
  base: pino.Logger,
): void {
  // A caller's X-Request-Id (if sane) or a fresh one; echoed so logs and clients correlate.
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  const logged = req as LoggedRequest;
  logged.id = id;
  logged[BASE] = base;
  logged[START] = Date.now();
  if (!QUIET_PATHS.has(req.url ?? '')) {
    // 'close' follows 'finish' on every answer, and ends one never sent.
    res.on('close', onDone);
    res.on('error', onDone);
  }
}

/** Installs request logging on `app`: first middleware, and `req.log` on the app's requests. */
export function useRequestLog(app: Express, logger: pino.Logger): void {
  const base = requestLogBase(logger);
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: LoggedRequest) {
      return requestLogger(this);
    },
    set(this: LoggedRequest, value: pino.Logger) {
      this[CHILD] = value;
    },
  });
  app.use((req, res, next) => {
    startRequestLog(req, res, base);
    next();
  });
}
