// Sessions: session.login_with_password (HOST_IS_SLAVE on pool members, any credentials as
// local root on the Unix socket, SESSION_AUTHENTICATION_FAILED after the configured delay),
// session.logout, the session check dispatch runs before every call and the credential and
// session tests the HTTP side channels use. Sessions live in the store's `session` table; this
// file knows nothing of the wire.
import { XapiFault } from './fault';
import { defineMessage, type SimContext } from './registry';
import { NULL_REF, formatDateTime, type Rec } from './store';

/** True when ref names a live session. */
export function sessionExists(sim: SimContext, ref: string): boolean {
  return sim.store.has('session', ref);
}

/** True when user and password are the pool's (the one account the simulator knows). */
export function credentialsMatch(sim: SimContext, user: unknown, password: unknown): boolean {
  return user === sim.options.user && password === sim.options.password;
}

/** The session record for ref, or SESSION_INVALID [ref]. */
export function checkSession(sim: SimContext, ref: unknown): { ref: string; rec: Rec } {
  const r = typeof ref === 'string' ? ref : String(ref);
  const rec = sim.store.find('session', r);
  if (!rec) throw new XapiFault('SESSION_INVALID', [r]);
  return { ref: r, rec };
}

/** xapi keeps at most 500 sessions per originator and 400 without one; the oldest go first. */
export const MAX_SESSIONS_PER_ORIGINATOR = 500;
export const MAX_ANONYMOUS_SESSIONS = 400;

function collectSessions(sim: SimContext, originator: string): void {
  const limit = originator === '' ? MAX_ANONYMOUS_SESSIONS : MAX_SESSIONS_PER_ORIGINATOR;
  const same: string[] = [];
  for (const [ref, rec] of sim.store.all('session'))
    if (rec.originator === originator) same.push(ref);
  for (let i = 0; i < same.length - limit; i++) sim.store.destroy('session', same[i]);
}

export function registerSessionMessages(): void {
  defineMessage('session.login_with_password', async (ctx, args) => {
    const [uname, pwd, , originator] = args; // version (args[2]) is ignored, as by xapi
    const { sim, origin } = ctx;
    if (!origin.unix && origin.hostIndex !== 0) {
      throw new XapiFault('HOST_IS_SLAVE', [sim.hosts[0]?.address ?? '127.0.0.1']);
    }
    const ok = origin.unix || credentialsMatch(sim, uname, pwd);
    if (!ok) {
      await new Promise((r) => setTimeout(r, sim.options.authFailureDelayMs));
      throw new XapiFault('SESSION_AUTHENTICATION_FAILED', [
        String(uname),
        'Authentication failure',
      ]);
    }
    const now = formatDateTime();
    const ref = sim.store.create('session', {
      this_host: sim.hosts[origin.hostIndex]?.ref ?? NULL_REF,
      last_active: now,
      validation_time: now,
      pool: false,
      is_local_superuser: origin.unix || uname === 'root',
      auth_user_name: origin.unix ? 'root' : String(uname),
      originator: typeof originator === 'string' ? originator : '',
    });
    collectSessions(sim, typeof originator === 'string' ? originator : '');
    return ref;
  });
  defineMessage('session.logout', (ctx) => {
    ctx.store.destroy('session', ctx.session.ref);
  });
  defineMessage('session.local_logout', (ctx) => {
    ctx.store.destroy('session', ctx.session.ref);
  });
}
