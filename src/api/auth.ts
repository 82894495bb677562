// Bearer-token authentication and role checks. Tokens come from a tokens file of JSON lines
// {"id", "namespace", "role", "sha256"} (the hex SHA-256 of the token; '#' lines are comments)
// or from the environment (XCD_TOKEN, XCD_TOKEN_NAMESPACE, XCD_TOKEN_ROLE). Plain tokens are
// never stored. Knows nothing of instances: the driver enforces namespaces with the Caller.
import { hash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError } from '../driver/errors';
import type { Caller } from '../driver/types';

/** Who is calling (the driver's type): it scopes every instance and operation by `namespace`. */
export type { Caller };
export type Role = Caller['role'];
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

/** One line of the tokens file. */
export interface TokenEntry {
  id: string;
  namespace: string;
  role: Role;
  sha256: string;
}

export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** A fresh random token (URL-safe, 256 bits). */
export function generateToken(): string {
  return `xcd_${randomBytes(32).toString('base64url')}`;
}

/** One JSON line for the tokens file. */
export function tokenLine(id: string, namespace: string, role: Role, token: string): string {
  return JSON.stringify({ id, namespace, role, sha256: hashToken(token) });
}

const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkEntry(e: Partial<TokenEntry>, where: string): TokenEntry {
  if (typeof e.id !== 'string' || e.id.length === 0)
    throw new Error(`${where}: "id" must be a non-empty string`);
  if (typeof e.namespace !== 'string' || !NAMESPACE_RE.test(e.namespace))
    throw new Error(`${where}: "namespace" must match ${NAMESPACE_RE}`);
  if (!ROLES.includes(e.role as Role))
    throw new Error(`${where}: "role" must be one of ${ROLES.join(', ')}`);
  if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))
    throw new Error(`${where}: "sha256" must be 64 lowercase hex digits`);
  return { id: e.id, namespace: e.namespace, role: e.role as Role, sha256: e.sha256 };
}

export class TokenStore {
  /** By token hash: the caller a token stands for (one object per token, never changed). */
  private readonly byHash = new Map<string, Caller>();

  constructor(entries: TokenEntry[] = []) {
    entries.forEach((e, i) => this.addEntry(checkEntry({ ...e }, `token ${i + 1}`)));
  }

  /** Parses a tokens file's text (JSON lines). Throws naming the bad line. */
  static parse(text: string, source = 'tokens file'): TokenStore {
    const store = new TokenStore();
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line.length === 0 || line.startsWith('#')) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new Error(`${source}:${i + 1}: not a JSON object`);
      }
      store.addEntry(checkEntry(value as Partial<TokenEntry>, `${source}:${i + 1}`));
    });
    return store;
  }

  static fromFile(path: string): TokenStore {
    return TokenStore.parse(readFileSync(path, 'utf8'), path);
  }

  /** Adds a plain token (from the environment or generated at start-up); only its hash is kept. */
  addToken(token: string, caller: { id: string; namespace: string; role: Role }): this {
    this.addEntry(checkEntry({ ...caller, sha256: hashToken(token) }, `token ${caller.id}`));
    return this;
  }

  get size(): number {
    return this.byHash.size;
  }

  lookup(token: string): Caller | undefined {
    return this.byHash.get(hashToken(token));
  }

  private addEntry(e: TokenEntry): void {
    this.byHash.set(
      e.sha256,
      Object.freeze({ namespace: e.namespace, role: e.role, tokenId: e.id }),
    );
  }
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

/** Sets req.caller from `Authorization: Bearer <token>`; 401 when missing or unknown. */
export function authenticate(tokens: TokenStore): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) return next(new ApiError(401, 'unauthorized', 'send Authorization: Bearer <token>'));
    const caller = tokens.lookup(m[1]);
    if (!caller) return next(new ApiError(401, 'unauthorized', 'unknown token'));
    req.caller = caller;
    next();
  };
}

/** The caller set by authenticate(); routes call this so a missing caller is a bug, not a bypass. */
export function callerOf(req: Request): Caller {
  if (!req.caller) throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <token>');
  return req.caller;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * Middleware after authenticate() and the endpoint lookup: 403 unless the caller's role suffices
 * for the endpoint the request matched (not its raw path; endpoints.ts says which role each
 * needs). A request the lookup did not match is refused as no route.
 */
export function authorize(): RequestHandler {
  return (req, _res, next) => {
    const caller = callerOf(req);
    const need = req.matched?.endpoint.role;
    if (need === undefined)
      return next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
    if (RANK[caller.role] < RANK[need])
      return next(
        new ApiError(403, 'forbidden', `the ${caller.role} role may not do this (needs ${need})`),
      );
    next();
  };
}
