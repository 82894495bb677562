// The message registry: maps wire names ('VM.start') to handlers, with their datamodel
// signature. Explicit definitions (defineMessage) win over the generic ones derived from the
// datamodel (generic.ts). It owns the handler contract (CallContext) but performs no dispatch,
// no unmarshalling and no wire encoding.
import { DATAMODEL, type MessageDef, type XapiClass } from '../../xapi/datamodel.generated';
import type { DiskStore } from './disk-store';
import type { Rec, Store } from './store';

export interface HostInfo {
  index: number; // 0 is the master
  address: string; // '127.0.0.1', '127.0.0.2', ...
  ref: string; // the host's ref in the store (changes on restart)
  uuid: string;
  online: boolean;
}

/** Pool-level state handlers may read (and the lifecycle rules may extend via `extra`). */
export interface SimContext {
  store: Store;
  /** Resolved SimulatorOptions (hosts, vms, user, password, timeScale ...). */
  options: {
    hosts: number;
    vms?: number;
    seed: 'default' | 'empty';
    user: string;
    password: string;
    authFailureDelayMs: number;
    /** Multiplies every ctx.work() duration (0 makes long operations instant). */
    timeScale: number;
    /** The simulated xapi's MAJOR.MINOR.PATCH (host.software_version.xapi_build). */
    xapiVersion: string;
  };
  /** Every host, master first (refs refreshed after a restart). */
  hosts: HostInfo[];
  /** The pool's ref, and the master host's ref. */
  poolRef(): string;
  masterRef(): string;
  /** VDI content, stored sparse on disk (PUT /import_raw_vdi, VDI.copy/clone, destroy). */
  disks: DiskStore;
  /** Free slot for the lifecycle rules' own pool-wide state. */
  extra: Rec;
}

export interface CallContext {
  store: Store;
  /** The calling session (ref 'OpaqueRef:NULL' and an empty record for session-less calls). */
  session: { ref: string; rec: Rec };
  /** Present when the call came as Async.<name>: the task running it. */
  task?: { ref: string };
  sim: SimContext;
  /** The sync wire name, e.g. 'VM.start'. */
  method: string;
  /** Where the call arrived: which host's listener, and whether through the Unix socket. */
  origin: { hostIndex: number; unix: boolean };
  /**
   * Spend simulated time (ms * timeScale). With a task, its progress moves linearly towards
   * `progressTo` (default 0.9) during the wait, and a cancelled task makes this throw
   * TASK_CANCELLED: call it at points where the operation may stop.
   */
  work(ms: number, progressTo?: number): Promise<void>;
}

/** args: the params after the session, unmarshalled by their datamodel types, in order;
 *  optional params the client left out are undefined. */
export type Handler = (ctx: CallContext, args: any[]) => unknown;

export interface MessageEntry {
  name: string;
  cls: XapiClass | undefined;
  def: MessageDef;
  handler: Handler;
  explicit: boolean;
}

const explicitMessages = new Map<string, MessageEntry>();
const genericMessages = new Map<string, MessageEntry>();

function signatureOf(
  name: string,
  def?: MessageDef,
): { cls: XapiClass | undefined; def: MessageDef } {
  const dot = name.indexOf('.');
  const cls = name.slice(0, dot) as XapiClass;
  const msg = name.slice(dot + 1);
  const known = DATAMODEL[cls]?.messages[msg];
  const sig = def ?? known;
  if (!sig) throw new Error(`registry: ${name} is not in the datamodel; pass its signature`);
  return { cls: DATAMODEL[cls] ? cls : undefined, def: sig };
}

/**
 * Define (or redefine) a message. `def` is needed only for messages absent from the datamodel
 * tables. Defining a name twice replaces the earlier handler.
 */
export function defineMessage(name: string, handler: Handler, def?: MessageDef): void {
  const sig = signatureOf(name, def);
  explicitMessages.set(name, { name, ...sig, handler, explicit: true });
}

/** Used by generic.ts for the messages derived from the datamodel. */
export function defineGenericMessage(name: string, handler: Handler, def?: MessageDef): void {
  const sig = signatureOf(name, def);
  genericMessages.set(name, { name, ...sig, handler, explicit: false });
}

export function lookupMessage(name: string): MessageEntry | undefined {
  return explicitMessages.get(name) ?? genericMessages.get(name);
}

export function hasExplicitMessage(name: string): boolean {
  return explicitMessages.has(name);
}

/** Every defined sync wire name (system.listMethods). */
export function listMessages(): string[] {
  const names = new Set<string>([...genericMessages.keys(), ...explicitMessages.keys()]);
  return [...names].sort();
}
