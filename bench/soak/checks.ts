// The soak's verdicts once the service has settled: the service is ready, every operation id
// answers its final status, every instance answers the state its VM has in the pool, each
// namespace's list counts what the pool holds, what the clients believe exists does, and the
// pool census equals the census before plus what is still meant to exist. Only reads.
import { TAG } from '../../src/driver/tags';
import type { SoakHttp } from './http';
import {
  CLASSES,
  objectsOf,
  type Counts,
  type InstanceRecord,
  type Ledger,
  type PoolClass,
} from './ledger';
import { formatCounts, type PoolSnapshot, type Rec } from './pool';
import type { Tenant } from './service';
import { mapLimit, type SettleResult } from './settle';

export interface Check {
  name: string;
  pass: boolean;
  summary: string;
  items: string[];
}

interface Seen {
  inst: InstanceRecord;
  status: number;
  body: any;
}

export async function runChecks(o: {
  http: SoakHttp;
  ledger: Ledger;
  tenants: Tenant[];
  before: PoolSnapshot;
  settled: SettleResult;
}): Promise<Check[]> {
  const { http, ledger, settled } = o;
  const after = settled.pool;
  const tokenOf = new Map(o.tenants.map((t) => [t.namespace, t.token]));
  const checks: Check[] = [];

  checks.push({
    name: 'service ready after settling',
    pass: settled.readyAfterS !== undefined,
    summary:
      settled.readyAfterS !== undefined
        ? `/readyz 200 after ${settled.readyAfterS.toFixed(1)} s`
        : '/readyz never answered 200',
    items: [],
  });
  checks.push({
    name: 'pool quiet after settling',
    pass: settled.poolNoise.length === 0,
    summary:
      settled.poolQuietAfterS !== undefined
        ? `no soak VM building or deleting, no pending task, after ${settled.poolQuietAfterS.toFixed(1)} s`
        : `${settled.poolNoise.length} VMs in flight or pending tasks remain`,
    items: settled.poolNoise,
  });

  // Every operation id the service handed out.
  const opItems: string[] = [];
  let opOk = 0;
  const lost = [0, 0]; // 404s for ids handed out before / after the service's SIGKILL
  const handed = [0, 0];
  await mapLimit([...ledger.ops.values()], 50, async (op) => {
    const a = await http.send('GET', `/v1/operations/${op.id}`, tokenOf.get(op.namespace));
    const where = `${op.id} (${op.kind} ${op.namespace}/${op.instanceId}, last seen ${op.status})`;
    const era = op.kills > 0 ? 1 : 0;
    handed[era]++;
    if (a.status === 200 && a.body?.status !== 'running') {
      if (op.status !== 'running' && a.body.status !== op.status)
        opItems.push(`${where}: now answers ${a.body.status}`);
      else opOk++;
      ledger.noteOperation(op.namespace, a.body);
    } else if (a.status === 200) opItems.push(`${where}: still running`);
    else {
      if (a.status === 404) lost[era]++;
      opItems.push(`${where}: ${a.status || a.transport} ${a.body?.code ?? ''}`.trim());
    }
  });
  checks.push({
    name: 'every operation id answers its final status',
    pass: opItems.length === 0,
    summary:
      `${opOk} of ${ledger.ops.size} final; 404 for ${lost[0]} of ${handed[0]} ids handed out ` +
      `before the service's SIGKILL, ${lost[1]} of ${handed[1]} after`,
    items: opItems.sort(),
  });

  // Every instance id spawned, against the VMs the pool holds under its owner tags.
  const seen: Seen[] = [];
  const instItems: string[] = [];
  await mapLimit([...ledger.instances.values()], 50, async (inst) => {
    const a = await http.send('GET', `/v1/instances/${inst.id}`, tokenOf.get(inst.namespace));
    seen.push({ inst, status: a.status, body: a.body });
    const vms = after.vmsByOwner.get(`${inst.namespace}/${inst.id}`) ?? [];
    const who = `${inst.namespace}/${inst.id}`;
    if (vms.length > 1) {
      const list = vms.map(
        ({ rec }) => `${rec.uuid} ${rec.power_state} ${rec.other_config?.[TAG.state]}`,
      );
      instItems.push(`${who}: ${vms.length} VMs in the pool (${list.join('; ')}), GET ${a.status}`);
      return;
    }
    if (vms.length === 0) {
      if (a.status !== 404)
        instItems.push(`${who}: no VM in the pool, GET ${a.status} ${brief(a.body)}`);
      return;
    }
    const vm = vms[0].rec;
    const poolSays = `VM ${vm.uuid} ${vm.power_state} xcd_state=${vm.other_config?.[TAG.state]}`;
    if (a.status !== 200) {
      instItems.push(`${who}: pool has ${poolSays}, GET ${a.status} ${a.body?.code ?? ''}`.trim());
      return;
    }
    const diffs: string[] = [];
    if (a.body.uuid !== vm.uuid) diffs.push(`uuid ${a.body.uuid}`);
    if (a.body.xapi_power_state !== vm.power_state) diffs.push(`power ${a.body.xapi_power_state}`);
    const tagState = vm.other_config?.[TAG.state];
    if (
      tagState &&
      a.body.state !== tagState &&
      !(a.body.state === 'error' && tagState === 'active')
    )
      diffs.push(`state ${a.body.state}`);
    if (diffs.length) instItems.push(`${who}: pool has ${poolSays}, GET says ${diffs.join(', ')}`);
  });
  checks.push({
    name: 'every instance answers its true state',
    pass: instItems.length === 0,
    summary: `${ledger.instances.size - instItems.length} of ${ledger.instances.size} match the pool`,
    items: instItems.sort(),
  });

  // Each namespace's list against the pool.
  const listItems: string[] = [];
  for (const t of o.tenants) {
    const a = await http.send('GET', '/v1/instances?limit=1', t.token);
    const inPool = [...after.vmsByOwner.keys()].filter((k) =>
      k.startsWith(`${t.namespace}/`),
    ).length;
    if (a.status !== 200 || a.body?.total !== inPool)
      listItems.push(
        `${t.namespace}: list ${a.status} total ${a.body?.total}, pool holds ${inPool}`,
      );
  }
  checks.push({
    name: 'instance lists count what the pool holds',
    pass: listItems.length === 0,
    summary: `${o.tenants.length} namespaces`,
    items: listItems,
  });

  // What the clients believe should exist, against the pool.
  const beliefItems: string[] = [];
  let unknown = 0;
  for (const inst of ledger.instances.values()) {
    const n = (after.vmsByOwner.get(`${inst.namespace}/${inst.id}`) ?? []).length;
    const who = `${inst.namespace}/${inst.id}`;
    const why = inst.unanswered ? ` (${inst.unanswered})` : '';
    if (inst.belief === 'unknown') unknown++;
    else if (inst.belief === 'present' && n === 0)
      beliefItems.push(`${who}: spawn succeeded, no VM in the pool`);
    else if (inst.belief === 'absent' && n > 0)
      beliefItems.push(`${who}: ${lastWord(ledger, inst)}, yet ${n} VM(s) in the pool${why}`);
  }
  checks.push({
    name: 'what clients believe exists exists, and nothing else',
    pass: beliefItems.length === 0,
    summary: `${ledger.instances.size} instance ids, ${unknown} without a final answer (judged by the service's GET)`,
    items: beliefItems.sort(),
  });

  checks.push(census(o.before, after, ledger, seen));
  return checks;
}

