// ComputeDriver: the service's compute semantics over one XapiClient, as a facade of one line
// per method over the resource modules (instances, snapshots, devices, consoles, images), the
// read-only views (catalogue, host, events) and the operation runner. Namespaces are enforced
// below it: another namespace's instances and untagged VMs do not exist for a caller. No HTTP.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { XapiClient } from '../xapi';
import {
  Consoles,
  type ConsoleOrigin,
  type ConsoleProxyOptions,
  type ConsoleStats,
  type ConsoleType,
} from './consoles';
import type { Duplex } from 'node:stream';
import type { Readable } from 'node:stream';
import { ConfigDrives } from './config-drives';
import { Devices } from './devices';
import { DiskSnapshots } from './disk-snapshots';
import { Images, type UploadQuery } from './images';
import type { DownloadLimits } from './procedures/download';
import type { ImageBaseIn } from './procedures/disk';
import { Instances } from './instances';
import { Networks, type VlanOptions } from './networks';
import { Operations } from './operations';
import { Recovery } from './recovery';
import type { ReconcileReport } from './reconcile';
import { OperationRunner } from './runner';
import { Snapshots } from './snapshots';
import type { Caller, Instance, InstanceAction, Operation, Schema, SpawnRequest } from './types';
import * as catalogue from './views/catalogue';
import { EventFeed } from './views/events';
import { hostView } from './views/host';
import { Hosts } from './hosts';
import { InstanceIndex } from './views/instance-index';

export type { Caller } from './types';
export { ApiError, toApiError } from './errors';
export type { ReconcileReport } from './reconcile';

export interface ComputeDriverOptions {
  logger: Logger;
  /** This service's id, written as the owner of its work in flight (default: the host name).
   * Two services on one pool need two ids; a restart keeps its id to take its own work back. */
  serviceId?: string;
  /** How long this service's lease lasts unrenewed (default 30 s): another service takes over
   * its work in flight only after that. */
  leaseTtlMs?: number;
  /** How often reconcile sweeps the pool for what transient failures left (default 60 s). */
  sweepIntervalMs?: number;
  /** Longest start-up reconcile before the driver reports ready anyway (default 30 s); the pass
   * goes on in the background. */
  startupReconcileMs?: number;
  /** Operations queued or running per instance; more answer 429 (default 32). */
  queueLimit?: number;
  /** SR uuids whose untagged plain user disks any namespace may use as images and volumes
   * (ownership.ts); default none. */
  volumeSrs?: string[];
  /** URL prefixes an image import may download from (default none: every URL is refused). */
  imageUrlAllow?: string[];
  /** Bounds of an image download: redirects (5), timeout (30 s), size (64 GiB). */
  imageDownload?: DownloadLimits;
  /** The physical device and tag range of the VLAN networks NICs may ask for; default none (a
   * NIC's `vlan` answers 422 vlan_not_allowed). */
  vlans?: VlanOptions;
  /** Operations running at once across instances (default 16). */
  concurrency?: number;
  /** Operations kept per namespace; beyond it the oldest finished go (default 10,000). */
  operationHistory?: number;
  /** How long a finished operation stays answerable (default 24 h). */
  operationRetentionMs?: number;
  /** How long an operation waits for the mirror to show its outcome (default 10 s). */
  mirrorWaitMs?: number;
  /** The console proxy: TTL of a console handed out, handshake timeout, connection limits, VNC
   * listeners (console-proxy/proxy.ts). */
  consoles?: ConsoleProxyOptions;
}

/** The default service id: the host name (a restarted service takes its own work back). */
function defaultServiceId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9._:@-]/g, '-')
      .slice(0, 128) || 'xcd'
  );
}

export class ComputeDriver {
  /** The lifecycle event feed (views/events.ts). */
  readonly events: EventFeed;
  private readonly index: InstanceIndex;
  private readonly ops: Operations;
  private readonly runner: OperationRunner;
  private readonly recovery: Recovery;
  private readonly instances: Instances;
  private readonly snapshots: Snapshots;
  private readonly hosts: Hosts;
  private readonly devices: Devices;
  private readonly diskSnapshots: DiskSnapshots;
  private readonly configDrives: ConfigDrives;
  private readonly networkMaker: Networks;
  private readonly consoles: Consoles;
  private readonly images: Images;
  private started = false;
  private closed = false;

