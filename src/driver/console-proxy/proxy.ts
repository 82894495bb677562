// The console proxy: hands out one-time consoles of instances (tickets.ts), takes the client's
// connection (a socket of its own VNC listener, or a tunnel or WebSocket stream the HTTP layer
// hands over), speaks RFB's handshake to it (rfb.ts), opens the VM's console on its XAPI host
// with the service's session (XapiClient.openHostTunnel) and relays the rest. Ends a relay when
// the VM stops running on that host or goes, and when either side goes; bounds connections per
// instance and per namespace. Never lets a session id, token or password reach a log line.
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { XapiClient } from '../../xapi';
import { ApiError } from '../errors';
import { pageAddress, tunnelAddress, websocketAddress, type ConsoleOrigin } from './addresses';
import {
  ByteReader,
  RfbError,
  clientHandshake,
  serveHandshake,
  vncResponseMatches,
  type ServerSecurity,
} from './rfb';
import { Tickets, newPassword, newToken, type Ticket, type TicketKind } from './tickets';
import { VncPorts, type PortRange } from './vnc-ports';

/** Where an instance's console is now: resolved when a client connects (ConsoleTargets). */
export interface ConsoleTarget {
  vmRef: string;
  /** The host the VM runs on, and its address. */
  hostRef: string;
  address: string;
  consoleUuid: string;
}

/** Finds the console of a ticket's instance, or throws the ApiError a client is refused with
 * (the instance is gone or another VM now: 404; not running: 409). */
export type ResolveTarget = (t: {
  namespace: string;
  instanceId: string;
  vmUuid: string;
}) => ConsoleTarget;

export interface ConsoleProxyOptions {
  /** How long a console handed out stays usable (default 60 s). */
  ttlMs?: number;
  /** How long a client has from connecting to the end of its handshake (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Connections (open, or handed out and not yet used) per instance (default 4) and per
   * namespace (default 32). */
  perInstance?: number;
  perNamespace?: number;
  /** The VNC listeners: the address they bind, their port range (`{min: 0, max: 0}`: any free
   * port), and the host name a `vnc` answer gives (default: the bound address, or the host the
   * request reached when that is a wildcard). */
  vnc?: { listenHost?: string; ports?: PortRange; publicHost?: string };
}

/** Counts for the metrics (a snapshot). */
export interface ConsoleStats {
  /** Client connections now, by form, handshakes included. */
  open: Record<string, number>;
  /** Connections that reached the relay, are refused or failed, since start, by form. */
  outcomes: Array<{ kind: string; outcome: string; count: number }>;
  /** Consoles handed out and not yet used. */
  pending: number;
}

export type { ConsoleOrigin };

type Outcome = 'relayed' | 'refused' | 'timeout' | 'failed';

/** One client connection, from accept (or hand-over) to its end. */
class Connection {
  upstream?: Duplex;
  relaying = false;
  ended = false;
  /** The host's side failed (not the client): counted as `failed`, not `refused`. */
  upstreamFailed = false;
  target?: ConsoleTarget;
  timer?: NodeJS.Timeout;
  /** Set once the connection is bound to an instance (a ticket taken). */
  owner?: { namespace: string; instanceId: string };

  constructor(
    readonly kind: TicketKind,
    readonly client: Duplex,
  ) {}
}

const DEFAULTS = { ttlMs: 60_000, handshakeTimeoutMs: 10_000, perInstance: 4, perNamespace: 32 };

export class ConsoleProxy {
  readonly #tickets: Tickets;
  readonly #connections = new Set<Connection>();
  readonly #outcomes = new Map<string, number>();
  readonly #ports: VncPorts;
  readonly #opts: typeof DEFAULTS;
  readonly #publicHost?: string;
  readonly #onMirror = (batch: Array<{ cls: string; ref: string }>): void => {
    for (const c of batch)
      if (c.cls === 'VM' || c.cls === 'console')
        for (const conn of this.#connections) if (conn.target) this.#checkRunning(conn);
  };
  #closed = false;