function brief(body: any): string {
  if (!body) return '';
  return body.code ?? `state=${body.state} power=${body.xapi_power_state} uuid=${body.uuid}`;
}

function lastWord(ledger: Ledger, inst: InstanceRecord): string {
  const ops = [...ledger.ops.values()].filter(
    (op) => op.namespace === inst.namespace && op.instanceId === inst.id && op.kind !== 'spawn',
  );
  const destroy = ops.filter((op) => op.kind === 'destroy').pop();
  if (destroy) return `destroy ${destroy.id} ${destroy.status}`;
  const spawn = [...ledger.ops.values()].find(
    (op) => op.namespace === inst.namespace && op.instanceId === inst.id && op.kind === 'spawn',
  );
  return spawn
    ? `spawn ${spawn.id} ${spawn.status}${spawn.errorCode ? ` ${spawn.errorCode}` : ''}`
    : 'spawn refused';
}

/** The owner (`namespace/id`) of a pool object: its own tags, else its VM's. */
function ownerOf(snap: PoolSnapshot, cls: PoolClass, ref: string, rec: Rec): string | undefined {
  const tagged = (r: Rec | undefined): string | undefined => {
    const ns = r?.other_config?.[TAG.namespace];
    const id = r?.other_config?.[TAG.instanceId];
    return ns !== undefined && id !== undefined ? `${ns}/${id}` : undefined;
  };
  const own = tagged(rec);
  if (own || cls === 'VM') return own;
  if (cls === 'VBD' || cls === 'VIF') return tagged(snap.records.VM.get(rec.VM));
  for (const vbdRef of rec.VBDs ?? []) {
    const viaVbd = tagged(snap.records.VM.get(snap.records.VBD.get(vbdRef)?.VM));
    if (viaVbd) return viaVbd;
  }
  for (const vm of snap.records.VM.values()) if (vm.suspend_VDI === ref) return tagged(vm);
  return undefined;
}

