// The caller's instances as the REST contract shows them, answered from the mirror only (no XAPI
// round trip): an index from (namespace, instance id) to VM ref kept current by mirror change
// batches, a cache of Instance views invalidated by changes of the objects a view was built
// from, and listing filtered by namespace and power state. Never writes to XAPI.
import type { MirrorChange, MirrorView } from '../../xapi';
import type { VMRecord } from '../../xapi/datamodel.generated';
import { instanceNotFound } from '../errors';
import { parsePersisted } from '../operations';
import { TAG, ownerOf } from '../tags';
import { normalizePowerState, xapiPowerState } from '../power-states';
import { bootOf } from '../boot';
import { diskViews } from './disks';
import type { Instance } from '../types';
import { NULL_REF } from '../../xapi/ref';
import { MiB } from '../../xapi/units';

const key = (namespace: string, id: string): string => `${namespace}\u0000${id}`;

type VmRow = Pick<VMRecord, 'other_config' | 'is_a_template' | 'is_a_snapshot' | 'power_state'>;

/** Is this VM an instance the service made (not a template, snapshot or foreign VM)? */
function isInstance(vm: VmRow | undefined): boolean {
  return !!vm && !vm.is_a_template && !vm.is_a_snapshot && ownerOf(vm.other_config) !== undefined;
}

function isoDate(d: unknown): string | undefined {
  if (d instanceof Date && !Number.isNaN(d.getTime()) && d.getTime() > 0) return d.toISOString();
  if (typeof d === 'string' && d) {
    const t = Date.parse(d);
    if (!Number.isNaN(t) && t > 0) return new Date(t).toISOString();
  }
  return undefined;
}

export class InstanceIndex {
  /** instance key -> the VMs carrying its tags, in the order first seen; the first answers. A
   * key has more than one VM only when something outside the service copied one (or a past
   * fault left a duplicate): destroy removes them all. */
  private readonly refsByKey = new Map<string, string[]>();
  private readonly keyByRef = new Map<string, string>();
  /** namespace -> its instance keys, in the order first seen (listing order). */
  private readonly byNamespace = new Map<string, Set<string>>();
  /** VM ref -> XAPI power_state, for filtering lists without building views. */
  private readonly powerOf = new Map<string, string>();
  /** Operations persisted in instance tags: id -> VM ref and back. */
  private readonly refOfOp = new Map<string, string>();
  private readonly opOfRef = new Map<string, string>();
  private readonly cache = new Map<string, Instance>();
  /** ref of an object a cached view used -> the VM refs whose views used it. */
  private readonly usedBy = new Map<string, Set<string>>();
  /** VM ref -> the refs its cached view was built from (the reverse of usedBy). */
  private readonly uses = new Map<string, Set<string>>();
  /** VM ref -> when the mirror last changed it (updated_at). */
  private readonly changedAt = new Map<string, string>();
  /** The mirror's resync count the index was built at: a resync (XAPI restarted, refs changed)
   * rebuilds it from the mirror before the batch is applied. */
  private builtAt = -1;
  private readonly onChange = (batch: MirrorChange[]): void => this.apply(batch);

  constructor(
    private readonly mirror: MirrorView,
    private readonly resyncs: () => number = () => 0,
  ) {}

  start(): void {
    this.mirror.on('change', this.onChange);
    this.rebuild();
  }

  stop(): void {
    this.mirror.off('change', this.onChange);
  }

  /** Builds the index anew from the mirror (at start and after every resync). */
  rebuild(): void {
    this.builtAt = this.resyncs();
    this.refsByKey.clear();
    this.keyByRef.clear();
    this.byNamespace.clear();
    this.powerOf.clear();
    this.refOfOp.clear();
    this.opOfRef.clear();
    this.cache.clear();
    this.usedBy.clear();
    this.uses.clear();
    this.changedAt.clear();
    const rows = this.mirror.query('VM', {
      where: { [`other_config.${TAG.namespace}`]: { exists: true } },
      fields: ['other_config', 'is_a_template', 'is_a_snapshot', 'power_state'],
    });
    for (const row of rows) this.track(row.$ref, row);
  }

