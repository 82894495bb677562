// Request logging: one line per finished request ('request completed', or 'request errored' for
// 5xx), at a level chosen from the method and status, plus the request id (X-Request-Id). Builds
// nothing for a line its level suppresses: req.log's child logger is made on first use only.
// Must not log bodies or headers of requests; errors themselves are logged by the problem handler.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
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

const serializers = {
  req: (req: IncomingMessage & { originalUrl?: string }) => ({
    method: req.method,
    url: req.originalUrl ?? req.url,
  }),
  res: pino.stdSerializers.res,
  err: pino.stdSerializers.err,
};

export function requestLog(logger: pino.Logger): RequestHandler {
  const base = logger.child({}, { serializers });
  return (req, res, next) => {
    // A caller's X-Request-Id (if sane) or a fresh one; echoed so logs and clients correlate.
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    let child: pino.Logger | undefined;
    const log = (): pino.Logger => (child ??= base.child({ req }));
    Object.defineProperty(req, 'log', {
      configurable: true,
      enumerable: true,
      get: log,
      set: (value: pino.Logger) => (child = value),
    });
    if (QUIET_PATHS.has(req.url)) return next();
    const t0 = Date.now();
    const done = (err?: Error): void => {
      res.off('finish', done);
      res.off('close', done);
      res.off('error', done);
      const level = requestLogLevel(req.method, res.statusCode, !!err);
      if (!base.isLevelEnabled(level)) return;
      const responseTime = Date.now() - t0;
      const sres = res as ServerResponse;
      if (err || res.statusCode >= 500) {
        const error = err ?? new Error(`failed with status code ${res.statusCode}`);
        log()[level]({ res: sres, err: error, responseTime }, 'request errored');
      } else {
        log()[level]({ res: sres, responseTime }, 'request completed');
      }
    };
    res.on('finish', done);
    res.on('close', done);
    res.on('error', done);
    next();
  };
}
