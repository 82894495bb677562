// The lifecycle event feed: instance events (created, started, stopped, paused, resumed,
// suspended, deleted, migrated) derived from the mirror's VM change batches by comparing each
// instance VM with what was last seen, kept per namespace in a bounded ring so a client can
// resume after an id, and handed to subscribers of that namespace. Event ids count per
// namespace: they reveal nothing of another namespace's activity. Never calls XAPI.
import type { MirrorChange, MirrorView } from '../../xapi';
import { normalizePowerState } from '../power-states';
import { TAG, ownerOf } from '../tags';
import type { Schema } from '../types';
import { NULL_REF } from '../../xapi/ref';

export type LifecycleEvent = Schema<'LifecycleEvent'>;
type EventType = LifecycleEvent['type'];

interface Seen {
  namespace: string;
  instanceId: string;
  power: string;
  /** The host uuid it runs on ('' for none). */
  host: string;
  /** Announced as created (it reached 'active' or was known when the feed started). */
  announced: boolean;
}

/** One stored event: the namespace stays server-side. */
interface Stored {
  seq: number;
  event: LifecycleEvent;
}

/** A namespace's events: its own id sequence and ring. */
interface NamespaceLog {
  /** The id of its newest event (the feed's base before the first). */
  seq: number;
  /** Ids at or below it are unknown here: before this feed started, or dropped from the ring. */
  floor: number;
  ring: Stored[];
}

export interface Subscription {
  /** Events after `after` that were kept, in order; `lost` when some may be missing. */
  backlog: LifecycleEvent[];
  lost: boolean;
  close(): void;
}

const POWER_EVENT: Record<string, Record<string, EventType>> = {
  Halted: { Running: 'started', Paused: 'started' },
  Running: { Paused: 'paused', Suspended: 'suspended', Halted: 'stopped' },
  Paused: { Running: 'resumed', Halted: 'stopped', Suspended: 'suspended' },
  Suspended: { Running: 'resumed', Paused: 'resumed', Halted: 'stopped' },
};

export class EventFeed {
  private readonly seen = new Map<string, Seen>();
  private readonly logs = new Map<string, NamespaceLog>();
  private readonly listeners = new Set<{ namespace: string; send: (e: LifecycleEvent) => void }>();
  /** Where every namespace's ids start in this run. */
  private readonly base: number;
  private readonly onChange = (batch: MirrorChange[]): void => this.apply(batch);
  private started = false;