function census(before: PoolSnapshot, after: PoolSnapshot, ledger: Ledger, seen: Seen[]): Check {
  // Meant to exist: the clients' belief, or for an id without a final answer, the service's GET.
  const meant = new Map<string, InstanceRecord>();
  for (const s of seen)
    if (s.inst.belief === 'present' || (s.inst.belief === 'unknown' && s.status === 200))
      meant.set(`${s.inst.namespace}/${s.inst.id}`, s.inst);
  const expected = { ...before.counts };
  const perOwner = new Map<string, Counts>();
  for (const [key, inst] of meant) {
    const vm = after.vmsByOwner.get(key)?.[0]?.rec;
    const want = objectsOf(inst.body, vm?.power_state === 'Suspended');
    perOwner.set(key, want);
    for (const c of CLASSES) expected[c] += want[c];
  }
  const items: string[] = [];
  const extra = new Map<string, Counts>();
  const actual = new Map<string, Counts>();
  const zero = (): Counts => ({ VM: 0, VDI: 0, VBD: 0, VIF: 0 });
  for (const c of CLASSES) {
    const old = new Set([...before.records[c].values()].map((r) => r.uuid));
    const now = new Set<string>();
    for (const [ref, rec] of after.records[c]) {
      now.add(rec.uuid);
      if (old.has(rec.uuid)) continue;
      const owner = ownerOf(after, c, ref, rec);
      if (owner && meant.has(owner)) {
        const n = actual.get(owner) ?? zero();
        n[c]++;
        actual.set(owner, n);
      } else if (owner) {
        const n = extra.get(owner) ?? zero();
        n[c]++;
        extra.set(owner, n);
      } else {
        const role = rec.other_config?.[TAG.role];
        const label = rec.name_label ?? rec.device ?? rec.userdevice ?? '';
        items.push(`untagged new ${c} ${rec.uuid} '${label}'${role ? ` role=${role}` : ''}`);
      }
    }
    for (const rec of before.records[c].values())
      if (!now.has(rec.uuid))
        items.push(`${c} ${rec.uuid} '${rec.name_label ?? ''}' existed before and is gone`);
  }
  const fmt = (n: Counts): string => CLASSES.map((c) => `${c} ${n[c]}`).join(', ');
  for (const [owner, n] of extra) {
    items.push(`${owner} not meant to exist, holds ${fmt(n)} (${vmsOf(after, owner)})`);
  }
  for (const [owner, want] of perOwner) {
    const got = actual.get(owner) ?? zero();
    if (CLASSES.some((c) => got[c] !== want[c]))
      items.push(`${owner} holds ${fmt(got)}, its spawn body means ${fmt(want)}`);
  }
  const pass = CLASSES.every((c) => after.counts[c] === expected[c]);
  const diff = CLASSES.map(
    (c) => `${c} ${after.counts[c] - expected[c] >= 0 ? '+' : ''}${after.counts[c] - expected[c]}`,
  );
  return {
    name: 'pool census = before + what is meant to exist',
    pass: pass && items.length === 0,
    summary:
      `before ${formatCounts(before.counts)}; ${meant.size} instances meant to exist; ` +
      `expected ${formatCounts(expected)}; after ${formatCounts(after.counts)} (${diff.join(', ')})`,
    items: items.sort(),
  };
}

/** The VMs (templates included) tagged with an owner, as a short description. */
function vmsOf(snap: PoolSnapshot, owner: string): string {
  const found: string[] = [];
  for (const [ref, rec] of snap.records.VM)
    if (ownerOf(snap, 'VM', ref, rec) === owner)
      found.push(
        `VM ${rec.uuid} ${rec.power_state}${rec.is_a_template ? ' template' : ''} ` +
          `xcd_state=${rec.other_config?.[TAG.state]} '${rec.name_label}'`,
      );
  return found.length ? found.join('; ') : 'no VM';
}
