// The consoles handed out and not yet used: one-time tickets, each bound to an instance (its
// namespace, id and VM uuid) and a form, expiring after the service's TTL. They live in this
// process only (a restart forgets them: fetch a new console). Knows no sockets: a ticket is
// data, taken (and so spent) once; the proxy decides what a taken ticket opens.
import { randomBytes, randomInt } from 'node:crypto';

export type TicketKind = 'vnc' | 'tunnel' | 'websocket' | 'url';

export interface Ticket {
  readonly kind: TicketKind;
  /** The secret of the token routes (tunnel, websocket, url); '' for vnc. */
  readonly token: string;
  /** The VNC password (vnc only). */
  readonly password: string;
  readonly namespace: string;
  readonly instanceId: string;
  readonly vmUuid: string;
  readonly expiresAt: number;
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** Eight characters (VNC Authentication uses eight) from an alphabet without look-alikes. */
export function newPassword(): string {
  let out = '';
  for (let i = 0; i < 8; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

/** 192 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export class Tickets {
  readonly #byToken = new Map<string, Ticket>();
  readonly #timers = new Map<Ticket, NodeJS.Timeout>();

  /** `onDrop` runs when a ticket is dropped unused (expired, refused, or the proxy closes). */
  constructor(private readonly onDrop: (t: Ticket) => void) {}

  add(t: Omit<Ticket, 'expiresAt'>, ttlMs: number): Ticket {
    const ticket: Ticket = { ...t, expiresAt: Date.now() + ttlMs };
    if (ticket.token) this.#byToken.set(ticket.token, ticket);
    const timer = setTimeout(() => this.drop(ticket), ttlMs);
    timer.unref();
    this.#timers.set(ticket, timer);
    return ticket;
  }

  /** The live ticket of a token, left in place (the console page looks before it connects). */
  peek(token: string, kinds: readonly TicketKind[]): Ticket | undefined {
    const t = this.#byToken.get(token);
    return t && kinds.includes(t.kind) && this.#timers.has(t) ? t : undefined;
  }

  /** Spends a live ticket: true once, false when it is already spent or dropped. */
  take(t: Ticket): boolean {
    const timer = this.#timers.get(t);
    if (!timer) return false;
    clearTimeout(timer);
    this.#timers.delete(t);
    if (t.token) this.#byToken.delete(t.token);
    return true;
  }

  /** Drops a ticket unused (expiry, a failed VNC authentication, close). */
  drop(t: Ticket): void {
    if (this.take(t)) this.onDrop(t);
  }

  /** The live tickets. */
  pending(): IterableIterator<Ticket> {
    return this.#timers.keys();
  }

  get size(): number {
    return this.#timers.size;
  }

  close(): void {
    for (const t of [...this.#timers.keys()]) this.drop(t);
  }
}
