// What the soak's clients were told and therefore believe: every operation id the service
// handed out (with the last status seen), and for every instance id spawned, the spawn body and
// whether it should exist. Also what a spawn body adds to the pool. Holds no I/O.

export type SpawnBody = {
  template: string;
  vcpus?: number;
  memory_mb: number;
  disks?: Array<{ size_gb: number }>;
  nics?: Array<{ network: string }>;
  user_data?: string;
  metadata?: Record<string, string>;
  power_on?: boolean;
};

export type OpStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface OpRecord {
  id: string;
  namespace: string;
  instanceId: string;
  kind: string;
  /** The last status an answer carried. */
  status: OpStatus;
  /** Problem code and detail of a failed operation. */
  errorCode?: string;
  errorDetail?: string;
  /** How many times the service had been killed when this id was handed out. */
  kills: number;
}

/** present: the last spawn succeeded; absent: never built, destroyed, or its spawn failed. */
export type Belief = 'present' | 'absent' | 'unknown';

export interface InstanceRecord {
  namespace: string;
  id: string;
  body: SpawnBody;
  belief: Belief;
  /** The spawn or destroy whose final status decides the belief, while not known. */
  pendingOp?: string;
  /** A mutation whose answer never came (transport error at the end, timeout). */
  unanswered?: string;
  /** Power state the last answer showed (normalized, as the API names it). */
  powerState?: string;
}

export const CLASSES = ['VM', 'VDI', 'VBD', 'VIF'] as const;
export type PoolClass = (typeof CLASSES)[number];
export type Counts = Record<PoolClass, number>;

/**
 * Objects a spawn body makes, with the template's provisioned root disk: the VM, a root VDI and
 * its VBD, one VDI and VBD per extra disk, a config-drive VDI and CD VBD when the body carries
 * user_data or metadata, one VIF per NIC. A suspended VM also holds its suspend image (a VDI).
 */
export function objectsOf(body: SpawnBody, suspended: boolean): Counts {
  const drives = 1 + (body.disks?.length ?? 0) + (body.user_data || body.metadata ? 1 : 0);
  return {
    VM: 1,
    VDI: drives + (suspended ? 1 : 0),
    VBD: drives,
    VIF: body.nics?.length ?? 0,
  };
}

export const keyOf = (namespace: string, id: string): string => `${namespace}/${id}`;

export class Ledger {
  readonly ops = new Map<string, OpRecord>();
  readonly instances = new Map<string, InstanceRecord>();
  /** Per namespace: op ids, for reads of random operations. */
  readonly opIdsByNamespace = new Map<string, string[]>();
  /** SIGKILLs of the service so far. */
  kills = 0;

  instance(namespace: string, id: string): InstanceRecord | undefined {
    return this.instances.get(keyOf(namespace, id));
  }

  addInstance(namespace: string, id: string, body: SpawnBody): InstanceRecord {
    const rec: InstanceRecord = { namespace, id, body, belief: 'unknown' };
    this.instances.set(keyOf(namespace, id), rec);
    return rec;
  }

  /** Records the operation an answer carries (200/202 with an Operation body); returns it. */
  noteOperation(namespace: string, body: any): OpRecord | undefined {
    if (!body || typeof body.id !== 'string' || typeof body.status !== 'string') return undefined;
    let op = this.ops.get(body.id);
    if (!op) {
      op = {
        id: body.id,
        namespace,
        instanceId: String(body.instance_id),
        kind: String(body.kind),
        status: body.status,
        kills: this.kills,
      };
      this.ops.set(op.id, op);
      const list = this.opIdsByNamespace.get(namespace) ?? [];
      list.push(op.id);
      this.opIdsByNamespace.set(namespace, list);
    }
    op.status = body.status;
    if (body.error?.code) op.errorCode = String(body.error.code);
    if (body.error?.detail) op.errorDetail = String(body.error.detail).slice(0, 160);
    const inst = this.instance(namespace, op.instanceId);
    const ps = body.result?.power_state;
    if (inst && typeof ps === 'string') inst.powerState = ps;
    if (inst && inst.pendingOp === op.id && op.status !== 'running') this.settle(inst, op);
    return op;
  }

  /** The belief an instance's spawn or destroy leaves once final. */
  settle(inst: InstanceRecord, op: OpRecord): void {
    inst.pendingOp = undefined;
    if (op.kind === 'spawn') inst.belief = op.status === 'succeeded' ? 'present' : 'absent';
    else if (op.kind === 'destroy') inst.belief = op.status === 'succeeded' ? 'absent' : 'unknown';
  }

  randomOp(namespace: string, rand: () => number): string | undefined {
    const list = this.opIdsByNamespace.get(namespace);
    return list?.length ? list[Math.floor(rand() * list.length)] : undefined;
  }
}
