// After the load: give the service a bounded time to settle. Waits for /readyz 200, follows every
// operation last seen running to its final status, then waits for the pool to be quiet (no soak
// VM building or deleting, no pending XAPI task). Reports what did not settle; judges nothing.
import { TAG } from '../../src/driver/tags';
import type { SoakHttp } from './http';
import type { Ledger } from './ledger';
import { readPool, type PoolSnapshot } from './pool';
import { waitReady, type Tenant } from './service';

export interface SettleResult {
  readyAfterS?: number;
  opsStillRunning: number;
  poolQuietAfterS?: number;
  /** Soak VMs still building/deleting, and pending tasks, when the pool did not quiet down. */
  poolNoise: string[];
  pool: PoolSnapshot;
}

export async function mapLimit<T>(
  xs: T[],
  limit: number,
  fn: (x: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) await fn(xs[next++]);
    }),
  );
}

export async function settle(o: {
  http: SoakHttp;
  serviceUrl: string;
  ledger: Ledger;
  tenants: Tenant[];
  xapi: { url: string; user: string; password: string };
  settleS: number;
}): Promise<SettleResult> {
  const t0 = Date.now();
  const end = t0 + o.settleS * 1000;
  const left = (): number => Math.max(0, (end - Date.now()) / 1000);
  const readyAfterS = await waitReady(o.serviceUrl, left());
  const tokenOf = new Map(o.tenants.map((t) => [t.namespace, t.token]));
  const running = [...o.ledger.ops.values()].filter((op) => op.status === 'running');
  await mapLimit(running, 50, async (op) => {
    while (left() > 0 && op.status === 'running') {
      const a = await o.http.send('GET', `/v1/operations/${op.id}`, tokenOf.get(op.namespace), {
        wait: Math.min(10, Math.floor(left())),
      });
      if (a.status === 200) o.ledger.noteOperation(op.namespace, a.body);
      else if (a.status !== 0 && a.status !== 503)
        return; // the operations check reports it
      else await new Promise((r) => setTimeout(r, 500));
    }
  });
  const namespaces = o.tenants.map((t) => t.namespace);
  let pool: PoolSnapshot;
  let poolQuietAfterS: number | undefined;
  let noise: string[];
  for (;;) {
    pool = await readPool(o.xapi, namespaces);
    noise = [];
    for (const [key, vms] of pool.vmsByOwner)
      for (const { rec } of vms) {
        const state = rec.other_config?.[TAG.state];
        if (state === 'building' || state === 'deleting')
          noise.push(`${key} VM ${rec.uuid} ${state}`);
      }
    noise.push(...pool.pendingTasks.map((t) => `pending task ${t}`));
    if (noise.length === 0) {
      poolQuietAfterS = (Date.now() - t0) / 1000;
      break;
    }
    if (left() <= 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return {
    readyAfterS,
    opsStillRunning: [...o.ledger.ops.values()].filter((op) => op.status === 'running').length,
    poolQuietAfterS,
    poolNoise: noise,
    pool,
  };
}
