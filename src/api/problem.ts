// The one place where failures become application/problem+json: ApiError (and, through the
// driver's toApiError, XapiError and TransportError), request-validation errors from the OpenAPI
// validator, and body-parser errors. Routes throw; they never render errors themselves. A request
// whose client left mid-body gets no answer at all (its log line says aborted).
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, Response } from 'express';
import { toApiError } from '../driver/errors';
import type { components } from '../contract/openapi.generated';

export type Problem = components['schemas']['Problem'];
type ErrorCode = components['schemas']['ErrorCode'];
type FieldError = NonNullable<Problem['errors']>[number];

const VALIDATOR_CODES: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'invalid_request',
  415: 'unsupported_media_type',
};

/** Fills the members every HTTP problem carries (type, title, detail). */
export function completeProblem(
  p: Partial<Problem> & { status: number; code: string },
  instance?: string,
): Problem {
  const out: Problem = {
    ...p,
    type: p.type ?? `urn:xcd:error:${p.code}`,
    title: p.title ?? STATUS_CODES[p.status] ?? 'Error',
    status: p.status,
    detail: p.detail ?? STATUS_CODES[p.status] ?? p.code,
    code: p.code as ErrorCode,
  };
  if (instance && !out.instance) out.instance = instance;
  return out;
}

/** '/body/nics/0/mac' -> 'body.nics[0].mac'; '/params/x' -> 'path.x'; '/headers/x' -> 'header.x'. */
function fieldName(path: string, message: string, urlPath: string): string {
  if (path === urlPath || path.length === 0) {
    // The validator reports a bad discriminator with the URL as its path: name the property.
    const quoted = /^'([^']+)'/.exec(message);
    return quoted ? `body.${quoted[1]}` : 'body';
  }
  let parts = path.split('/').filter((s) => s.length > 0);
  // Errors inside a discriminated body come relative to the body.
  if (!['body', 'query', 'params', 'headers', 'path'].includes(parts[0]))
    parts = ['body', ...parts];
  const where = parts[0] === 'params' ? 'path' : parts[0] === 'headers' ? 'header' : parts[0];
  let out = where;
  for (const p of parts.slice(1)) out += /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
  const required = /must have required property '([^']+)'/.exec(message);
  if (required && !out.endsWith(`.${required[1]}`)) out += `.${required[1]}`;
  return out;
}

interface ValidatorError {
  status: number;
  message: string;
  errors?: Array<{ path: string; message: string; errorCode?: string }>;
}

function isValidatorError(err: unknown): err is ValidatorError {
  const e = err as { status?: unknown; errors?: unknown; code?: unknown };
  return (
    err instanceof Error &&
    typeof e.status === 'number' &&
    Array.isArray(e.errors) &&
    e.code === undefined
  );
}

/** Body members of which exactly one must be given (the spec's `oneOf: [required ...]`). */
const EXCLUSIVE_MEMBERS: Array<[string, string]> = [['template', 'image_vdi']];

/** Replaces ajv's bare "must match exactly one schema in oneOf" with the members it is about. */
function explainOneOf(errors: FieldError[], body: Record<string, unknown> | undefined): void {
  if (!body || !errors.some((e) => e.field === 'body' && /oneOf/.test(e.message))) return;
  for (const [a, b] of EXCLUSIVE_MEMBERS) {
    const given = [a, b].filter((m) => m in body);
    if (given.length === 1) continue;
    // Neither given: only this pair's oneOf if ajv reported both as missing.
    const missing = (m: string): boolean => errors.some((e) => e.field === `body.${m}`);
    if (given.length === 0 && !(missing(a) && missing(b))) continue;
    const explained: FieldError =
      given.length === 2
        ? { field: `body.${b}`, message: `give either ${a} or ${b}, not both` }
        : { field: `body.${a}`, message: `give ${a} or ${b}` };
    const rest = errors.filter((e) => !(e.field === 'body' && /oneOf/.test(e.message)));
    const keep = given.length === 2 ? rest : rest.filter((e) => e.field !== `body.${a}`);
    errors.splice(0, errors.length, explained, ...keep);
    return;
  }
}

function validationProblem(err: ValidatorError, req: Request): Problem {
  const code =
    VALIDATOR_CODES[err.status] ?? (err.status >= 500 ? 'internal_error' : 'invalid_request');
  const errors: FieldError[] = (err.errors ?? [])
    .filter((e) => e.errorCode !== 'if.openapi.validation')
    .map((e) => ({ field: fieldName(e.path, e.message, req.path), message: e.message }));
  explainOneOf(errors, req.body as Record<string, unknown> | undefined);
  const detail =
    code === 'invalid_request' && errors.length > 0
      ? errors.map((e) => `${e.field}: ${e.message}`).join('; ')
      : err.status >= 500
        ? `response does not match the contract: ${err.message}`
        : err.status === 404
          ? `no route for ${req.method} ${req.path}`
          : err.message;
  return completeProblem({
    status: err.status,
    code,
    detail,
    ...(code === 'invalid_request' ? { errors } : {}),
  });
}

/** Body-parser failures other than JSON syntax and size: each a 4xx with a stable code. */
const BODY_ERRORS: Record<string, Partial<Problem> & { status: number; code: ErrorCode }> = {
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
  const e = err as { type?: unknown; status?: unknown };
  const bodyError = e && typeof e.type === 'string' ? BODY_ERRORS[e.type] : undefined;
  let p: Problem;
  if (bodyError) {
    p = completeProblem({ ...bodyError });
  } else if (e && e.type === 'entity.parse.failed') {
    p = completeProblem({
      status: 400,
      code: 'invalid_request',
      detail: 'the body is not valid JSON',
      errors: [{ field: 'body', message: 'not valid JSON' }],
    });
  } else if (e && e.type === 'entity.too.large') {
    p = completeProblem({
      status: 413,
      code: 'invalid_request',
      detail: 'the body is too large',
      errors: [{ field: 'body', message: 'too large' }],
    });
  } else if (isValidatorError(err)) {
    p = validationProblem(err, req);
  } else {
    const a = toApiError(err);
    p = completeProblem({
      ...(a.extra ?? {}),
      status: a.status,
      code: a.code as ErrorCode,
      detail: a.detail,
      ...(a.xapi_error ? { xapi_error: a.xapi_error } : {}),
    });
  }
  if (!p.instance) p.instance = req.originalUrl;
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