  private track(ref: string, vm: VmRow | undefined): void {
    const oldKey = this.keyByRef.get(ref);
    const owner = isInstance(vm) ? ownerOf(vm!.other_config) : undefined;
    const newKey = owner ? key(owner.namespace, owner.instanceId) : undefined;
    this.trackOperation(ref, owner ? vm!.other_config[TAG.operation] : undefined);
    if (newKey !== undefined) this.powerOf.set(ref, vm!.power_state);
    else this.powerOf.delete(ref);
    if (oldKey === newKey) return;
    if (oldKey !== undefined) {
      this.keyByRef.delete(ref);
      const refs = this.refsByKey.get(oldKey)?.filter((r) => r !== ref) ?? [];
      if (refs.length > 0) this.refsByKey.set(oldKey, refs);
      else {
        this.refsByKey.delete(oldKey);
        const ns = oldKey.slice(0, oldKey.indexOf('\u0000'));
        const members = this.byNamespace.get(ns);
        members?.delete(oldKey);
        if (members?.size === 0) this.byNamespace.delete(ns);
      }
    }
    if (newKey !== undefined) {
      this.keyByRef.set(ref, newKey);
      const refs = this.refsByKey.get(newKey);
      if (refs) refs.push(ref);
      else {
        this.refsByKey.set(newKey, [ref]);
        let members = this.byNamespace.get(owner!.namespace);
        if (!members) this.byNamespace.set(owner!.namespace, (members = new Set()));
        members.add(newKey);
      }
    }
  }

  /** Keeps operation id -> VM ref for the operations persisted in instance tags. */
  private trackOperation(ref: string, persisted: string | undefined): void {
    // The id leads the JSON the driver writes; anything else is parsed in full.
    const lead = persisted ? /^\{"id":("(?:[^"\\]|\\.)*")/.exec(persisted)?.[1] : undefined;
    const opId = lead !== undefined ? (JSON.parse(lead) as string) : parsePersisted(persisted)?.id;
    const old = this.opOfRef.get(ref);
    if (old === opId) return;
    if (old !== undefined) {
      this.opOfRef.delete(ref);
      if (this.refOfOp.get(old) === ref) this.refOfOp.delete(old);
    }
    if (opId !== undefined) {
      this.opOfRef.set(ref, opId);
      this.refOfOp.set(opId, ref);
    }
  }

  /** The VM whose xcd_operation tag holds this operation, if an instance of this namespace. */
  vmWithOperation(namespace: string, opId: string): (VMRecord & { $ref: string }) | undefined {
    this.current();
    const ref = this.refOfOp.get(opId);
    const k = ref ? this.keyByRef.get(ref) : undefined;
    if (!ref || !k || !k.startsWith(`${namespace}\u0000`)) return undefined;
    return this.mirror.get('VM', ref);
  }

  /** Rebuilds at once when the mirror has reloaded since the index was built (its change batch
   * may not have arrived yet): a read never answers from refs a XAPI restart replaced. */
  private current(): void {
    if (this.resyncs() !== this.builtAt) this.rebuild();
  }

  private apply(batch: MirrorChange[]): void {
    if (this.resyncs() !== this.builtAt) {
      this.rebuild();
      return;
    }
    const now = new Date().toISOString();
    for (const c of batch) {
      if (c.cls === 'VM') {
        this.track(c.ref, c.op === 'del' ? undefined : this.mirror.get('VM', c.ref));
        if (c.op !== 'del' && this.keyByRef.has(c.ref)) this.changedAt.set(c.ref, now);
        else this.changedAt.delete(c.ref);
        this.invalidate(c.ref);
      }
      const users = this.usedBy.get(c.ref);
      if (!users) continue;
      for (const vmRef of [...users]) {
        this.invalidate(vmRef);
        if (c.cls !== 'network' && c.cls !== 'SR' && c.cls !== 'host' && this.keyByRef.has(vmRef))
          this.changedAt.set(vmRef, now);
      }
    }
  }

  /** Drops a cached view and its links to the objects it was built from. */
  private invalidate(vmRef: string): void {
    this.cache.delete(vmRef);
    const used = this.uses.get(vmRef);
    if (!used) return;
    this.uses.delete(vmRef);
    for (const r of used) {
      const users = this.usedBy.get(r);
      users?.delete(vmRef);
      if (users?.size === 0) this.usedBy.delete(r);
    }
  }

  /** The VM ref of an instance of this namespace, or undefined. A miss asks the mirror itself
   * (a change batch may not have reached the index yet), so nothing acts on a stale miss. */
  refOf(namespace: string, id: string): string | undefined {
    return this.refsOf(namespace, id)[0];
  }

  /** Every VM carrying the instance's tags (more than one only for a duplicate), index first. */
  refsOf(namespace: string, id: string): string[] {
    this.current();
    const k = key(namespace, id);
    const known = this.refsByKey.get(k);
    if (known) return [...known];
    const rows = this.mirror.query('VM', {
      where: {
        [`other_config.${TAG.namespace}`]: namespace,
        [`other_config.${TAG.instanceId}`]: id,
        is_a_template: false,
        is_a_snapshot: false,
      },
      fields: ['other_config', 'is_a_template', 'is_a_snapshot', 'power_state'],
    });
    for (const row of rows) this.track(row.$ref, row);
    return [...(this.refsByKey.get(k) ?? [])];
  }

