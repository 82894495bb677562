// The part of the driver's depth (src/driver/depth.ts) that the HTTP layer calls, as a
// structural type: snapshots, volumes, NICs, console, diagnostics and the event feed. Must
// follow DepthDriver's public methods; the shapes are the contract's generated schemas.
import type { Caller } from './auth';
import type { components } from './generated/openapi';

type S = components['schemas'];

export interface EventSubscription {
  backlog: S['LifecycleEvent'][];
  lost: boolean;
  close(): void;
}

export interface DepthPort {
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
  listNics(caller: Caller, id: string): S['NicAttachment'][];
  attachNic(caller: Caller, id: string, body: S['NicAttachRequest']): S['Operation'];
  detachNic(caller: Caller, id: string, device: string): S['Operation'] | null;
  console(caller: Caller, id: string): S['Console'];
  consoleLog(caller: Caller, id: string): Promise<S['ConsoleLog']>;
  diagnostics(caller: Caller, id: string): S['Diagnostics'];
  readonly events: {
    readonly lastId: string;
    subscribe(
      namespace: string,
      after: string | undefined,
      send: (e: S['LifecycleEvent']) => void,
    ): EventSubscription;
  };
}
