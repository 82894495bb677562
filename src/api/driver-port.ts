// The part of the ComputeDriver (src/driver) that the HTTP layer calls, as a structural type so
// the routes depend on behaviour, not on the class. Must follow the driver's public methods; the
// shapes are the contract's generated schemas.
import type { Duplex, Readable } from 'node:stream';
import type { Caller } from './auth';
import type { components } from '../contract/openapi.generated';

type S = components['schemas'];

export interface EventSubscription {
  backlog: S['LifecycleEvent'][];
  lost: boolean;
  close(): void;
}

export interface ServiceDriver {
  ready(): boolean;
  host(): S['Host'];
  hostAction(caller: Caller, host: string, body: S['HostAction']): S['Operation'];
  templates(): S['Template'][];
  networks(): S['Network'][];
  srs(): S['SR'][];
  createNetwork(
    caller: Caller,
    name: string,
    body: S['NetworkCreateRequest'],
  ): Promise<{ network: S['Network']; created: boolean }>;
  deleteNetwork(caller: Caller, name: string): Promise<void>;
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
  instanceOperations(caller: Caller, id: string, status?: S['OperationStatus']): S['Operation'][];
  getOperation(caller: Caller, opId: string): S['Operation'];
  cancelOperation(caller: Caller, opId: string): S['Operation'];
  waitOperation(caller: Caller, opId: string, timeoutMs: number): Promise<S['Operation']>;
  /** Resolves once the operation's record is durable (an id handed out survives a restart). */
  committed(caller: Caller, opId: string): Promise<void>;
  // snapshots, devices (volumes, NICs), consoles, and the lifecycle event feed

  listSnapshots(caller: Caller, id: string): S['Snapshot'][];
  getSnapshot(caller: Caller, id: string, snapshotId: string): S['Snapshot'];
  createSnapshot(
    caller: Caller,
    id: string,
    snapshotId: string,
    body: S['SnapshotRequest'],
  ): S['Operation'];
  revertSnapshot(
    caller: Caller,
    id: string,
    snapshotId: string,
    body: S['RevertRequest'],
  ): S['Operation'];
  deleteSnapshot(caller: Caller, id: string, snapshotId: string): S['Operation'] | null;
  listVolumes(caller: Caller, id: string): S['Volume'][];
  attachVolume(
    caller: Caller,
    id: string,
    vdiUuid: string,
    body: S['VolumeAttachRequest'],
  ): S['Operation'];
  detachVolume(caller: Caller, id: string, vdiUuid: string): S['Operation'] | null;
  addDisk(caller: Caller, id: string, device: string, body: S['DiskAddRequest']): S['Operation'];
  removeDisk(caller: Caller, id: string, device: string): S['Operation'] | null;
  listNics(caller: Caller, id: string): S['NicAttachment'][];
  attachNic(caller: Caller, id: string, body: S['NicAttachRequest']): S['Operation'];
  detachNic(caller: Caller, id: string, device: string): S['Operation'] | null;
  updateConfigDrive(caller: Caller, id: string, body: S['ConfigDriveRequest']): S['Operation'];
  listDiskSnapshots(caller: Caller, id: string, device: string): S['DiskSnapshot'][];
  createDiskSnapshot(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
    body: S['DiskSnapshotRequest'],
  ): S['Operation'];
  revertDiskSnapshot(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
  ): S['Operation'];
  deleteDiskSnapshot(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
  ): S['Operation'] | null;
  console(
    caller: Caller,
    id: string,
    type: NonNullable<S['Console']['type']>,
    origin: { host: string; port: number; secure: boolean },
  ): Promise<S['Console']>;
  /** Spends a console token of the tunnel or WebSocket form (throws the refusal before the
   * protocol switch); attach() then speaks RFB on the client's stream. */
  claimConsole(token: string, via: 'tunnel' | 'websocket'): { attach(client: Duplex): void };
  hasConsolePage(token: string): boolean;
  consoleStats(): {
    open: Record<string, number>;
    outcomes: Array<{ kind: string; outcome: string; count: number }>;
    pending: number;
  };
  consoleLog(caller: Caller, id: string): Promise<S['ConsoleLog']>;
  diagnostics(caller: Caller, id: string): S['Diagnostics'];
  listImages(
    caller: Caller,
    page: { limit: number; offset: number },
  ): { items: S['Image'][]; total: number };
  getImage(caller: Caller, id: string): S['Image'];
  uploadImage(
    caller: Caller,
    id: string,
    q: { format?: S['ImageFormat']; name?: string; sr?: string; checksum?: string },
    body: Readable,
    length?: number,
  ): S['Operation'];
  importImageFromUrl(caller: Caller, id: string, body: S['ImageImportRequest']): S['Operation'];
  setImagePublic(caller: Caller, id: string, isPublic: boolean): Promise<S['Image']>;
  deleteImage(caller: Caller, id: string): Promise<void>;
  exportImage(
    caller: Caller,
    id: string,
    format: S['ImageFormat'],
  ): Promise<{ stream: Readable; length?: number }>;
  exportSnapshotDisk(
    caller: Caller,
    id: string,
    snapshotId: string,
    device: string,
    format: S['ImageFormat'],
  ): Promise<{ stream: Readable; length?: number }>;
  exportDiskSnapshot(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
    format: S['ImageFormat'],
  ): Promise<{ stream: Readable; length?: number }>;
  readonly events: {
    readonly lastId: string;
    subscribe(
      namespace: string,
      after: string | undefined,
      send: (e: S['LifecycleEvent']) => void,
    ): EventSubscription;
  };
}