  /** The instance view, or 404 instance_not_found. */
  get(namespace: string, id: string): Instance {
    const ref = this.refOf(namespace, id);
    const view = ref ? this.viewOf(ref) : undefined;
    if (!view) throw instanceNotFound(id);
    return view;
  }

  /** The view of a VM ref (undefined when it is not an instance or is gone). */
  view(vmRef: string): Instance | undefined {
    this.current();
    return this.viewOf(vmRef);
  }

  /** view() for a read that has made sure the index is current (once, not once per view). */
  private viewOf(vmRef: string): Instance | undefined {
    const cached = this.cache.get(vmRef);
    if (cached) return cached;
    const vm = this.mirror.get('VM', vmRef);
    if (!vm || !isInstance(vm)) return undefined;
    const used = new Set<string>();
    const view = this.build(vm, used);
    this.cache.set(vmRef, view);
    this.uses.set(vmRef, used);
    for (const r of used) {
      let s = this.usedBy.get(r);
      if (!s) this.usedBy.set(r, (s = new Set()));
      s.add(vmRef);
    }
    return view;
  }

  /** The namespace's instances in the order the service first saw them, from the index only. */
  list(
    namespace: string,
    q: { power_state?: string; limit: number; offset: number },
  ): { items: Instance[]; total: number } {
    this.current();
    const members = this.byNamespace.get(namespace);
    if (!members) return { items: [], total: 0 };
    let wanted: string | undefined;
    if (q.power_state !== undefined) {
      wanted = xapiPowerState(q.power_state);
      if (!wanted) return { items: [], total: 0 };
    }
    const items: Instance[] = [];
    let total = 0;
    for (const k of members) {
      const ref = this.refsByKey.get(k)![0]!;
      if (wanted !== undefined && this.powerOf.get(ref) !== wanted) continue;
      if (total >= q.offset && items.length < q.limit) {
        const v = this.viewOf(ref);
        if (v) items.push(v);
      }
      total++;
    }
    return { items, total };
  }

  private build(vm: VMRecord & { $ref: string }, used: Set<string>): Instance {
    const m = this.mirror;
    const oc = vm.other_config;
    const owner = ownerOf(oc)!;
    const disks = diskViews(m, vm.VBDs, used);
    const nics: Instance['nics'] = [];
    for (const vifRef of vm.VIFs) {
      const vif = m.get('VIF', vifRef);
      used.add(vifRef);
      if (!vif) continue;
      const net = m.get('network', vif.network);
      if (net) used.add(vif.network);
      nics.push({
        device: vif.device,
        mac: vif.MAC,
        network: net?.uuid ?? '',
        ...(net ? { network_name: net.name_label } : {}),
      });
    }
    nics.sort((a, b) => Number(a.device) - Number(b.device));
    let host: Instance['host'] = null;
    if (vm.resident_on !== NULL_REF) {
      const h = m.get('host', vm.resident_on);
      used.add(vm.resident_on);
      if (h) host = { uuid: h.uuid, name: h.name_label };
    }
    // The metrics object changes often: read it only for VMs without the creation tag.
    let created = isoDate(oc[TAG.createdAt]);
    if (created === undefined) {
      const metrics = vm.metrics !== NULL_REF ? m.get('VM_metrics', vm.metrics) : undefined;
      if (metrics) used.add(vm.metrics);
      created = isoDate(metrics?.install_time) ?? new Date(0).toISOString();
    }
    const stateTag = oc[TAG.state];
    const state: Instance['state'] =
      stateTag === 'building' || stateTag === 'deleting' || stateTag === 'active'
        ? stateTag
        : 'error';
    const view: Instance = {
      id: owner.instanceId,
      name: vm.name_label,
      namespace: owner.namespace,
      uuid: vm.uuid,
      state,
      power_state: normalizePowerState(vm.power_state),
      xapi_power_state: vm.power_state,
      vcpus: Number(vm.VCPUs_at_startup),
      memory_mb: Math.round(Number(vm.memory_dynamic_max) / MiB),
      max_vcpus: Number(vm.VCPUs_max),
      max_memory_mb: Math.round(Number(vm.memory_static_max) / MiB),
      disks,
      nics,
      host,
      created_at: created,
      updated_at: this.changedAt.get(vm.$ref) ?? created,
    };
    const source = oc[TAG.source] ?? oc.base_template_name;
    if (source) view.template = source;
    const boot = bootOf(vm);
    view.vm_mode = boot.vmMode;
    if (boot.firmware) view.firmware = boot.firmware;
    if (boot.firmware === 'uefi') view.secure_boot = boot.secureBoot;
    return view;
  }
}
