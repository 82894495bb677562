// The typed REST client of the service (axios + the contract's generated types), used by the CLI
// and by integrations written in TypeScript: one method per route, grouped by the contract's
// tags (catalogue, instances, images, snapshots, devices, disk-snapshots, config-drive, consoles,
// operations, events). Errors become XcdApiError carrying the problem. Knows nothing of XAPI or
// of the driver; speaks only HTTP.
import type { Readable } from 'node:stream';
import { lifecycleEvents, type LifecycleStreamOptions } from './events';
import {
  Http,
  XcdApiError,
  type ClientOptions,
  type Instance,
  type Operation,
  type Schemas,
  type WaitOptions,
} from './http';

export { parseSse, type LifecycleStreamOptions } from './events';
export {
  XcdApiError,
  toClientError,
  type ClientOptions,
  type Instance,
  type Operation,
  type Problem,
  type Schemas,
  type WaitOptions,
} from './http';

const enc = encodeURIComponent;
const inst = (id: string): string => `/v1/instances/${enc(id)}`;
const img = (id: string): string => `/v1/images/${enc(id)}`;
const diskSnap = (id: string, device: string, snapshotId: string): string =>
  `${inst(id)}/disks/${enc(device)}/snapshots/${enc(snapshotId)}`;

export interface ImageUploadOptions extends WaitOptions {
  format: Schemas['ImageFormat'];
  name?: string;
  sr?: string;
  /** `md5:<hex>`, `sha256:<hex>` or `sha512:<hex>`. */
  checksum?: string;
}

export class XcdClient {
  private readonly http: Http;

  constructor(private readonly opts: ClientOptions) {
    this.http = new Http(opts);
  }

  // ---- catalogue and host ----
  host(): Promise<Schemas['Host']> {
    return this.http.send('get', '/v1/host');
  }
  /** POST /v1/hosts/{host}/actions (admin): maintenance of one host, as an operation. */
  hostAction(
    host: string,
    action: Schemas['HostAction']['action'],
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('post', `/v1/hosts/${enc(host)}/actions`, { action }, opts);
  }
  templates(): Promise<Schemas['Template'][]> {
    return this.http.items('/v1/templates');
  }
  networks(): Promise<Schemas['Network'][]> {
    return this.http.items('/v1/networks');
  }
  /** PUT /v1/networks/{name} (admin): the service's VLAN network of that name, made if need be. */
  createNetwork(name: string, body: Schemas['NetworkCreateRequest']): Promise<Schemas['Network']> {
    return this.http.send('put', `/v1/networks/${enc(name)}`, body);
  }
  /** DELETE /v1/networks/{name} (admin): removes the service's VLAN network once no NIC is on it. */
  async deleteNetwork(name: string): Promise<void> {
    await this.http.send('delete', `/v1/networks/${enc(name)}`);
  }
  srs(): Promise<Schemas['SR'][]> {
    return this.http.items('/v1/srs');
  }

  // ---- instances ----
  listInstances(
    q: { power_state?: Schemas['PowerState']; limit?: number; offset?: number } = {},
  ): Promise<Schemas['InstancePage']> {
    return this.http.send('get', '/v1/instances', undefined, {}, q);
  }
  getInstance(id: string): Promise<Instance> {
    return this.http.send('get', inst(id));
  }
  spawn(id: string, body: Schemas['SpawnRequest'], opts: WaitOptions = {}): Promise<Operation> {
    return this.http.send('put', inst(id), body, opts);
  }
  /** The destroy's operation, or null when the instance was already gone (204). */
  destroy(
    id: string,
    opts: WaitOptions & { keep_disks?: boolean } = {},
  ): Promise<Operation | null> {
    const q = opts.keep_disks ? '?keep_disks=true' : '';
    return this.http.send('delete', `${inst(id)}${q}`, undefined, opts);
  }
  action(id: string, body: Schemas['InstanceAction'], opts: WaitOptions = {}): Promise<Operation> {
    return this.http.send('post', `${inst(id)}/actions`, body, opts);
  }

