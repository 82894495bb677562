// One running simulated pool: the SimContext handlers see (store, options, hosts, VDI content),
// plus the machinery behind it (event hub, task manager, faults, restart epoch). It wires those
// parts together; it does not listen on sockets (wire/server.ts) nor define messages.
import { DiskStore } from './disk-store';
import { EventHub } from './events';
import type { Faults } from './faults';
import type { HostInfo, SimContext } from './registry';
import { NULL_REF, type Rec, type Store } from './store';
import { TaskManager, type TaskOptions } from './tasks';

export class SimRuntime implements SimContext {
  hosts: HostInfo[] = [];
  readonly disks: DiskStore;
  extra: Rec = {};
  readonly events: EventHub;
  readonly tasks: TaskManager;
  /** Bumped by restart(): work() of older calls stops. */
  epoch = 0;
  closed = false;

  constructor(
    readonly store: Store,
    readonly options: SimContext['options'],
    readonly faults: Faults,
    taskOptions: TaskOptions,
    maxTombstones = 20000,
  ) {
    this.disks = new DiskStore(store);
    this.events = new EventHub(store, maxTombstones);
    this.tasks = new TaskManager(store, taskOptions);
    this.extra.events = this.events;
    this.extra.tasks = this.tasks;
  }

  poolRef(): string {
    const first = this.store.all('pool').keys().next();
    return first.done ? NULL_REF : first.value;
  }

  masterRef(): string {
    const pool = this.store.find('pool', this.poolRef());
    return (pool?.master as string | undefined) ?? this.hosts[0]?.ref ?? NULL_REF;
  }

  /** Rebuild `hosts` from the store (master first) and give host i the address 127.0.0.(i+1). */
  refreshHosts(masterAddress: string): void {
    const master = this.masterRef();
    const refs = [...this.store.all('host').keys()];
    refs.sort((a, b) => (a === master ? -1 : b === master ? 1 : 0));
    const old = new Map(this.hosts.map((h) => [h.uuid, h]));
    this.hosts = refs.map((ref, index) => {
      const rec = this.store.get('host', ref);
      const address = index === 0 ? masterAddress : `127.0.0.${index + 1}`;
      if (rec.address !== address) this.store.update('host', ref, { address });
      const uuid = rec.uuid as string;
      return { index, address, ref, uuid, online: old.get(uuid)?.online ?? true };
    });
  }

  close(): void {
    this.closed = true;
    this.events.close();
    this.tasks.close();
    this.disks.close();
  }
}
