// The fast lane for `GET /v1/instances/{instance_id}` (an orchestrator's power-state poll): the
// plain success case answered before express, with the same answer, log line and metric as the
// full stack. Anything else (a query, an odd path, no or a bad token, an id the spec's pattern
// refuses, an unknown instance, a driver not ready) goes to express untouched. Must not answer
// any error itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceDriver } from './driver-port';
import type { RolePolicy, TokenStore } from './auth';
import type { Metrics } from './metrics';
import { startRequestLog } from './request-log';
import type { OpenApiDocument } from './spec';

const PATH_RE = /^\/v1\/instances\/([^/?#%]+)$/;
const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;
const ROUTE = '/v1/instances/:instance_id';
const SPEC_PATH = '/v1/instances/{instance_id}';

export type FastRead = (req: IncomingMessage, res: ServerResponse) => boolean;

export function fastInstanceRead(deps: {
  driver: ServiceDriver;
  auth: TokenStore;
  policy: RolePolicy;
  metrics: Metrics;
  spec: OpenApiDocument;
  /** From requestLogBase(). */
  logBase: Parameters<typeof startRequestLog>[2];
}): FastRead {
  const schemas = (deps.spec.components as { schemas?: Record<string, { pattern?: string }> })
    ?.schemas;
  const pattern = schemas?.InstanceId?.pattern;
  // Without the spec's pattern nothing can be checked here: everything goes to express.
  if (!pattern || deps.policy('GET', SPEC_PATH) !== 'viewer') return () => false;
  const idRe = new RegExp(pattern, 'u');
  const observe = deps.metrics.httpObserver();
  return (req, res) => {
    if (req.method !== 'GET' || !deps.driver.ready()) return false;
    const m = PATH_RE.exec(req.url ?? '');
    if (!m || !idRe.test(m[1])) return false;
    const header = req.headers.authorization;
    const token = header ? BEARER_RE.exec(header) : null;
    const caller = token ? deps.auth.lookup(token[1]) : undefined;
    // Every role may read (viewer is the least); errors are express's to answer.
    if (!caller) return false;
    let text: string;
    try {
      text = JSON.stringify(deps.driver.getInstance(caller, m[1]));
    } catch {
      return false;
    }
    const t0 = process.hrtime.bigint();
    startRequestLog(req, res, deps.logBase);
    res.once('finish', () =>
      observe(req.method!, ROUTE, res.statusCode, Number(process.hrtime.bigint() - t0) / 1e9),
    );
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
    return true;
  };
}
