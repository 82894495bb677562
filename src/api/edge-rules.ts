// Input rules the OpenAPI file cannot state, kept in this one place: how deep a JSON body may
// nest (checked without recursion, before anything walks the body recursively), that the MACs
// of one request differ, and that numbers read from the query are finite (the validator turns
// `Infinity` and `1e400` into a number that passes `maximum`). Each refusal is 400
// invalid_request naming the field. Rules a schema can express belong in the spec, not here.
import type { RequestHandler } from 'express';
import { ApiError } from '../driver/errors';

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

/** After the JSON parser: 400 for a body nested deeper than MAX_BODY_DEPTH. */
export function boundBodyDepth(): RequestHandler {
  return (req, _res, next) => {
    const field = tooDeep(req.body as unknown);
    if (field) return next(invalid(field, `nested deeper than ${MAX_BODY_DEPTH} levels`));
    next();
  };
}

/** After validation: 400 when two NICs of one request give the same MAC (in any case). */
export function distinctMacs(): RequestHandler {
  return (req, _res, next) => {
    const nics = (req.body as { nics?: unknown } | undefined)?.nics;
    if (!Array.isArray(nics)) return next();
    const seen = new Map<string, number>();
    for (const [i, nic] of nics.entries()) {
      const mac = (nic as { mac?: unknown } | null)?.mac;
      if (typeof mac !== 'string') continue;
      const key = mac.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined)
        return next(invalid(`body.nics[${i}].mac`, `the same MAC as nics[${first}]`));
      seen.set(key, i);
    }
    next();
  };
}

/** After validation: 400 for a query parameter read as a number that is not finite. */
export function finiteQueryNumbers(): RequestHandler {
  return (req, _res, next) => {
    for (const [name, value] of Object.entries(req.query as Record<string, unknown>))
      if (typeof value === 'number' && !Number.isFinite(value))
        return next(invalid(`query.${name}`, 'must be a finite integer'));
    next();
  };
}
