// Request validation (and, in tests, response validation) against openapi/compute-driver.yaml
// with express-openapi-validator: types coerced, defaults applied, unknown routes 404/405.
// Authentication is not its job (src/api/auth.ts does it before); errors go to the problem handler.
import * as OpenApiValidator from 'express-openapi-validator';
import type { RequestHandler } from 'express';
import type { OpenApiDocument } from './spec';

export function validation(spec: OpenApiDocument, opts: { validateResponses?: boolean } = {}): RequestHandler[] {
  return OpenApiValidator.middleware({
    apiSpec: spec as never,
    validateRequests: { allErrors: true, coerceTypes: true },
    validateResponses: opts.validateResponses ? { allErrors: true } : false,
    validateSecurity: false,
    validateFormats: true,
    ignoreUndocumented: false,
  }) as unknown as RequestHandler[];
}