  /** `capacity`: events kept per namespace. */
  constructor(
    private readonly mirror: MirrorView,
    private readonly capacity = 5_000,
  ) {
    // Ids grow across restarts of the service (microseconds at start), so an id from a previous
    // run is always below this run's base and its reader is told events were lost.
    this.base = Date.now() * 1000;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const vm of this.mirror.query('VM', {
      where: {
        [`other_config.${TAG.namespace}`]: { exists: true },
        is_a_snapshot: false,
        is_a_template: false,
      },
      fields: ['other_config', 'power_state', 'resident_on', 'uuid'],
    })) {
      const owner = ownerOf(vm.other_config);
      if (!owner) continue;
      this.seen.set(vm.uuid, {
        namespace: owner.namespace,
        instanceId: owner.instanceId,
        power: vm.power_state,
        host: this.hostUuid(vm.resident_on),
        announced: vm.other_config[TAG.state] !== 'building',
      });
    }
    this.mirror.on('change', this.onChange);
  }

  stop(): void {
    this.mirror.off('change', this.onChange);
    this.started = false;
    this.listeners.clear();
  }

  /**
   * Where a reader told that events were lost resumes from: the start of this feed. Every kept
   * event of every namespace is after it, and it says nothing of any namespace's activity.
   */
  get lastId(): string {
    return String(this.base);
  }

  /**
   * Subscribes a namespace's reader. With `after` (a Last-Event-ID) the backlog holds the
   * namespace's kept events after it; `lost` says some may be missing (too old, from a previous
   * run, or an id this namespace never had, in which case the backlog holds every kept event).
   */
  subscribe(
    namespace: string,
    after: string | undefined,
    send: (e: LifecycleEvent) => void,
  ): Subscription {
    let backlog: LifecycleEvent[] = [];
    let lost = false;
    if (after !== undefined && /^\d+$/.test(after)) {
      const log = this.logs.get(namespace) ?? { seq: this.base, floor: this.base, ring: [] };
      const from = Number(after);
      lost = from < log.floor || from > log.seq;
      backlog = log.ring.filter((s) => lost || s.seq > from).map((s) => s.event);
    }
    const listener = { namespace, send };
    this.listeners.add(listener);
    return { backlog, lost, close: () => this.listeners.delete(listener) };
  }

  private apply(batch: MirrorChange[]): void {
    for (const c of batch) if (c.cls === 'VM') this.vmChanged(c);
  }

  /** VMs are known by uuid: a XAPI restart gives every VM a new ref (its old ref is deleted,
   * the new one added, in one batch), which is no event. */
  private vmChanged(c: MirrorChange): void {
    const before = this.seen.get(c.uuid);
    if (c.op === 'del' && this.mirror.getByUuid('VM', c.uuid)) return; // the same VM, new ref
    const vm = c.op === 'del' ? undefined : this.mirror.get('VM', c.ref);
    const owner =
      vm && !vm.is_a_snapshot && !vm.is_a_template ? ownerOf(vm.other_config) : undefined;
    if (!vm || !owner) {
      if (before) {
        this.seen.delete(c.uuid);
        if (before.announced) this.emit(before, 'deleted', 'Halted', '');
      }
      return;
    }
    const host = this.hostUuid(vm.resident_on);
    const state = vm.other_config[TAG.state];
    const now: Seen = before ?? {
      namespace: owner.namespace,
      instanceId: owner.instanceId,
      power: vm.power_state,
      host,
      announced: false,
    };
    this.seen.set(c.uuid, now);
    if (!now.announced) {
      // A spawn is announced once it is built; its start then follows as 'started'.
      if (state === 'building') {
        now.power = vm.power_state;
        now.host = host;
        return;
      }
      now.announced = true;
      this.emit(now, 'created', 'Halted', '');
      now.power = 'Halted';
    }
    const type = POWER_EVENT[now.power]?.[vm.power_state];
    const movedWhileUp =
      now.power === vm.power_state &&
      (vm.power_state === 'Running' || vm.power_state === 'Paused') &&
      now.host !== '' &&
      host !== '' &&
      now.host !== host;
    if (type) this.emit(now, type, vm.power_state, host);
    else if (movedWhileUp) this.emit(now, 'migrated', vm.power_state, host, now.host);
    now.power = vm.power_state;
    now.host = host;
  }

  /** A host's uuid ('' for none): refs change when XAPI restarts, uuids do not. */
  private hostUuid(ref: string): string {
    if (!ref || ref === NULL_REF) return '';
    return this.mirror.get('host', ref)?.uuid ?? '';
  }

  private hostView(uuid: string): LifecycleEvent['host'] {
    if (!uuid) return null;
    const h = this.mirror.getByUuid('host', uuid);
    return h ? { uuid: h.uuid, name: h.name_label } : null;
  }

  private emit(
    who: Seen,
    type: EventType,
    power: string,
    hostUuid: string,
    fromHostUuid?: string,
  ): void {
    let log = this.logs.get(who.namespace);
    if (!log) this.logs.set(who.namespace, (log = { seq: this.base, floor: this.base, ring: [] }));
    log.seq += 1;
    const event: LifecycleEvent = {
      id: String(log.seq),
      type,
      instance_id: who.instanceId,
      at: new Date().toISOString(),
      power_state: normalizePowerState(power),
      host: this.hostView(hostUuid),
      ...(fromHostUuid !== undefined ? { from_host: this.hostView(fromHostUuid) } : {}),
    };
    log.ring.push({ seq: log.seq, event });
    if (log.ring.length > this.capacity) log.floor = log.ring.shift()!.seq;
    for (const l of this.listeners) if (l.namespace === who.namespace) l.send(event);
  }
}