  // ---- images ----
  listImages(q: { limit?: number; offset?: number } = {}): Promise<Schemas['ImagePage']> {
    return this.http.send('get', '/v1/images', undefined, {}, q);
  }
  getImage(id: string): Promise<Schemas['Image']> {
    return this.http.send('get', img(id));
  }
  /** Uploads an image's bytes, streamed from `body` (`length` bytes: a file's size). */
  uploadImage(
    id: string,
    body: Readable,
    length: number | undefined,
    o: ImageUploadOptions,
  ): Promise<Operation> {
    const { wait, ...query } = o;
    return this.http.putStream(img(id), body, length, wait !== undefined ? { wait } : {}, query);
  }
  /** Has the service download the image from an (allow-listed) URL. */
  importImage(
    id: string,
    body: Schemas['ImageImportRequest'],
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('put', img(id), body, opts);
  }
  setImagePublic(id: string, isPublic: boolean): Promise<Schemas['Image']> {
    return this.http.send('patch', img(id), { public: isPublic });
  }
  /** null: the image is gone (204), whether or not it was there. */
  deleteImage(id: string): Promise<null> {
    return this.http.send('delete', img(id));
  }
  /** The image's bytes in `format` (default raw), streamed. */
  downloadImage(
    id: string,
    format?: Schemas['ImageFormat'],
  ): Promise<{ stream: Readable; length?: number }> {
    return this.http.getStream(`${img(id)}/file`, format ? { format } : {});
  }
  /** A snapshot's disk in `format` (default raw), streamed. */
  downloadSnapshotDisk(
    id: string,
    snapshotId: string,
    device: string,
    format?: Schemas['ImageFormat'],
  ): Promise<{ stream: Readable; length?: number }> {
    return this.http.getStream(
      `${inst(id)}/snapshots/${enc(snapshotId)}/disks/${enc(device)}/file`,
      format ? { format } : {},
    );
  }

  // ---- snapshots ----
  listSnapshots(id: string): Promise<Schemas['Snapshot'][]> {
    return this.http.items(`${inst(id)}/snapshots`);
  }
  getSnapshot(id: string, snapshotId: string): Promise<Schemas['Snapshot']> {
    return this.http.send('get', `${inst(id)}/snapshots/${enc(snapshotId)}`);
  }
  createSnapshot(
    id: string,
    snapshotId: string,
    body: Schemas['SnapshotRequest'] = {},
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('put', `${inst(id)}/snapshots/${enc(snapshotId)}`, body, opts);
  }
  revertSnapshot(
    id: string,
    snapshotId: string,
    body: Schemas['RevertRequest'] = {},
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('post', `${inst(id)}/snapshots/${enc(snapshotId)}/revert`, body, opts);
  }
  /** null when the snapshot was already gone (204). */
  deleteSnapshot(
    id: string,
    snapshotId: string,
    opts: WaitOptions = {},
  ): Promise<Operation | null> {
    return this.http.send('delete', `${inst(id)}/snapshots/${enc(snapshotId)}`, undefined, opts);
  }

  // ---- devices ----
  listVolumes(id: string): Promise<Schemas['Volume'][]> {
    return this.http.items(`${inst(id)}/volumes`);
  }
  /** PUT .../volumes/{volumeId}: a VDI by uuid, or with `body.connection` (Cinder's
   * connection_info) an iSCSI LUN attached as volume `volumeId`. */
  attachVolume(
    id: string,
    volumeId: string,
    body: Schemas['VolumeAttachRequest'] = {},
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('put', `${inst(id)}/volumes/${enc(volumeId)}`, body, opts);
  }
  /** Detaches volume `volumeId` (and lets an iSCSI target no longer used go); null: not attached. */
  detachVolume(id: string, volumeId: string, opts: WaitOptions = {}): Promise<Operation | null> {
    return this.http.send('delete', `${inst(id)}/volumes/${enc(volumeId)}`, undefined, opts);
  }
  addDisk(
    id: string,
    device: string,
    body: Schemas['DiskAddRequest'],
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('put', `${inst(id)}/disks/${enc(device)}`, body, opts);
  }
  removeDisk(id: string, device: string, opts: WaitOptions = {}): Promise<Operation | null> {
    return this.http.send('delete', `${inst(id)}/disks/${enc(device)}`, undefined, opts);
  }

  // ---- config drive ----
  /** Rebuilds the config drive: it holds `body`'s user data and metadata from then on. */
  updateConfigDrive(
    id: string,
    body: Schemas['ConfigDriveRequest'],
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('put', `${inst(id)}/config-drive`, body, opts);
  }

