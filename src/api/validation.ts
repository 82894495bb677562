// Request validation (and, in tests, response validation) against openapi/compute-driver.yaml
// with express-openapi-validator: types coerced, defaults applied, unknown routes 404/405.
// Authentication is not its job (src/api/auth.ts does it before); errors go to the problem handler.
import * as OpenApiValidator from 'express-openapi-validator';
import type { RequestHandler } from 'express';
import type { OpenApiDocument } from './spec';

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

type PathToRegexp = (path: string, opts?: { sensitive?: boolean; strict?: boolean }) => unknown;

/**
 * The validator compiles every spec path with path-to-regexp on every request (5.6,
 * lookupRoute); memoizing that pure function on the module it uses keeps a request's cost
 * independent of the number of paths. Idempotent.
 */
function memoizeValidatorPathToRegexp(): void {
  const where = require.resolve('path-to-regexp', {
    paths: [require.resolve('express-openapi-validator')],
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(where) as { pathToRegexp: PathToRegexp & { memoized?: true } };
  if (mod.pathToRegexp.memoized) return;
  const original = mod.pathToRegexp;
  // One cache per (sensitive, strict): no key string is built per call.
  const caches = [0, 1, 2, 3].map(() => new Map<string, unknown>());
  const memo = ((path: string, opts: { sensitive?: boolean; strict?: boolean } = {}) => {
    const cache = caches[(opts.sensitive ? 2 : 0) + (opts.strict ? 1 : 0)];
    let hit = cache.get(path);
    if (hit === undefined) {
      hit = original(path, opts);
      cache.set(path, hit);
    }
    return hit;
  }) as PathToRegexp & { memoized?: true };
  memo.memoized = true;
  mod.pathToRegexp = memo;
}

export function validation(
  spec: OpenApiDocument,
  opts: { validateResponses?: boolean } = {},
): RequestHandler[] {
  memoizeValidatorPathToRegexp();
  return OpenApiValidator.middleware({
    apiSpec: discriminatedToConditional(spec) as never,
    validateRequests: { allErrors: true, coerceTypes: true },
    validateResponses: opts.validateResponses ? { allErrors: true } : false,
    validateSecurity: false,
    validateFormats: true,
    ignoreUndocumented: false,
  }) as unknown as RequestHandler[];
}
