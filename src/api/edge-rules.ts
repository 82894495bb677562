// Input rules the OpenAPI file cannot state, kept in this one place: how large and how deep a
// JSON body may be (depth checked without recursion, as the body is read, before anything
// walks it recursively), that the MACs of one request differ, and that numbers read from the
// query are finite (coercion turns `Infinity` and `1e400` into a number that passes `maximum`).
// Each refusal is 400 invalid_request naming the field. Rules a schema can express belong in
// the spec, not here.
import express, { type RequestHandler } from 'express';
import { ApiError } from '../driver/errors';

/** The largest body read. */
export const MAX_BODY_BYTES = '1mb';

/** Levels of objects and arrays a body may nest (the body itself is level 1). */
export const MAX_BODY_DEPTH = 32;

function invalid(field: string, message: string): ApiError {
  return new ApiError(400, 'invalid_request', `${field}: ${message}`, {
    extra: { errors: [{ field, message }] },
  });
}

/** The field (`body.metadata`, `body[2]`) under which `value` nests deeper than `max`, if any. */
export function tooDeep(value: unknown, max = MAX_BODY_DEPTH): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const top = Array.isArray(value)
    ? value.map((v, i): [unknown, string] => [v, `body[${i}]`])
    : Object.entries(value).map(([k, v]): [unknown, string] => [v, `body.${k}`]);
  for (const [child, field] of top) {
    const stack: Array<[unknown, number]> = [[child, 2]];
    while (stack.length > 0) {
      const [v, depth] = stack.pop()!;
      if (v === null || typeof v !== 'object') continue;
      if (depth > max) return field;
      for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, depth + 1]);
    }
  }
  return undefined;
}

/**
 * Reads a JSON body (`application/json`, `application/*+json`; not on GET or HEAD) of at most
 * MAX_BODY_BYTES, refusing one nested deeper than MAX_BODY_DEPTH. Other bodies stay unread.
 */
export function readJsonBody(): RequestHandler {
  const json = express.json({
    limit: MAX_BODY_BYTES,
    type: ['application/json', 'application/*+json'],
  });
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    json(req, res, (err?: unknown) => {
      if (err) return next(err);
      const field = tooDeep(req.body as unknown);
      if (field) return next(invalid(field, `nested deeper than ${MAX_BODY_DEPTH} levels`));
      next();
    });
  };
}

/** Two NICs of one request that give the same MAC (in any case), if any. */
function sameMac(body: unknown): ApiError | undefined {
  const nics = (body as { nics?: unknown } | undefined)?.nics;
  if (!Array.isArray(nics)) return undefined;
  const seen = new Map<string, number>();
  for (const [i, nic] of nics.entries()) {
    const mac = (nic as { mac?: unknown } | null)?.mac;
    if (typeof mac !== 'string') continue;
    const key = mac.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined)
      return invalid(`body.nics[${i}].mac`, `the same MAC as nics[${first}]`);
    seen.set(key, i);
  }
  return undefined;
}

/** A query parameter read as a number that is not finite, if any. */
function infiniteQueryNumber(query: Record<string, unknown>): ApiError | undefined {
  for (const name in query) {
    const value = query[name];
    if (typeof value === 'number' && !Number.isFinite(value))
      return invalid(`query.${name}`, 'must be a finite integer');
  }
  return undefined;
}

/** After the spec's checks: the first of these rules a request's query or body breaks, if any. */
export function breaksEdgeRules(
  query: Record<string, unknown>,
  body: unknown,
): ApiError | undefined {
  return infiniteQueryNumber(query) ?? sameMac(body);
}
