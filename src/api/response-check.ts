// The contract check of answers, for tests (createApp's validateResponses): each JSON answer of
// an endpoint is checked against the spec's response schema for its status, and one that does
// not match becomes 500 internal_error saying where. It observes what routes send (res.send, which
// res.json uses too) and changes nothing on the request's path. Must not check requests.
import type Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv/dist/2020';
import type { RequestHandler, Response } from 'express';
import { ApiError } from '../driver/errors';
import type { Endpoint } from './endpoints';
import type { OpenApiDocument } from './spec';
import { discriminatedToConditional, makeAjv, mediaTypeOf } from './validation';

type Json = unknown;

export class ResponseCheck {
  private readonly spec: OpenApiDocument;
  private readonly components: Json;
  private readonly ajv: Ajv2020 = makeAjv({ coerceTypes: false, useDefaults: false });
  /** By endpoint and status: the answer's validator (null: nothing to check). */
  private readonly answers = new Map<Endpoint, Map<string, ValidateFunction | null>>();

  constructor(spec: OpenApiDocument) {
    this.spec = discriminatedToConditional(spec) as OpenApiDocument;
    this.components = this.spec.components ?? {};
  }

  /**
   * Middleware before the routes: each JSON answer of the matched endpoint is checked against
   * the spec's response for its status; one that does not match fails the request with 500
   * internal_error saying where.
   */
  readonly check: RequestHandler = (req, res, next) => {
    const endpoint = req.matched?.endpoint;
    if (!endpoint) return next();
    const send = res.send.bind(res);
    res.send = (chunk?: unknown): Response => {
      const type = mediaTypeOf(res.getHeader('content-type') as string | undefined);
      const text =
        typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : undefined;
      if (type === 'application/json' && text !== undefined)
        this.checkAnswer(endpoint, res.statusCode, JSON.parse(text) as Json);
      return send(chunk);
    };
    next();
  };

  private checkAnswer(endpoint: Endpoint, status: number, body: Json): void {
    let byStatus = this.answers.get(endpoint);
    if (!byStatus) this.answers.set(endpoint, (byStatus = new Map()));
    const key = String(status);
    let validate = byStatus.get(key);
    if (validate === undefined) {
      validate = this.compileAnswer(endpoint, key);
      byStatus.set(key, validate);
    }
    if (validate === null || validate({ response: body })) return;
    throw new ApiError(
      500,
      'internal_error',
      `response does not match the contract: ${this.ajv.errorsText(validate.errors, { dataVar: '' })}`,
    );
  }

  /** The validator of an endpoint's JSON answer with this status (null: nothing to check). */
  private compileAnswer(endpoint: Endpoint, status: string): ValidateFunction | null {
    type Answer = { content?: Record<string, { schema?: Json }>; $ref?: string };
    const responses = (endpoint.operation.responses ?? {}) as Record<string, Answer>;
    let answer = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    const fail = (why: string): never => {
      throw new ApiError(500, 'internal_error', `response does not match the contract: ${why}`);
    };
    if (!answer) return fail(`no schema defined for status code '${status}' in the openapi spec`);
    if (answer.$ref)
      answer = (this.spec.components as { responses: Record<string, Answer> }).responses[
        answer.$ref.replace(/^.*\//, '')
      ];
    const schema = answer?.content?.['application/json']?.schema;
    if (!answer?.content) return fail('response should NOT have a body');
    if (!schema) return null;
    return this.ajv.compile({
      type: 'object',
      properties: { response: schema },
      components: this.components,
    });
  }
}