  constructor(
    private readonly xapi: XapiClient,
    opts: ComputeDriverOptions,
  ) {
    const serviceId = opts.serviceId ?? defaultServiceId();
    const volumeSrs = opts.volumeSrs ?? [];
    this.index = new InstanceIndex(xapi.mirror, () => xapi.resyncs);
    this.events = new EventFeed(xapi.mirror);
    this.ops = new Operations(xapi, opts.logger, {
      historyPerNamespace: opts.operationHistory,
      retentionMs: opts.operationRetentionMs,
    });
    this.ops.setTagLookup((ns, opId) => this.index.vmWithOperation(ns, opId));
    this.runner = new OperationRunner(xapi, this.ops, this.index, {
      logger: opts.logger,
      concurrency: opts.concurrency ?? 16,
      queueLimit: opts.queueLimit ?? 32,
      mirrorWaitMs: opts.mirrorWaitMs ?? 10_000,
    });
    this.recovery = new Recovery(xapi, this.ops, this.runner, {
      logger: opts.logger,
      serviceId,
      leaseTtlMs: opts.leaseTtlMs,
      sweepIntervalMs: opts.sweepIntervalMs ?? 60_000,
      startupReconcileMs: opts.startupReconcileMs ?? 30_000,
    });
    this.networkMaker = new Networks(xapi, opts.vlans, opts.mirrorWaitMs ?? 10_000);
    this.images = new Images(xapi, this.runner, {
      serviceId,
      urlAllow: opts.imageUrlAllow ?? [],
      ...(opts.imageDownload ? { download: opts.imageDownload } : {}),
    });
    const imageBase: ImageBaseIn = (ns, imageId, srRef, signal) =>
      this.images.baseIn(ns, imageId, srRef, signal);
    this.instances = new Instances(xapi, this.runner, {
      serviceId,
      volumeSrs,
      imageBase,
      networks: this.networkMaker,
    });
    this.snapshots = new Snapshots(xapi, this.runner);
    this.diskSnapshots = new DiskSnapshots(xapi, this.runner);
    this.configDrives = new ConfigDrives(xapi, this.runner);
    this.hosts = new Hosts(xapi, this.runner);
    this.devices = new Devices(
      xapi,
      this.runner,
      volumeSrs,
      this.networkMaker,
      imageBase,
      serviceId,
    );
    this.consoles = new Consoles(xapi, this.runner, opts.logger, opts.consoles);
  }

  /** Reads the operation journal, follows the mirror, then recovers (recovery.ts): resolves
   * once the start-up reconcile is over or has run startupReconcileMs. ready() is false until. */
  async start(): Promise<void> {
    await this.ops.load();
    this.index.start();
    this.events.start();
    await this.recovery.start();
    if (!this.closed) this.started = true;
  }

  /** The driver serves: started, not closing, and the mirror follows XAPI now. */
  ready(): boolean {
    return this.started && !this.closed && this.xapi.mirror.synced;
  }

