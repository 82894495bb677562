// The one place where failures become application/problem+json answers: ApiError (and, through
// the driver's toApiError, XapiError and TransportError; request validation throws ApiErrors
// too) and body-parser errors, each as the driver's problemBody with the request as its
// `instance`. Routes throw; they never render errors themselves. A request whose client left
// mid-body gets no answer at all (its log line says aborted).
import type { ErrorRequestHandler, Request, Response } from 'express';
import { problemBody, toApiError, type ProblemFields } from '../driver/errors';
import type { components } from '../contract/openapi.generated';

export type Problem = components['schemas']['Problem'];
type ErrorCode = components['schemas']['ErrorCode'];

/** Body-parser failures other than JSON syntax and size: each a 4xx with a stable code. */
const BODY_ERRORS: Record<string, ProblemFields & { code: ErrorCode }> = {
  'charset.unsupported': {
    status: 415,
    code: 'unsupported_charset',
    detail: 'the body must be UTF-8 (charset=utf-8)',
  },
  'encoding.unsupported': {
    status: 415,
    code: 'unsupported_content_encoding',
    detail: "the body's Content-Encoding must be gzip, deflate, br or identity",
  },
  'request.size.invalid': {
    status: 400,
    code: 'invalid_request',
    detail: 'the body is shorter or longer than its Content-Length',
    errors: [{ field: 'body', message: 'does not match Content-Length' }],
  },
};

/** The client left before its body arrived: there is nobody to answer. */
export function isAbortedRequest(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'request.aborted';
}

/** Any thrown value -> a complete Problem. */
export function toProblem(err: unknown, req: Request): Problem {
  const e = err as { type?: unknown } | null;
  const type = e && typeof e.type === 'string' ? e.type : undefined;
  const bodyError = type !== undefined ? BODY_ERRORS[type] : undefined;
  let p: Problem;
  if (bodyError) p = problemBody(bodyError);
  else if (type === 'entity.parse.failed')
    p = problemBody({
      status: 400,
      code: 'invalid_request',
      detail: 'the body is not valid JSON',
      errors: [{ field: 'body', message: 'not valid JSON' }],
    });
  else if (type === 'entity.too.large')
    p = problemBody({
      status: 413,
      code: 'invalid_request',
      detail: 'the body is too large',
      errors: [{ field: 'body', message: 'too large' }],
    });
  else p = toApiError(err).toJSON();
  p.instance = req.originalUrl;
  return p;
}

export function sendProblem(res: Response, problem: Problem): void {
  if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="xcd"');
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/** The error middleware: last in the chain. */
export const problemHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) return next(err);
  if (isAbortedRequest(err)) {
    res.destroy();
    return;
  }
  const problem = toProblem(err, req);
  if (problem.status >= 500) req.log?.error({ err, problem }, 'request failed');
  sendProblem(res, problem);
};
