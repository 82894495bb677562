// The endpoints of openapi/compute-driver.yaml (one per method and path), compiled once per app:
// matching a request to one, once (404 for a path the spec does not have, 405 for a method; case
// and a trailing slash count, as the spec writes paths), its decoded path parameters, the role it
// needs (x-required-role, else viewer for reads and operator for the rest; none for the token
// routes the spec gives `security: []`), and the handler its route registers. CONNECT, which
// OpenAPI cannot name, is the path item's `x-connect` operation. Must not check parameters or
// bodies (validation.ts does) nor render errors.
import type { Request, RequestHandler, Response } from 'express';
import { ApiError } from '../driver/errors';
import { ROLES, type Role } from './auth';
import type { OpenApiDocument } from './spec';

/** What a route does with a request that reached it; a rejection goes to the problem handler. */
export type Handler = (req: Request<Record<string, string>>, res: Response) => unknown;

/** One method of one spec path. */
export interface Endpoint {
  /** Upper case: `GET`. */
  readonly method: string;
  /** As the spec writes it: `/v1/instances/{instance_id}`. */
  readonly path: string;
  /** The route template, express style (`/v1/instances/:instance_id`): the metrics label. */
  readonly route: string;
  readonly role: Role;
  /** The operation takes no bearer token (`security: []`): the secret is in its path. */
  readonly public: boolean;
  /** The spec's operation object. */
  readonly operation: Readonly<Record<string, unknown>>;
  /** The operation's parameters, then those of its path item it does not redeclare. */
  readonly parameters: readonly unknown[];
  handler?: Handler;
}

/** A request matched to an endpoint. */
export interface Matched {
  readonly endpoint: Endpoint;
  /** Path parameters, percent-decoded (validation may coerce them in place). */
  readonly params: Record<string, string>;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by Endpoints.lookup: the endpoint the request is for, and its path parameters. */
    matched?: Matched;
  }
}

/** The routes' view of the table: one registration per spec endpoint, by route template. */
export interface ApiRouter {
  get(route: string, handler: Handler): void;
  put(route: string, handler: Handler): void;
  post(route: string, handler: Handler): void;
  patch(route: string, handler: Handler): void;
  delete(route: string, handler: Handler): void;
  connect(route: string, handler: Handler): void;
}

/** The operations of a path item, by the key the spec writes them under. */
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'x-connect'];

interface PathEntry {
  path: string;
  /** Per segment after the leading '/': its literal text, or null for a parameter. */
  segments: Array<string | null>;
  names: string[];
  literals: number;
  methods: Map<string, Endpoint>;
  /** The Allow header of a 405. */
  allow: string;
}

function isRef(v: unknown): v is { $ref: string } {
  return typeof (v as { $ref?: unknown } | null)?.$ref === 'string';
}

