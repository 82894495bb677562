// Who may use an HTTP side channel (CONNECT /console, /import_raw_vdi, /export_raw_vdi): a Unix
// socket client (local root), a live session named by the session_id query parameter or cookie,
// or the pool's credentials in Basic auth. It only reads the request; whether a session lives and
// whether credentials match is engine/session.ts's answer.
import type http from 'node:http';
import type { Origin } from '../engine/dispatch';
import type { SimContext } from '../engine/registry';
import { credentialsMatch, sessionExists } from '../engine/session';

/**
 * The user-id and password of a Basic Authorization header, split at the first ':' (RFC 7617:
 * the user-id cannot contain one, the password can); undefined for any other scheme or no ':'.
 */
export function basicCredentials(
  header: string | undefined,
): { user: string; password: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const text = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The session_id of the query, else of the Cookie header; undefined when neither has one. */
function sessionIdOf(req: http.IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('session_id');
  if (fromQuery) return fromQuery;
  const m = /(?:^|;\s*)session_id=([^;]+)/.exec(req.headers.cookie ?? '');
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return m[1]; // not percent-encoded text: no live session has such a ref anyway
  }
}

/** True when the request may use a side channel; a named session decides before any Basic auth. */
export function sideChannelAuthorized(
  sim: SimContext,
  req: http.IncomingMessage,
  url: URL,
  origin: Origin,
): boolean {
  if (origin.unix) return true;
  const sessionRef = sessionIdOf(req, url);
  if (sessionRef) return sessionExists(sim, sessionRef);
  const creds = basicCredentials(req.headers.authorization);
  return creds !== undefined && credentialsMatch(sim, creds.user, creds.password);
}
