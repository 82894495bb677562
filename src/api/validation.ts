// Request validation (and, in tests, response validation) against openapi/compute-driver.yaml
// with express-openapi-validator, in two parts: the route lookup (unknown routes 404/405, and
// req.openapi naming the spec path matched) and the checks (parameters read from their text,
// JSON bodies taken as sent, defaults applied). Authentication, roles and body parsing run
// between the two (src/app.ts); errors go to the problem handler.
import * as OpenApiValidator from 'express-openapi-validator';
import type { RequestHandler } from 'express';
import type { OpenApiDocument } from './spec';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the route lookup: the spec path (`/v1/instances/{instance_id}`) matched. */
    openapi?: { openApiRoute?: string };
  }
}

type Json = unknown;

/**
 * Rewrites each `oneOf` + `discriminator.mapping` as an if/then chain keyed on the tag. The
 * validator's own discriminator support pairs tags with the wrong branch (5.6), and a plain
 * oneOf would apply every branch's defaults; the chain validates exactly the tagged branch,
 * applies its defaults only, and names the offending member. The spec itself is unchanged.
 */
export function discriminatedToConditional(node: Json): Json {
  if (Array.isArray(node)) return node.map(discriminatedToConditional);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(node)) out[k] = discriminatedToConditional(v);
  const disc = out.discriminator as
    { propertyName?: string; mapping?: Record<string, string> } | undefined;
  if (!Array.isArray(out.oneOf) || !disc?.propertyName || !disc.mapping) return out;
  const tag = disc.propertyName;
  return {
    ...(out.description ? { description: out.description } : {}),
    type: 'object',
    required: [tag],
    properties: { [tag]: { type: 'string', enum: Object.keys(disc.mapping) } },
    allOf: Object.entries(disc.mapping).map(([value, ref]) => ({
      if: { properties: { [tag]: { const: value } }, required: [tag] },
      then: { $ref: ref },
    })),
  };
}

type PathOptions = { sensitive?: boolean; strict?: boolean; trailing?: boolean };
type PathToRegexp = (path: string, opts?: PathOptions) => unknown;

/**
 * The validator compiles every spec path with path-to-regexp on every request (5.6,
 * lookupRoute); memoizing that pure function on the module it uses keeps a request's cost
 * independent of the number of paths. It also passes express's `strict routing` as `strict`,
 * which path-to-regexp 8 ignores (it reads `trailing`): translated here, so the lookup refuses
 * a trailing slash exactly when express's router does. Idempotent.
 */
function patchValidatorPathToRegexp(): void {
  const where = require.resolve('path-to-regexp', {
    paths: [require.resolve('express-openapi-validator')],
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(where) as { pathToRegexp: PathToRegexp & { patched?: true } };
  if (mod.pathToRegexp.patched) return;
  const original = mod.pathToRegexp;
  // One cache per (sensitive, strict): no key string is built per call.
  const caches = [0, 1, 2, 3].map(() => new Map<string, unknown>());
  const memo = ((path: string, opts: PathOptions = {}) => {
    const cache = caches[(opts.sensitive ? 2 : 0) + (opts.strict ? 1 : 0)];
    let hit = cache.get(path);
    if (hit === undefined) {
      hit = original(path, { sensitive: opts.sensitive, trailing: !opts.strict });
      cache.set(path, hit);
    }
    return hit;
  }) as PathToRegexp & { patched?: true };
  memo.patched = true;
  mod.pathToRegexp = memo;
}

export interface Validation {
  /** The route lookup: 404 for a path the spec does not have, 405 for a method; sets req.openapi. */
  lookup: RequestHandler[];
  /** Parameters, headers and the (parsed) body checked against the matched operation. */
  check: RequestHandler[];
}

/** Where the validator's middleware list splits: after this one, the lookup is done. */
const LOOKUP_LAST = 'metadataMiddleware';

export function validation(
  spec: OpenApiDocument,
  opts: { validateResponses?: boolean } = {},
): Validation {
  patchValidatorPathToRegexp();
  const all = OpenApiValidator.middleware({
    apiSpec: discriminatedToConditional(spec) as never,
    // Parameters are always read from their text; bodies are JSON and taken as sent.
    validateRequests: { allErrors: true, coerceTypes: false },
    validateResponses: opts.validateResponses ? { allErrors: true } : false,
    validateSecurity: false,
    validateFormats: true,
    ignoreUndocumented: false,
  }) as unknown as RequestHandler[];
  const split = all.findIndex((mw) => mw.name === LOOKUP_LAST) + 1;
  if (split === 0) throw new Error(`express-openapi-validator: no ${LOOKUP_LAST} in its chain`);
  return { lookup: all.slice(0, split), check: all.slice(split) };
}