  /** Stops following the mirror and waits (bounded) for running operations, the journal and a
   * reconcile pass under way; gives the lease back. Leaves XAPI open. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.index.stop();
    this.events.stop();
    await this.runner.close(timeoutMs);
    await this.ops.flush();
    await this.recovery.close();
    await this.consoles.close();
  }

  get serviceId(): string {
    return this.recovery.lease.serviceId;
  }
  get lastReconcile(): ReconcileReport | undefined {
    return this.recovery.lastReconcile;
  }
  reconcilePass(): Promise<void> {
    return this.recovery.runPass();
  }

  // ---- catalogue and host (views) ----
  host(): Schema<'Host'> {
    return hostView(this.xapi.mirror);
  }
  hostAction(caller: Caller, host: string, body: Schema<'HostAction'>): Operation {
    return this.hosts.action(caller, host, body);
  }
  templates(): Array<Schema<'Template'>> {
    return catalogue.templates(this.xapi.mirror);
  }
  networks(): Array<Schema<'Network'>> {
    return catalogue.networks(this.xapi.mirror);
  }
  srs(): Array<Schema<'SR'>> {
    return catalogue.srs(this.xapi.mirror);
  }
  createNetwork(
    caller: Caller,
    name: string,
    body: Schema<'NetworkCreateRequest'>,
  ): Promise<{ network: Schema<'Network'>; created: boolean }> {
    return this.networkMaker.create(caller, name, body);
  }
  deleteNetwork(caller: Caller, name: string): Promise<void> {
    return this.networkMaker.remove(caller, name);
  }

  // ---- instances ----
  listInstances(
    caller: Caller,
    q: { power_state?: string; limit: number; offset: number },
  ): { items: Instance[]; total: number } {
    return this.instances.list(caller, q);
  }
  getInstance(caller: Caller, id: string): Instance {
    return this.instances.get(caller, id);
  }
  spawn(
    caller: Caller,
    id: string,
    body: SpawnRequest,
  ): { operation: Operation; replayed: boolean } {
    return this.instances.spawn(caller, id, body);
  }
  destroy(caller: Caller, id: string, opts: { keep_disks?: boolean }): Operation | null {
    return this.instances.destroy(caller, id, opts);
  }
  action(caller: Caller, id: string, body: InstanceAction): Operation {
    return this.instances.action(caller, id, body);
  }

  // ---- snapshots ----
  listSnapshots(caller: Caller, id: string): Array<Schema<'Snapshot'>> {
    return this.snapshots.list(caller, id);
  }
  getSnapshot(caller: Caller, id: string, snapshotId: string): Schema<'Snapshot'> {
    return this.snapshots.get(caller, id, snapshotId);
  }
  createSnapshot(
    caller: Caller,
    id: string,
    snapshotId: string,
    body: Schema<'SnapshotRequest'>,
  ): Operation {
    return this.snapshots.create(caller, id, snapshotId, body);
  }
  revertSnapshot(
    caller: Caller,
    id: string,
    snapshotId: string,
    body: Schema<'RevertRequest'>,
  ): Operation {
    return this.snapshots.revert(caller, id, snapshotId, body);
  }
  deleteSnapshot(caller: Caller, id: string, snapshotId: string): Operation | null {
    return this.snapshots.delete(caller, id, snapshotId);
  }

  // ---- devices ----
  listVolumes(caller: Caller, id: string): Array<Schema<'Volume'>> {
    return this.devices.listVolumes(caller, id);
  }
  attachVolume(
    caller: Caller,
    id: string,
    vdiUuid: string,
    body: Schema<'VolumeAttachRequest'>,
  ): Operation {
    return this.devices.attachVolume(caller, id, vdiUuid, body);
  }
  detachVolume(caller: Caller, id: string, vdiUuid: string): Operation | null {
    return this.devices.detachVolume(caller, id, vdiUuid);
  }
  addDisk(caller: Caller, id: string, device: string, body: Schema<'DiskAddRequest'>): Operation {
    return this.devices.addDisk(caller, id, device, body);
  }
  removeDisk(caller: Caller, id: string, device: string): Operation | null {
    return this.devices.removeDisk(caller, id, device);
  }
  listNics(caller: Caller, id: string): Array<Schema<'NicAttachment'>> {
    return this.devices.listNics(caller, id);
  }
  attachNic(caller: Caller, id: string, body: Schema<'NicAttachRequest'>): Operation {
    return this.devices.attachNic(caller, id, body);
  }
  detachNic(caller: Caller, id: string, device: string): Operation | null {
    return this.devices.detachNic(caller, id, device);
  }

  // ---- config drive ----
  updateConfigDrive(caller: Caller, id: string, body: Schema<'ConfigDriveRequest'>): Operation {
    return this.configDrives.update(caller, id, body);
  }

  // ---- disk snapshots ----
  listDiskSnapshots(caller: Caller, id: string, device: string): Array<Schema<'DiskSnapshot'>> {
    return this.diskSnapshots.list(caller, id, device);
  }
  createDiskSnapshot(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
    body: Schema<'DiskSnapshotRequest'>,
  ): Operation {
    return this.diskSnapshots.create(caller, id, device, snapshotId, body);
  }
  revertDiskSnapshot(caller: Caller, id: string, device: string, snapshotId: string): Operation {
    return this.diskSnapshots.revert(caller, id, device, snapshotId);
  }
  deleteDiskSnapshot(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
  ): Operation | null {
    return this.diskSnapshots.delete(caller, id, device, snapshotId);
  }

  // ---- consoles ----
  console(
    caller: Caller,
    id: string,
    type: ConsoleType,
    origin: ConsoleOrigin,
  ): Promise<Schema<'Console'>> {
    return this.consoles.console(caller, id, type, origin);
  }
  claimConsole(token: string, via: 'tunnel' | 'websocket'): { attach(client: Duplex): void } {
    return this.consoles.claimConsole(token, via);
  }
  hasConsolePage(token: string): boolean {
    return this.consoles.hasConsolePage(token);
  }
  openConsoles(instance?: { namespace: string; instanceId: string }): number {
    return this.consoles.openConsoles(instance);
  }
  consoleStats(): ConsoleStats {
    return this.consoles.consoleStats();
  }
  consoleLog(caller: Caller, id: string): Promise<Schema<'ConsoleLog'>> {
    return this.consoles.log(caller, id);
  }
  diagnostics(caller: Caller, id: string): Schema<'Diagnostics'> {
    return this.consoles.diagnostics(caller, id);
  }

  // ---- images ----
  listImages(
    caller: Caller,
    page: { limit: number; offset: number },
  ): { items: Array<Schema<'Image'>>; total: number } {
    return this.images.list(caller, page);
  }
  getImage(caller: Caller, id: string): Schema<'Image'> {
    return this.images.get(caller, id);
  }
  uploadImage(
    caller: Caller,
    id: string,
    q: UploadQuery,
    body: Readable,
    length?: number,
  ): Operation {
    return this.images.upload(caller, id, q, body, length);
  }
  importImageFromUrl(caller: Caller, id: string, body: Schema<'ImageImportRequest'>): Operation {
    return this.images.importUrl(caller, id, body);
  }
  setImagePublic(caller: Caller, id: string, isPublic: boolean): Promise<Schema<'Image'>> {
    return this.images.setPublic(caller, id, isPublic);
  }
  deleteImage(caller: Caller, id: string): Promise<void> {
    return this.images.delete(caller, id);
  }
  exportImage(
    caller: Caller,
    id: string,
    format: Schema<'ImageFormat'>,
  ): Promise<{ stream: Readable; length?: number }> {
    return this.images.exportFile(caller, id, format);
  }
  exportSnapshotDisk(
    caller: Caller,
    id: string,
    snapshotId: string,
    device: string,
    format: Schema<'ImageFormat'>,
  ): Promise<{ stream: Readable; length?: number }> {
    return this.images.exportVdi(this.snapshots.diskVdi(caller, id, snapshotId, device), format);
  }
  exportDiskSnapshot(
    caller: Caller,
    id: string,
    device: string,
    snapshotId: string,
    format: Schema<'ImageFormat'>,
  ): Promise<{ stream: Readable; length?: number }> {
    return this.images.exportVdi(this.diskSnapshots.vdi(caller, id, device, snapshotId), format);
  }

  // ---- operations ----
  instanceOperations(caller: Caller, id: string, status?: Operation['status']): Operation[] {
    return this.runner.instanceOperations(caller, id, status);
  }
  getOperation(caller: Caller, opId: string): Operation {
    return this.runner.operation(caller, opId);
  }
  cancelOperation(caller: Caller, opId: string): Operation {
    return this.runner.cancel(caller, opId);
  }
  waitOperation(caller: Caller, opId: string, timeoutMs: number): Promise<Operation> {
    return this.runner.wait(caller, opId, timeoutMs);
  }
  committed(caller: Caller, opId: string): Promise<void> {
    return this.runner.committed(caller, opId);
  }
}
