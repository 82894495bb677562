// Request validation against openapi/compute-driver.yaml with ajv: each endpoint's validators
// are compiled once, on its first request, from the spec (parameters read from their text and
// coerced, JSON bodies taken as sent, defaults applied; an unknown, empty or unencoded query
// parameter refused), and each refusal names its fields (400 invalid_request `errors[]`, 415 for
// a body type the endpoint does not take). Must not match routes (endpoints.ts), check answers
// (response-check.ts) or render problems.
import Ajv2020, { type ErrorObject, type Options, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { RequestHandler } from 'express';
import { ApiError } from '../driver/errors';
import { breaksEdgeRules } from './edge-rules';
import type { Endpoint } from './endpoints';
import type { OpenApiDocument } from './spec';

type Json = unknown;

/**
 * Rewrites each `oneOf` + `discriminator.mapping` as an if/then chain keyed on the tag: a plain
 * oneOf would apply every branch's defaults and report every branch's errors; the chain
 * validates exactly the tagged branch, applies its defaults only, and names the offending
 * member. The spec itself is unchanged.
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

/** Formats OpenAPI adds to JSON Schema's (ajv-formats holds the rest). */
const OPENAPI_FORMATS = {
  int32: { type: 'number', validate: (i: number) => Number.isInteger(i) && Math.abs(i) < 2 ** 31 },
  int64: { type: 'number', validate: (i: number) => Number.isInteger(i) },
  float: { type: 'number', validate: (i: number) => typeof i === 'number' },
  double: { type: 'number', validate: (i: number) => typeof i === 'number' },
  byte: (b: string) => b.length % 4 === 0 && /^[A-Za-z0-9+/]*(=|==)?$/.test(b),
  binary: true,
  password: true,
  'media-range': true,
} as const;

/** An ajv for the spec's schemas (JSON Schema 2020-12, OpenAPI's formats, every error). */
export function makeAjv(opts: Options): Ajv2020 {
  const ajv = new Ajv2020({
    strict: false,
    strictNumbers: true,
    strictTuples: true,
    allowUnionTypes: false,
    validateSchema: false,
    allErrors: true,
    ...opts,
  });
  addFormats(ajv, { mode: 'fast' });
  for (const [name, format] of Object.entries(OPENAPI_FORMATS)) ajv.addFormat(name, format);
  return ajv;
}

/** Characters a query value must percent-encode (RFC 3986 reserved). */
const RESERVED = /[:/?#[\]@!$&'()*+,;=]/;

interface Parameter {
  name: string;
  in: 'query' | 'header' | 'path' | 'cookie';
  required?: boolean;
  allowEmptyValue?: boolean;
  allowReserved?: boolean;
  explode?: boolean;
  schema?: Json;
}

interface RequestBody {
  required?: boolean;
  content?: Record<string, { schema?: { type?: string; format?: string; $ref?: string } }>;
}

/** Where parameters are, in the order their failures are listed. */
const ORDER = ['query', 'header', 'path', 'cookie'];

/** What an endpoint checks, compiled on its first request. */
interface Checks {
  /** Query parameters by name (an absent name is unknown). */
  query: Map<string, Parameter>;
  /** Has query parameters: coercion and defaults write into req.query. */
  hasQuery: boolean;
  /** Query parameters whose value must not hold reserved characters. */
  encoded: string[];
  /** Query, header and path parameters (coerced from their text, defaults applied). */
  params?: ValidateFunction;
  /** Body validators by media type (null: the body is not validated, e.g. binary). */
  bodies?: Map<string, ValidateFunction | null>;
  /** The request body may be left out (no Content-Type then). */
  bodyOptional: boolean;
}

/** One field's failure: `path` in the request (`/body/nics/0/mac`, `/query/limit`). */
interface Failure {
  path: string;
  message: string;
  keyword?: string;
}

/** '/body/nics/0/mac' -> 'body.nics[0].mac'; '/params/x' -> 'path.x'; '/headers/x' -> 'header.x'. */
function fieldName(path: string, message: string): string {
  const parts = path.split('/').filter((s) => s.length > 0);
  if (parts.length === 0) return 'body';
  const where = parts[0] === 'params' ? 'path' : parts[0] === 'headers' ? 'header' : parts[0];
  let out = where;
  for (const p of parts.slice(1)) out += /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
  const required = /must have required property '([^']+)'/.exec(message);
  if (required && out !== required[1] && !out.endsWith(`.${required[1]}`)) out += `.${required[1]}`;
  return out;
}

