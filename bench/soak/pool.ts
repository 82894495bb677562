// The pool as XAPI itself shows it, read with the project's client (no mirror, a fresh session
// each time: a XAPI restart invalidates sessions): every VM, VDI, VBD and VIF record, the census
// counts, and the soak's instances found by their owner tags. Reads only.
import { TAG } from '../../src/driver/tags';
import { XapiClient } from '../../src/xapi';
import { CLASSES, type Counts, type PoolClass } from './ledger';

export type Rec = Record<string, any>;

export interface PoolSnapshot {
  records: Record<PoolClass, Map<string, Rec>>; // by ref
  counts: Counts;
  /** Soak VMs by `namespace/instance id` (owner tags), templates and snapshots excluded. */
  vmsByOwner: Map<string, Array<{ ref: string; rec: Rec }>>;
  /** Running XAPI tasks (pending), by name_label. */
  pendingTasks: string[];
}

export async function readPool(
  xapi: { url: string; user: string; password: string },
  namespaces: string[],
): Promise<PoolSnapshot> {
  const client = await XapiClient.connect({ ...xapi, mirror: false });
  try {
    const all = await Promise.all(
      CLASSES.map((c) => client.call<Record<string, Rec>>(`${c}.get_all_records`)),
    );
    const tasks = await client.call<Record<string, Rec>>('task.get_all_records');
    const records = {} as Record<PoolClass, Map<string, Rec>>;
    const counts = {} as Counts;
    CLASSES.forEach((c, i) => {
      records[c] = new Map(Object.entries(all[i]));
      counts[c] = records[c].size;
    });
    const vmsByOwner = new Map<string, Array<{ ref: string; rec: Rec }>>();
    for (const [ref, rec] of records.VM) {
      if (rec.is_a_template || rec.is_a_snapshot) continue;
      const ns = rec.other_config?.[TAG.namespace];
      const id = rec.other_config?.[TAG.instanceId];
      if (!namespaces.includes(ns) || id === undefined) continue;
      const key = `${ns}/${id}`;
      vmsByOwner.set(key, [...(vmsByOwner.get(key) ?? []), { ref, rec }]);
    }
    const pendingTasks = Object.values(tasks)
      .filter((t) => t.status === 'pending')
      .map((t) => String(t.name_label));
    return { records, counts, vmsByOwner, pendingTasks };
  } finally {
    await client.close();
  }
}

export const formatCounts = (c: Counts): string => CLASSES.map((k) => `${k}=${c[k]}`).join(' ');
