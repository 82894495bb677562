// The soak's simulated orchestrator clients: N closed loops, each in one namespace with instance
// ids of its own, mixing spawns (and replays of them), destroys, power actions and reads until
// the deadline. Every answer goes to the tally and every operation to the ledger; a client
// follows its own 202s to the final status and retries idempotent calls (spawn, destroy) while
// the service is away. Owns no checks.
import { bump, type Answer, type SoakHttp, type Tally } from './http';
import type { InstanceRecord, Ledger, OpRecord, SpawnBody } from './ledger';
import type { Tenant } from './service';

export interface ClientsOptions {
  http: SoakHttp;
  tally: Tally;
  ledger: Ledger;
  tenants: Tenant[];
  clients: number;
  /** Epoch ms: no new operation starts after it. */
  deadline: number;
  template: string;
  maxLive: number;
  /** Prefer: wait=N on mutations. */
  wait: number;
  seed: number;
}

/** mulberry32: a small seeded generator, so a run's mix can be replayed with --seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function spawnBody(template: string, rand: () => number): SpawnBody {
  const r = rand();
  if (r < 0.35) return { template, vcpus: 1, memory_mb: 256, nics: [{ network: 'xenbr0' }] };
  if (r < 0.55) return { template, vcpus: 1, memory_mb: 256, power_on: false };
  if (r < 0.8)
    return {
      template,
      memory_mb: 256,
      disks: [{ size_gb: 1 }],
      nics: [{ network: 'xenbr0' }, { network: 'VLAN 100' }],
    };
  return {
    template,
    memory_mb: 256,
    user_data: Buffer.from('#cloud-config\n').toString('base64'),
    metadata: { soak: 'yes' },
    nics: [{ network: 'xenbr0' }],
  };
}

/** A power action that the instance's last known power state allows (mostly). */
function actionFor(powerState: string | undefined, rand: () => number): Record<string, unknown> {
  const r = rand();
  switch (powerState) {
    case 'running':
      if (r < 0.3) return { action: 'reboot', type: r < 0.15 ? 'soft' : 'hard', timeout: 5 };
      if (r < 0.55) return { action: 'power-off', type: r < 0.45 ? 'hard' : 'clean', timeout: 5 };
      if (r < 0.8) return { action: 'pause' };
      return { action: 'suspend' };
    case 'paused':
      return r < 0.6 ? { action: 'unpause' } : { action: 'power-off', type: 'hard' };
    case 'suspended':
      return r < 0.5 ? { action: 'resume' } : { action: 'power-on' };
    case 'shutdown':
      return { action: 'power-on' };
    default:
      return r < 0.5 ? { action: 'power-on' } : { action: 'reboot', type: 'hard' };
  }
}

export async function runClients(o: ClientsOptions): Promise<Map<string, number>> {
  const opsStarted = new Map<string, number>();
  const running = Array.from({ length: o.clients }, (_, i) =>
    client(o, i, seeded(o.seed * 7919 + i), opsStarted),
  );
  await Promise.all(running);
  return opsStarted;
}

