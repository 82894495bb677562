// The part of the ComputeDriver (src/driver) that the HTTP layer calls, as a structural type so
// the routes depend on behaviour, not on the class. Must follow the driver's public methods; the
// shapes are the contract's generated schemas.
import type { Caller } from './auth';
import type { DepthPort } from './depth-port';
import type { components } from './generated/openapi';

type S = components['schemas'];

export interface ServiceDriver {
  ready(): boolean;
  host(): S['Host'];
  templates(): S['Template'][];
  networks(): S['Network'][];
  srs(): S['SR'][];
  listInstances(
    caller: Caller,
    q: { power_state?: S['PowerState']; limit: number; offset: number },
  ): { items: S['Instance'][]; total: number };
  getInstance(caller: Caller, id: string): S['Instance'];
  spawn(
    caller: Caller,
    id: string,
    body: S['SpawnRequest'],
  ): { operation: S['Operation']; replayed: boolean };
  destroy(caller: Caller, id: string, opts: { keep_disks?: boolean }): S['Operation'] | null;
  action(caller: Caller, id: string, body: S['InstanceAction']): S['Operation'];
  getOperation(caller: Caller, opId: string): S['Operation'];
  cancelOperation(caller: Caller, opId: string): S['Operation'];
  waitOperation(caller: Caller, opId: string, timeoutMs: number): Promise<S['Operation']>;
  /** Resolves once the operation's record is durable (an id handed out survives a restart). */
  committed(caller: Caller, opId: string): Promise<void>;
  /** Snapshots, volumes, NICs, console, diagnostics, events (depth-port.ts). */
  readonly depth: DepthPort;
}
