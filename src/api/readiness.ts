// Readiness at the HTTP edge: while the driver is not ready (start-up reconcile running, instance
// index not built, XAPI lost) /readyz and every /v1 request answer 503 not_ready with
// Retry-After, so nothing reads from, or acts on, a partial view of the pool. Must not decide
// readiness itself: the driver's ready() does.
import type { RequestHandler, Response } from 'express';
import { ApiError } from '../driver/errors';

/** Seconds a client is asked to wait before it tries again. */
export const NOT_READY_RETRY_AFTER_S = 5;

export function notReady(res: Response): ApiError {
  res.setHeader('Retry-After', String(NOT_READY_RETRY_AFTER_S));
  return new ApiError(
    503,
    'not_ready',
    'the service is reconciling the pool or building its instance index; retry later',
  );
}

/** 503 not_ready for every request while `ready()` is false. */
export function requireReady(driver: { ready(): boolean }): RequestHandler {
  return (_req, res, next) => (driver.ready() ? next() : next(notReady(res)));
}