/** A parameter object, its `$ref` (to components/parameters) followed. */
function parameterOf(spec: OpenApiDocument, p: unknown): { name: string; in: string } {
  if (!isRef(p)) return p as { name: string; in: string };
  const components = spec.components as { parameters?: Record<string, unknown> } | undefined;
  const found = components?.parameters?.[p.$ref.replace(/^.*\//, '')];
  if (!found) throw new Error(`spec: no parameter ${p.$ref}`);
  return found as { name: string; in: string };
}

export class Endpoints implements ApiRouter {
  /** Spec paths by their segment count, the most literal segments first. */
  private readonly bySegments = new Map<number, PathEntry[]>();
  private readonly byRoute = new Map<string, Endpoint>();

  constructor(spec: OpenApiDocument) {
    for (const [path, item] of Object.entries(spec.paths)) {
      const segments = path
        .split('/')
        .slice(1)
        .map((s) => (/^\{[^}]+\}$/.test(s) ? null : s));
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const route = path.replace(/\{([^}]+)\}/g, ':$1');
      const entry: PathEntry = {
        path,
        segments,
        names,
        literals: segments.filter((s) => s !== null).length,
        methods: new Map(),
        allow: '',
      };
      const shared = (item.parameters as unknown[] | undefined) ?? [];
      for (const m of METHODS) {
        const operation = item[m] as Record<string, unknown> | undefined;
        if (!operation) continue;
        const method = m === 'x-connect' ? 'CONNECT' : m.toUpperCase();
        const declared = operation['x-required-role'];
        if (declared !== undefined && !ROLES.includes(declared as Role))
          throw new Error(`spec: ${method} ${path}: x-required-role must be one of ${ROLES}`);
        const own = ((operation.parameters as unknown[] | undefined) ?? []).map((p) =>
          parameterOf(spec, p),
        );
        const parameters: unknown[] = [...own];
        for (const p of shared.map((x) => parameterOf(spec, x)))
          if (!own.some((o) => o.name === p.name && o.in === p.in)) parameters.push(p);
        const read = method === 'GET' || method === 'HEAD';
        const endpoint: Endpoint = {
          method,
          path,
          route,
          role: (declared as Role | undefined) ?? (read ? 'viewer' : 'operator'),
          public: Array.isArray(operation.security) && operation.security.length === 0,
          operation,
          parameters,
        };
        entry.methods.set(method, endpoint);
        this.byRoute.set(`${method} ${route}`, endpoint);
      }
      entry.allow = [...entry.methods.keys()].join(', ');
      const list = this.bySegments.get(segments.length + 1) ?? [];
      list.push(entry);
      list.sort((a, b) => b.literals - a.literals);
      this.bySegments.set(segments.length + 1, list);
    }
  }

  /** Every endpoint of the spec. */
  all(): Endpoint[] {
    return [...this.byRoute.values()];
  }

  /** The endpoint of a method and request path (no query), or what to answer instead (with
   * the methods the path allows, for a 405). */
  match(method: string, pathname: string): Matched | { error: ApiError; allow?: string } {
    const parts = pathname.split('/');
    const entry = parts[0] === '' ? this.find(parts) : undefined;
    if (!entry)
      return { error: new ApiError(404, 'not_found', `no route for ${method} ${pathname}`) };
    const endpoint = entry.methods.get(method);
    if (!endpoint)
      return {
        error: new ApiError(405, 'method_not_allowed', `${method} method not allowed`),
        allow: entry.allow,
      };
    const params: Record<string, string> = {};
    let n = 0;
    for (let i = 0; i < entry.segments.length; i++) {
      if (entry.segments[i] !== null) continue;
      const name = entry.names[n++];
      const raw = parts[i + 1];
      if (!raw.includes('%')) {
        params[name] = raw;
        continue;
      }
      try {
        params[name] = decodeURIComponent(raw);
      } catch {
        const field = `path.${name}`;
        const message = 'not valid percent-encoding';
        return {
          error: new ApiError(400, 'invalid_request', `${field}: ${message}`, {
            extra: { errors: [{ field, message }] },
          }),
        };
      }
    }
    return { endpoint, params };
  }

  private find(parts: string[]): PathEntry | undefined {
    const candidates = this.bySegments.get(parts.length);
    if (!candidates) return undefined;
    next: for (const entry of candidates) {
      for (let i = 0; i < entry.segments.length; i++) {
        const want = entry.segments[i];
        const got = parts[i + 1];
        if (want === null ? got.length === 0 : got !== want) continue next;
      }
      return entry;
    }
    return undefined;
  }

  /** Middleware before authentication: sets req.matched for a request to a public endpoint
   * (a console token route), which then skips the token and role checks; others go on. */
  readonly lookupPublic: RequestHandler = (req, _res, next) => {
    const m = this.match(req.method, req.path);
    if (!('error' in m) && m.endpoint.public) req.matched = m;
    next();
  };

  /** Middleware: sets req.matched, or fails the request with 404, 405 (and Allow) or 400. */
  readonly lookup: RequestHandler = (req, res, next) => {
    if (req.matched) return next();
    const m = this.match(req.method, req.path);
    if ('error' in m) {
      if (m.allow) res.setHeader('Allow', m.allow);
      return next(m.error);
    }
    req.matched = m;
    next();
  };

  /** Middleware, last before the 404: runs the matched endpoint's handler with its parameters. */
  readonly dispatch: RequestHandler = (req, res, next) => {
    const m = req.matched;
    const handler = m?.endpoint.handler;
    if (!m || !handler) return next();
    const routed = req as Request<Record<string, string>>;
    routed.params = m.params;
    const out = handler(routed, res);
    if (out instanceof Promise)
      out.catch((err: unknown) => next(err ?? new Error('route handler rejected')));
  };

  private register(method: string, route: string, handler: Handler): void {
    const endpoint = this.byRoute.get(`${method} ${route}`);
    if (!endpoint) throw new Error(`route ${method} ${route} is not in the OpenAPI file`);
    if (endpoint.handler) throw new Error(`route ${method} ${route} is registered twice`);
    endpoint.handler = handler;
  }

  get(route: string, handler: Handler): void {
    this.register('GET', route, handler);
  }
  put(route: string, handler: Handler): void {
    this.register('PUT', route, handler);
  }
  post(route: string, handler: Handler): void {
    this.register('POST', route, handler);
  }
  patch(route: string, handler: Handler): void {
    this.register('PATCH', route, handler);
  }
  delete(route: string, handler: Handler): void {
    this.register('DELETE', route, handler);
  }
  connect(route: string, handler: Handler): void {
    this.register('CONNECT', route, handler);
  }
}