  // ---- disk snapshots ----
  listDiskSnapshots(id: string, device: string): Promise<Schemas['DiskSnapshot'][]> {
    return this.http.items(`${inst(id)}/disks/${enc(device)}/snapshots`);
  }
  createDiskSnapshot(
    id: string,
    device: string,
    snapshotId: string,
    body: Schemas['DiskSnapshotRequest'] = {},
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('put', diskSnap(id, device, snapshotId), body, opts);
  }
  revertDiskSnapshot(
    id: string,
    device: string,
    snapshotId: string,
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('post', `${diskSnap(id, device, snapshotId)}/revert`, undefined, opts);
  }
  /** A disk snapshot's bytes in `format` (default raw), streamed. */
  downloadDiskSnapshot(
    id: string,
    device: string,
    snapshotId: string,
    format?: Schemas['ImageFormat'],
  ): Promise<{ stream: Readable; length?: number }> {
    return this.http.getStream(
      `${diskSnap(id, device, snapshotId)}/file`,
      format ? { format } : {},
    );
  }
  /** null: the snapshot is gone (204), whether or not it was there. */
  deleteDiskSnapshot(
    id: string,
    device: string,
    snapshotId: string,
    opts: WaitOptions = {},
  ): Promise<Operation | null> {
    return this.http.send('delete', diskSnap(id, device, snapshotId), undefined, opts);
  }
  listNics(id: string): Promise<Schemas['NicAttachment'][]> {
    return this.http.items(`${inst(id)}/nics`);
  }
  attachNic(
    id: string,
    body: Schemas['NicAttachRequest'],
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.http.send('post', `${inst(id)}/nics`, body, opts);
  }
  detachNic(id: string, device: string, opts: WaitOptions = {}): Promise<Operation | null> {
    return this.http.send('delete', `${inst(id)}/nics/${enc(device)}`, undefined, opts);
  }

  // ---- consoles ----
  /** A one-time console of the instance, in the form asked for (default vnc). */
  console(
    id: string,
    type: NonNullable<Schemas['Console']['type']> = 'vnc',
  ): Promise<Schemas['Console']> {
    return this.http.send('get', `${inst(id)}/console?type=${enc(type)}`);
  }
  consoleLog(id: string): Promise<Schemas['ConsoleLog']> {
    return this.http.send('get', `${inst(id)}/console/log`);
  }
  diagnostics(id: string): Promise<Schemas['Diagnostics']> {
    return this.http.send('get', `${inst(id)}/diagnostics`);
  }

  // ---- operations ----
  /** The instance's operations the service keeps, newest first (only `status` ones if given). */
  async instanceOperations(id: string, status?: Operation['status']): Promise<Operation[]> {
    const page = await this.http.send<{ items: Operation[] }>(
      'get',
      `${inst(id)}/operations`,
      undefined,
      {},
      status ? { status } : undefined,
    );
    return page.items;
  }
  getOperation(id: string, opts: WaitOptions = {}): Promise<Operation> {
    return this.http.send('get', `/v1/operations/${enc(id)}`, undefined, opts);
  }
  cancelOperation(id: string): Promise<Operation> {
    return this.http.send('delete', `/v1/operations/${enc(id)}`);
  }

  /** Follows an operation until it is final, calling onProgress on each poll (long-polling 1 s). */
  async follow(
    op: Operation,
    onProgress?: (op: Operation) => void,
    timeoutMs = 600_000,
  ): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    let current = op;
    onProgress?.(current);
    while (current.status === 'running') {
      if (Date.now() > deadline)
        throw new XcdApiError(
          504,
          'timeout',
          `operation ${op.id} still running after ${timeoutMs} ms`,
        );
      current = await this.getOperation(current.id, { wait: 1 });
      onProgress?.(current);
    }
    return current;
  }

  // ---- events ----
  /** GET /v1/events as an async generator, resumed with Last-Event-ID after a dropped
   * connection (events.ts). */
  events(o: LifecycleStreamOptions = {}): AsyncGenerator<Schemas['LifecycleEvent']> {
    return lifecycleEvents(this.opts, o);
  }
}