async function client(
  o: ClientsOptions,
  index: number,
  rand: () => number,
  opsStarted: Map<string, number>,
): Promise<void> {
  const tenant = o.tenants[index % o.tenants.length];
  const ns = tenant.namespace;
  const mine: InstanceRecord[] = [];
  let seq = 0;
  const live = (): InstanceRecord[] => mine.filter((m) => m.belief !== 'absent');
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const before = (): boolean => Date.now() < o.deadline;

  // While the service is away (killed, not ready, XAPI unavailable) every call backs off.
  let backoff = 0;
  const away = (a: Answer): boolean => a.status === 0 || a.status === 503;
  const send = async (
    label: string,
    method: string,
    path: string,
    body?: unknown,
    wait = method === 'GET' ? undefined : o.wait,
  ) => {
    const a = await o.http.send(method, path, tenant.token, { body, wait });
    o.tally.record(label, `${method} ${path}`, a);
    backoff = away(a) ? Math.min(2000, Math.max(200, backoff * 2)) : 0;
    if (backoff) await sleep(backoff * (0.5 + rand()));
    return a;
  };
  /**
   * Idempotent calls (spawn, destroy) are repeated while the service is away. `delivered` says
   * an attempt may have reached the service though no answer came (a reset, not a refusal).
   */
  const retried = async (label: string, method: string, path: string, body?: unknown) => {
    let delivered: string | undefined;
    for (;;) {
      const a = await send(label, method, path, body);
      if (a.status === 0 && a.transport !== 'ECONNREFUSED') delivered ??= a.transport;
      if (!away(a) || !before()) return { a, delivered };
    }
  };
  /** Follows a running operation until it is final (or the run ends). */
  const follow = async (opId: string): Promise<void> => {
    while (before()) {
      const a = await send('follow-op', 'GET', `/v1/operations/${opId}`, undefined, 5);
      if (a.status === 200) {
        const op = o.ledger.noteOperation(ns, a.body);
        if (op && op.status !== 'running') return;
        await sleep(100);
      } else if (!away(a)) return; // 404 and others: the checks report it
    }
  };
  const tracked = async (
    inst: InstanceRecord | undefined,
    a: Answer,
    from?: string,
  ): Promise<OpRecord | undefined> => {
    if ((a.status !== 200 && a.status !== 202) || !a.body?.id) return undefined;
    if (inst && (a.body.kind === 'spawn' || a.body.kind === 'destroy')) inst.pendingOp = a.body.id;
    const op = o.ledger.noteOperation(ns, a.body);
    if (op && op.status === 'running') await follow(op.id);
    if (op && op.status === 'failed')
      o.tally.operationFailed(op.kind, from, op.errorCode, op.errorDetail);
    return op;
  };

  const spawn = async (): Promise<void> => {
    const id = `c${index}-${seq++}`;
    const body = spawnBody(o.template, rand);
    const inst = o.ledger.addInstance(ns, id, body);
    mine.push(inst);
    if (mine.length > 4 * o.maxLive) {
      const gone = mine.findIndex((m) => m.belief === 'absent' && !m.pendingOp);
      if (gone >= 0) mine.splice(gone, 1);
    }
    const { a, delivered } = await retried('spawn', 'PUT', `/v1/instances/${id}`, body);
    if (a.status === 200 || a.status === 202) {
      await tracked(inst, a);
      return;
    }
    if (away(a)) inst.unanswered = `spawn: ${a.status || a.transport} at the end of the run`;
    else if (delivered) inst.unanswered = `spawn: ${delivered}, then ${a.status} ${a.body?.code}`;
    else inst.belief = 'absent'; // a refused spawn makes nothing
  };
  const replay = async (inst: InstanceRecord): Promise<void> => {
    const { a } = await retried('spawn-replay', 'PUT', `/v1/instances/${inst.id}`, inst.body);
    await tracked(inst, a);
  };
  const destroy = async (inst: InstanceRecord): Promise<void> => {
    const { a, delivered } = await retried('destroy', 'DELETE', `/v1/instances/${inst.id}`);
    if (a.status === 204) {
      inst.belief = 'absent';
      inst.pendingOp = undefined;
      return;
    }
    if (a.status === 200 || a.status === 202) {
      inst.belief = 'unknown'; // until the destroy is final
      await tracked(inst, a);
      return;
    }
    if (away(a) || delivered) {
      inst.belief = 'unknown';
      inst.unanswered = `destroy: ${delivered ?? ''} ${a.status || a.transport} ${a.body?.code ?? ''}`;
    }
  };
  const read = async (inst: InstanceRecord): Promise<void> => {
    const a = await send('get', 'GET', `/v1/instances/${inst.id}`);
    if (a.status === 200) inst.powerState = a.body?.power_state;
  };
  const act = async (inst: InstanceRecord): Promise<void> => {
    if (!inst.powerState) await read(inst);
    const from = inst.powerState;
    const action = actionFor(from, rand);
    const label = `action:${String(action.action)}`;
    const a = await send(label, 'POST', `/v1/instances/${inst.id}/actions`, action);
    const op = await tracked(undefined, a, from ?? 'unknown');
    if (op?.status === 'failed' || a.status === 409) inst.powerState = undefined;
  };

  while (before()) {
    const alive = live();
    const r = rand();
    let kind: string;
    if (alive.length === 0) kind = 'spawn';
    else if (r < 0.2) kind = alive.length < o.maxLive ? 'spawn' : 'destroy';
    else if (r < 0.23) kind = 'spawn-replay';
    else if (r < 0.33) kind = 'destroy';
    else if (r < 0.55) kind = 'action';
    else if (r < 0.78) kind = 'get';
    else if (r < 0.86) kind = 'list';
    else kind = 'get-op';
    bump(opsStarted, kind);
    switch (kind) {
      case 'spawn':
        await spawn();
        break;
      case 'spawn-replay':
        await replay(pick(alive));
        break;
      case 'destroy':
        await destroy(pick(alive));
        break;
      case 'action': {
        const present = alive.filter((m) => m.belief === 'present');
        if (present.length) await act(pick(present));
        else await read(pick(alive));
        break;
      }
      case 'get':
        // mostly live instances; now and then one destroyed or never built (answers 404)
        await read(rand() < 0.85 || alive.length === mine.length ? pick(alive) : pick(mine));
        break;
      case 'list':
        await send('list', 'GET', `/v1/instances?limit=${10 + Math.floor(rand() * 90)}`);
        break;
      default: {
        const opId = o.ledger.randomOp(ns, rand);
        if (opId) {
          const a = await send('get-op', 'GET', `/v1/operations/${opId}`);
          if (a.status === 200) o.ledger.noteOperation(ns, a.body);
        }
      }
    }
  }
}