type FieldError = { field: string; message: string };

/** Body members of which exactly one must be given (the spec's `oneOf: [required ...]`). */
const EXCLUSIVE_MEMBERS: Array<[string, string]> = [['template', 'image_vdi']];

/** Replaces ajv's bare "must match exactly one schema in oneOf" with the members it is about. */
function explainOneOf(errors: FieldError[], body: unknown): void {
  if (!body || typeof body !== 'object') return;
  if (!errors.some((e) => e.field === 'body' && /oneOf/.test(e.message))) return;
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

/** 400 invalid_request naming each failed field. */
function invalid(failures: Failure[], body: unknown): ApiError {
  const errors: FieldError[] = failures
    .filter((f) => f.keyword !== 'if')
    .map((f) => ({ field: fieldName(f.path, f.message), message: f.message }));
  explainOneOf(errors, body);
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ') || 'invalid request';
  return new ApiError(400, 'invalid_request', detail, { extra: { errors } });
}

/** ajv's errors as failures: a missing or extra member is named by its own path. */
function failuresOf(errors: ErrorObject[] | null | undefined): Failure[] {
  return (errors ?? []).map((e) => {
    const p = e.params as {
      missingProperty?: string;
      additionalProperty?: string;
      unevaluatedProperty?: string;
      allowedValues?: unknown[];
    };
    const member = p.missingProperty ?? p.additionalProperty ?? p.unevaluatedProperty;
    const message =
      e.keyword === 'enum' && p.allowedValues
        ? `${e.message}: ${p.allowedValues.join(', ')}`
        : (e.message ?? 'is invalid');
    return {
      path: member !== undefined ? `${e.instancePath}/${member}` : e.instancePath,
      message,
      keyword: e.keyword,
    };
  });
}

/** The media type of a Content-Type value, lower case, without parameters. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** The body validator for a media type: exact, then `type/*`, then `* /*` in the spec. */
function bodyFor(
  bodies: Map<string, ValidateFunction | null>,
  mediaType: string,
): ValidateFunction | null | undefined {
  if (bodies.has(mediaType)) return bodies.get(mediaType);
  const wildcard = `${mediaType.slice(0, mediaType.indexOf('/'))}/*`;
  if (bodies.has(wildcard)) return bodies.get(wildcard);
  return bodies.get('*/*');
}

export class Validation {
  private readonly spec: OpenApiDocument;
  private readonly components: Json;
  /** Parameters are read from their text: coerced. */
  private readonly paramsAjv = makeAjv({ coerceTypes: true, useDefaults: true });
  /** Bodies are JSON: taken as sent. */
  private readonly bodyAjv = makeAjv({ coerceTypes: false, useDefaults: true });
  private readonly checks = new Map<Endpoint, Checks>();

  constructor(spec: OpenApiDocument) {
    this.spec = discriminatedToConditional(spec) as OpenApiDocument;
    this.components = this.spec.components ?? {};
  }

  /** Middleware after the body is read: 415, or 400 naming the fields (the spec's checks, then
   * the rules it cannot state: edge-rules.ts), or on. */
  readonly check: RequestHandler = (req, _res, next) => {
    const endpoint = req.matched?.endpoint;
    if (!endpoint) return next();
    const c = this.checks.get(endpoint) ?? this.compile(endpoint);

    // The body's media type first: a body the endpoint cannot take is refused whatever it holds.
    let body: ValidateFunction | null | undefined = null;
    if (c.bodies) {
      const type = mediaTypeOf(req.headers['content-type']);
      body = type === undefined ? undefined : bodyFor(c.bodies, type);
      if (body === undefined) {
        if (type !== undefined || !c.bodyOptional)
          return next(
            new ApiError(
              415,
              'unsupported_media_type',
              type === undefined ? 'media type not specified' : `unsupported media type ${type}`,
            ),
          );
        body = null;
      }
    }

    const url = req.url;
    const q = url.indexOf('?');
    let query: Record<string, unknown> = {};
    if (q >= 0) {
      query = req.query as Record<string, unknown>;
      const refused = this.checkQuery(c, query, url.slice(q + 1));
      if (refused) return next(invalid([refused], req.body));
    }
    if (!c.params && !body) return next(breaksEdgeRules(query, req.body));
    // Coercion and defaults write into the query: it stays as validated (express would parse
    // it again on each read).
    if (c.hasQuery)
      Object.defineProperty(req, 'query', {
        value: query,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    const data = { query, headers: req.headers, params: req.matched!.params, body: req.body };
    const paramsOk = c.params ? c.params(data) : true;
    const bodyOk = body ? body(data) : true;
    if (paramsOk && bodyOk) return next(breaksEdgeRules(query, req.body));
    next(
      invalid(
        [
          ...failuresOf(paramsOk ? undefined : c.params!.errors),
          ...failuresOf(bodyOk ? undefined : body!.errors),
        ],
        req.body,
      ),
    );
  };

  /** Brackets (`a[b]=`) make an object; then unencoded, unknown and empty values are refused. */
  private checkQuery(c: Checks, query: Record<string, unknown>, raw: string): Failure | undefined {
    for (const key of Object.keys(query)) {
      const open = key.indexOf('[');
      if (open < 0) continue;
      const name = key.slice(0, open);
      const inner = key.slice(open + 1, key.endsWith(']') ? -1 : undefined);
      const value = query[key];
      delete query[key];
      const prior = query[name];
      if (inner === '') query[name] = [value];
      else if (prior && typeof prior === 'object' && !Array.isArray(prior))
        (prior as Record<string, unknown>)[inner] = value;
      else query[name] = { [inner]: value };
    }
    if (c.encoded.length > 0) {
      const pairs = raw.split('&').map((pair) => pair.split('='));
      for (const name of c.encoded)
        if (pairs.some(([k, v]) => k === name && v !== undefined && RESERVED.test(v)))
          return {
            path: `/query/${name}`,
            message: `Parameter '${name}' must be url encoded. Its value may not contain reserved characters.`,
          };
    }
    for (const name of Object.keys(query)) {
      const p = c.query.get(name);
      if (!p) return { path: `/query/${name}`, message: `Unknown query parameter '${name}'` };
      if (query[name] === '' && !p.allowEmptyValue)
        return {
          path: `/query/${name}`,
          message: `Empty value found for query parameter '${name}'`,
        };
    }
    return undefined;
  }

  private compile(endpoint: Endpoint): Checks {
    const params = endpoint.parameters as Parameter[];
    const query = new Map(params.filter((p) => p.in === 'query').map((p) => [p.name, p]));
    const where = { query: 'query', header: 'headers', path: 'params' } as const;
    const properties: Record<
      string,
      { type: 'object'; properties: Record<string, Json>; required?: string[] }
    > = {};
    // Query, then headers, then path: the order failures are listed in.
    for (const p of [...params].sort((a, b) => ORDER.indexOf(a.in) - ORDER.indexOf(b.in))) {
      if (p.in === 'cookie') continue;
      const at = (properties[where[p.in]] ??= { type: 'object', properties: {} });
      const name = p.in === 'header' ? p.name.toLowerCase() : p.name;
      at.properties[name] = p.schema ?? {};
      if (p.required) (at.required ??= []).push(name);
    }
    const checks: Checks = {
      query,
      hasQuery: query.size > 0,
      encoded: [...query.values()]
        .filter((p) => p.explode !== false && !p.allowReserved)
        .map((p) => p.name),
      bodyOptional: true,
    };
    if (Object.keys(properties).length > 0)
      checks.params = this.paramsAjv.compile({
        type: 'object',
        properties,
        components: this.components,
      });
    const requestBody = this.requestBodyOf(endpoint);
    if (requestBody?.content) {
      checks.bodyOptional = requestBody.required !== true;
      checks.bodies = new Map();
      for (const [type, media] of Object.entries(requestBody.content)) {
        const schema = media.schema ?? {};
        checks.bodies.set(
          type.toLowerCase(),
          schema.format === 'binary'
            ? null
            : this.bodyAjv.compile({
                type: 'object',
                properties: { body: schema },
                ...(requestBody.required ? { required: ['body'] } : {}),
                components: this.components,
              }),
        );
      }
    }
    this.checks.set(endpoint, checks);
    return checks;
  }

  private requestBodyOf(endpoint: Endpoint): RequestBody | undefined {
    const body = endpoint.operation.requestBody as RequestBody | { $ref: string } | undefined;
    if (!body || !('$ref' in body)) return body;
    const bodies = (this.spec.components as { requestBodies?: Record<string, RequestBody> })
      ?.requestBodies;
    return bodies?.[body.$ref.replace(/^.*\//, '')];
  }
}
