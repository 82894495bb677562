// Recovery: the service's lease, and reconcile passes (one at start-up, then a periodic sweep)
// that finish or undo what stopped services and transient failures left. Decides when a pass
// runs and whose work it may take over; what a pass does lives in reconcile.ts. No HTTP here.
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import { Lease } from './lease';
import type { Operations } from './operations';
import { reconcile, type ReconcileReport } from './reconcile';
import { instanceKey, type OperationRunner } from './runner';
import type { Owner } from './tags';

export interface RecoveryOptions {
  logger: Logger;
  serviceId: string;
  leaseTtlMs?: number | undefined;
  /** How often a sweep runs. */
  sweepIntervalMs: number;
  /** Longest start-up pass before start() resolves anyway (the pass goes on). */
  startupReconcileMs: number;
}

export class Recovery {
  readonly lease: Lease;
  lastReconcile: ReconcileReport | undefined;
  private readonly logger: Logger;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** The pass under way, if any (start-up or sweep). */
  private pass: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly xapi: XapiClient,
    private readonly ops: Operations,
    private readonly runner: OperationRunner,
    private readonly opts: RecoveryOptions,
  ) {
    this.logger = opts.logger;
    this.lease = new Lease(xapi, opts.logger, {
      serviceId: opts.serviceId,
      ...(opts.leaseTtlMs !== undefined ? { ttlMs: opts.leaseTtlMs } : {}),
    });
  }

  /** Takes the lease and runs the start-up pass: resolves when it is over, or after
   * startupReconcileMs with the pass going on; then sweeps periodically. */
  async start(): Promise<void> {
    await this.lease.start();
    const first = this.runPass(10_000);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      first,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, this.opts.startupReconcileMs))),
    ]);
    clearTimeout(timer);
    this.scheduleSweep();
  }

  /** One reconcile pass; a pass already under way is joined, not doubled. */
  runPass(cloneWaitMs = 0): Promise<void> {
    this.pass ??= (async () => {
      try {
        const r = await reconcile(this.xapi, this.ops, this.logger, {
          cloneWaitMs,
          mayTakeOver: (owner, serviceId) => this.mayTakeOver(owner, serviceId),
          exclusive: (owner, fn) =>
            this.runner.scheduler.run(instanceKey(owner.namespace, owner.instanceId), fn),
        });
        this.lastReconcile = r;
        if (
          r.cleanedUp.length ||
          r.destroyed.length ||
          r.interrupted.length ||
          r.orphanVdis ||
          r.orphanVifs ||
          r.images.length ||
          r.errors.length
        )
          this.logger.info({ reconcile: r }, 'reconciled the pool with the service tags');
      } catch (err) {
        this.logger.warn({ err }, 'reconcile pass failed; the next sweep retries');
      } finally {
        this.pass = undefined;
      }
    })();
    return this.pass;
  }

  /** Stops sweeping, waits for a pass under way, and gives the lease back, so another service
   * takes over this one's work in flight at once, not when the lease runs out. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.sweepTimer);
    await this.pass;
    await this.lease.close();
  }

  private scheduleSweep(): void {
    if (this.closed) return;
    this.sweepTimer = setTimeout(() => {
      void this.runPass().finally(() => this.scheduleSweep());
    }, this.opts.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Work in flight of an instance is taken over only when no operation of this service is on
   * it, and the service that started it is this one, unknown (untagged), or without a lease. */
  private mayTakeOver(owner: Owner, serviceId: string | undefined): boolean {
    if (this.runner.busy(owner.namespace, owner.instanceId)) return false;
    return (
      serviceId === undefined || serviceId === this.lease.serviceId || !this.lease.isLive(serviceId)
    );
  }
}
