// Placeholder for the seeded pools (owned by the lifecycle engineer, who replaces this file):
// seedPool fills an empty store with a pool, its hosts and, for the default seed, a small
// realistic topology. It must not start servers or define messages.
import { formatDateTime, type Store } from './store';

export interface SeedOptions {
  hosts: number;
  vms?: number;
  seed: 'default' | 'empty';
}

export function seedPool(store: Store, opts: SeedOptions): void {
  const hostRefs: string[] = [];
  for (let i = 0; i < Math.max(1, opts.hosts); i++) {
    const metricsRef = store.create('host_metrics', {
      memory_total: 68719476736,
      memory_free: 60000000000,
      live: true,
      last_updated: formatDateTime(),
    });
    hostRefs.push(
      store.create('host', {
        name_label: `xcp-host-${i + 1}`,
        hostname: `xcp-host-${i + 1}`,
        address: `127.0.0.${i + 1}`,
        enabled: true,
        metrics: metricsRef,
        API_version_major: 2,
        API_version_minor: 21,
      }),
    );
  }
  store.create('pool', { name_label: 'sim-pool', master: hostRefs[0] });
  for (let i = 0; i < (opts.vms ?? 0); i++) {
    store.create('VM', { name_label: `vm-${i}`, power_state: 'Halted', resident_on: 'OpaqueRef:NULL' });
  }
}
