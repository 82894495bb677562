// The service's lease in XAPI's own database: the pool's other_config key `xcd_lease/<service id>`
// holds when the lease runs out (epoch ms), renewed every third of its time to live. Work in
// flight carries its owner's service id (the xcd_owner tag); a service takes over another's work
// only once that lease has run out. Decides nothing about what the work is; reads the mirror.
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';

export const LEASE_PREFIX = 'xcd_lease/';

export interface LeaseOptions {
  /** This service's id: the owner written on its work in flight. */
  serviceId: string;
  /** How long a lease lasts without renewal (default 30 s). */
  ttlMs?: number;
}

export class Lease {
  readonly serviceId: string;
  readonly ttlMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly xapi: XapiClient,
    private readonly logger: Logger,
    opts: LeaseOptions,
  ) {
    if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(opts.serviceId))
      throw new RangeError(`service id '${opts.serviceId}' must be 1-128 of [A-Za-z0-9._:@-]`);
    this.serviceId = opts.serviceId;
    this.ttlMs = opts.ttlMs ?? 30_000;
  }

  /** Writes the lease and keeps renewing it until close(). */
  async start(): Promise<void> {
    await this.renew();
    this.schedule();
  }

  /** Removes the lease: the service's work in flight is over or handed back (clean stop). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.renewing?.catch(() => undefined);
    const poolRef = this.poolRef();
    if (poolRef)
      await this.xapi
        .call('pool.remove_from_other_config', poolRef, LEASE_PREFIX + this.serviceId)
        .catch(() => undefined);
  }

  /** Is the work this owner tag names still held by a live service? This service always is;
   * an owner with no lease, or a lease run out, is not. */
  isLive(owner: string | undefined): boolean {
    if (owner === undefined || owner === '') return false;
    if (owner === this.serviceId) return true;
    const until = Number(this.leases()[LEASE_PREFIX + owner]);
    return Number.isFinite(until) && until > Date.now();
  }

  private leases(): Record<string, string> {
    const pool = this.xapi.mirror.query('pool', { fields: ['other_config'], limit: 1 })[0];
    return pool?.other_config ?? {};
  }

  private poolRef(): string | undefined {
    return this.xapi.mirror.query('pool', { fields: ['uuid'], limit: 1 })[0]?.$ref;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.renewing = this.renew()
        .catch((err: unknown) => this.logger.warn({ err }, 'could not renew the service lease'))
        .finally(() => this.schedule());
    }, this.ttlMs / 3);
    this.timer.unref();
  }

  /** Writes this lease's new end, and removes leases that ran out long ago (a service that is
   * gone for good leaves its key behind otherwise). */
  private async renew(): Promise<void> {
    const poolRef = this.poolRef() ?? (await this.xapi.call<string[]>('pool.get_all'))[0];
    if (!poolRef) throw new Error('the pool has no pool object');
    const mine = LEASE_PREFIX + this.serviceId;
    await this.xapi.call('pool.remove_from_other_config', poolRef, mine);
    await this.xapi.call(
      'pool.add_to_other_config',
      poolRef,
      mine,
      String(Date.now() + this.ttlMs),
    );
    const stale = Date.now() - 10 * this.ttlMs;
    for (const [k, v] of Object.entries(this.leases()))
      if (k.startsWith(LEASE_PREFIX) && k !== mine && Number(v) < stale)
        await this.xapi.call('pool.remove_from_other_config', poolRef, k).catch(() => undefined);
  }
}