  constructor(
    private readonly xapi: XapiClient,
    private readonly resolve: ResolveTarget,
    private readonly logger: Logger,
    opts: ConsoleProxyOptions = {},
  ) {
    this.#opts = {
      ttlMs: opts.ttlMs ?? DEFAULTS.ttlMs,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
      perInstance: opts.perInstance ?? DEFAULTS.perInstance,
      perNamespace: opts.perNamespace ?? DEFAULTS.perNamespace,
    };
    this.#publicHost = opts.vnc?.publicHost;
    this.#ports = new VncPorts(
      opts.vnc?.listenHost ?? '127.0.0.1',
      opts.vnc?.ports ?? {
        min: 0,
        max: 0,
      },
    );
    this.#tickets = new Tickets((t) => this.#ports.release(t));
    xapi.mirror.on('change', this.#onMirror);
  }

  /**
   * Hands out a console of a running instance (the caller has checked ownership and the power
   * state): 429 too_many_consoles beyond the limits, 503 console_ports_exhausted when no VNC
   * port is free.
   */
  async issue(
    kind: TicketKind,
    owner: { namespace: string; instanceId: string; vmUuid: string },
    origin: ConsoleOrigin,
  ): Promise<Record<string, unknown> & { type: TicketKind; expires_at: string }> {
    if (this.#closed) throw new ApiError(503, 'not_ready', 'the console proxy is closed');
    this.#checkLimits(owner.namespace, owner.instanceId);
    const ticket = this.#tickets.add(
      {
        kind,
        token: kind === 'vnc' ? '' : newToken(),
        password: kind === 'vnc' ? newPassword() : '',
        ...owner,
      },
      this.#opts.ttlMs,
    );
    const expires_at = new Date(ticket.expiresAt).toISOString();
    switch (kind) {
      case 'vnc': {
        let port: number;
        try {
          port = await this.#ports.open(ticket, (socket) => this.#acceptVnc(ticket, socket));
        } catch (err) {
          this.#tickets.take(ticket);
          throw err;
        }
        const host = this.#publicHost ?? this.#ports.publicHost(origin.host);
        return { type: 'vnc', host, port, password: ticket.password, expires_at };
      }
      case 'tunnel':
        return tunnelAddress(ticket.token, origin, expires_at);
      case 'websocket':
        return websocketAddress(ticket.token, origin, expires_at);
      case 'url':
        return pageAddress(ticket.token, origin, expires_at);
    }
  }

  /** Whether a token is a live console page's (`url`) token: the page loads without spending it. */
  hasPage(token: string): boolean {
    return this.#tickets.peek(token, ['url']) !== undefined;
  }

  /**
   * Spends a token of the tunnel (`via` 'tunnel') or WebSocket form ('websocket', which the
   * console page's token also opens) and checks its instance still runs: throws the ApiError
   * to answer (404 console_token_invalid, the instance's 404 or 409) before the HTTP layer
   * switches protocols; then `attach` takes the client's stream and speaks RFB with security
   * None on it.
   */
  claim(token: string, via: 'tunnel' | 'websocket'): { attach(client: Duplex): void } {
    const ticket = this.#tickets.peek(token, via === 'tunnel' ? ['tunnel'] : ['websocket', 'url']);
    if (!ticket || !this.#tickets.take(ticket)) {
      this.#count(via, 'refused');
      throw new ApiError(
        404,
        'console_token_invalid',
        'no console with this token (unknown, used or expired)',
      );
    }
    let target: ConsoleTarget;
    try {
      target = this.resolve(ticket);
    } catch (err) {
      this.#count(via, 'refused');
      throw err;
    }
    return {
      attach: (client) => {
        const conn = this.#track(via, client);
        conn.owner = ticket;
        conn.target = target;
        const upstream = this.#openUpstream(conn);
        upstream.catch(() => undefined); // awaited by the handshake; its failure ends conn
        this.#handshake(conn, { type: 'none' }, () => upstream);
      },
    };
  }

  /** Open client connections (handshakes included), optionally of one instance. */
  connections(instance?: { namespace: string; instanceId: string }): number {
    let n = 0;
    for (const c of this.#connections)
      if (
        !instance ||
        (c.owner?.namespace === instance.namespace && c.owner.instanceId === instance.instanceId)
      )
        n++;
    return n;
  }

  stats(): ConsoleStats {
    const open: Record<string, number> = {};
    for (const c of this.#connections) open[c.kind] = (open[c.kind] ?? 0) + 1;
    const outcomes = [...this.#outcomes].map(([key, count]) => {
      const [kind, outcome] = key.split(' ');
      return { kind, outcome, count };
    });
    return { open, outcomes, pending: this.#tickets.size };
  }

  /** Drops every console handed out, ends every connection, closes the VNC listeners. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.xapi.mirror.off('change', this.#onMirror);
    this.#tickets.close();
    for (const c of [...this.#connections]) this.#end(c, 'the service is closing');
    await this.#ports.close();
  }

  // ---------------------------------------------------------------- internals

  #checkLimits(namespace: string, instanceId: string): void {
    let perInstance = 0;
    let perNamespace = 0;
    const visit = (o: { namespace: string; instanceId: string } | undefined): void => {
      if (o?.namespace !== namespace) return;
      perNamespace++;
      if (o.instanceId === instanceId) perInstance++;
    };
    for (const t of this.#tickets.pending()) visit(t);
    for (const c of this.#connections) visit(c.owner);
    if (perInstance >= this.#opts.perInstance || perNamespace >= this.#opts.perNamespace)
      throw new ApiError(
        429,
        'too_many_consoles',
        perInstance >= this.#opts.perInstance
          ? `the instance already has ${perInstance} consoles open or handed out (at most ${this.#opts.perInstance})`
          : `the namespace already has ${perNamespace} consoles open or handed out (at most ${this.#opts.perNamespace})`,
      );
  }

  #count(kind: string, outcome: Outcome): void {
    const key = `${kind} ${outcome}`;
    this.#outcomes.set(key, (this.#outcomes.get(key) ?? 0) + 1);
  }

  #track(kind: TicketKind, client: Duplex): Connection {
    const conn = new Connection(kind, client);
    this.#connections.add(conn);
    client.on('error', () => this.#end(conn, 'the client connection failed'));
    client.once('close', () => this.#end(conn, 'the client went away'));
    client.once('end', () => this.#end(conn, 'the client went away'));
    conn.timer = setTimeout(() => {
      if (!conn.relaying) {
        this.#count(kind, 'timeout');
        this.#end(conn, 'the client did not finish its handshake in time');
      }
    }, this.#opts.handshakeTimeoutMs);
    conn.timer.unref();
    return conn;
  }

  /** A socket accepted on a `vnc` console's port: VNC Authentication against its password. */
  #acceptVnc(ticket: Ticket, socket: Duplex): void {
    const conn = this.#track('vnc', socket);
    const security: ServerSecurity = {
      type: 'vnc',
      verify: (challenge, response) => {
        const ok = vncResponseMatches(ticket.password, challenge, response);
        // One attempt: a wrong password spends the console as a right one does.
        if (!this.#tickets.take(ticket)) return false;
        this.#ports.release(ticket);
        return ok;
      },
    };
    this.#handshake(conn, security, () => {
      conn.owner = ticket;
      conn.target = this.resolve(ticket);
      return this.#openUpstream(conn);
    });
  }

  /** The client's handshake, then the relay; any failure ends the connection. */
  #handshake(conn: Connection, security: ServerSecurity, accept: () => Promise<Buffer>): void {
    const reader = new ByteReader(conn.client);
    serveHandshake(conn.client, reader, security, accept).then(
      () => this.#relay(conn, reader.release()),
      (err: unknown) => {
        if (conn.ended) return;
        const refused =
          !conn.upstreamFailed && (err instanceof RfbError || err instanceof ApiError);
        this.#count(conn.kind, refused ? 'refused' : 'failed');
        this.#end(conn, err instanceof Error ? err.message : 'handshake failed', true);
      },
    );
  }

  /** CONNECT /console on the VM's host, then that side's handshake: its ServerInit. */
  async #openUpstream(conn: Connection): Promise<Buffer> {
    try {
      return await this.#reachHost(conn);
    } catch (err) {
      conn.upstreamFailed = !conn.ended;
      throw err;
    }
  }

  async #reachHost(conn: Connection): Promise<Buffer> {
    const target = conn.target!;
    let socket: Duplex;
    try {
      socket = await this.xapi.openHostTunnel(target.address, '/console', {
        uuid: target.consoleUuid,
      });
    } catch (err) {
      this.logger.warn(
        { instance_id: conn.owner?.instanceId, code: (err as { code?: string }).code },
        'console: the host refused the console connection',
      );
      throw new RfbError("the VM's console cannot be reached");
    }
    if (conn.ended) {
      socket.destroy();
      throw new RfbError('the client went away');
    }
    conn.upstream = socket;
    socket.on('error', () => this.#end(conn, "the host's console connection failed"));
    socket.once('close', () => this.#end(conn, "the host's console closed"));
    socket.once('end', () => this.#end(conn, "the host's console closed"));
    const reader = new ByteReader(socket);
    const init = await clientHandshake(socket, reader);
    const rest = reader.release();
    if (rest.length > 0) socket.unshift(rest);
    return init;
  }

  #relay(conn: Connection, fromClient: Buffer): void {
    const upstream = conn.upstream;
    if (conn.ended || !upstream) return;
    clearTimeout(conn.timer);
    conn.relaying = true;
    this.#count(conn.kind, 'relayed');
    if (fromClient.length > 0) upstream.write(fromClient);
    conn.client.pipe(upstream);
    upstream.pipe(conn.client);
    this.logger.info(
      { instance_id: conn.owner?.instanceId, namespace: conn.owner?.namespace, form: conn.kind },
      'console: relay open',
    );
    this.#checkRunning(conn);
  }

  /** Ends a connection whose VM no longer runs on the host it was reached on. */
  #checkRunning(conn: Connection): void {
    const target = conn.target;
    if (!target || conn.ended) return;
    const vm = this.xapi.mirror.get('VM', target.vmRef);
    if (!vm) return this.#end(conn, 'the instance is gone');
    if (vm.power_state !== 'Running')
      return this.#end(conn, `the instance is ${vm.power_state.toLowerCase()}`);
    if (vm.resident_on !== target.hostRef)
      return this.#end(conn, 'the instance moved to another host');
  }

  #end(conn: Connection, why: string, quietly = false): void {
    if (conn.ended) return;
    conn.ended = true;
    clearTimeout(conn.timer);
    this.#connections.delete(conn);
    if (!quietly) conn.client.destroy();
    else conn.client.end();
    // a client told why (SecurityResult) is closed once that is written
    setTimeout(() => conn.client.destroy(), 1000).unref();
    conn.upstream?.destroy();
    this.logger.info(
      {
        instance_id: conn.owner?.instanceId,
        namespace: conn.owner?.namespace,
        form: conn.kind,
        relayed: conn.relaying,
        why,
      },
      'console: connection closed',
    );
  }
}
