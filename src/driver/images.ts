// The images resource: import (an uploaded body, streamed), list, show, publish, delete, export,
// and the base copy a spawn clones (one per SR; concurrent spawns share one copy in flight).
// What an import does in XAPI lives in procedures/image.ts; which image the caller may use is
// ownership.ts's. Imports run as operations of the runner, one at a time per image id. No HTTP.
import type { Readable } from 'node:stream';
import type { XapiClient } from '../xapi';
import { ApiError, isGone } from './errors';
import { waitForMirror } from './mirror-wait';
import { imageInUse, imageUser, requireImage, usableImage } from './ownership';
import {
  Meter,
  copyBase,
  feed,
  importBase,
  probeImage,
  readHead,
  spill,
  xapiTakesQcow2,
  type ImageFormat,
} from './procedures/image';
import { allowedUrl, download, type DownloadLimits } from './procedures/download';
import type { OperationEntry } from './operations';
import type { OperationRunner } from './runner';
import { defaultSr } from './spawn/plan';
import { IMAGE_TAG, TAG } from './tags';
import type { Caller, Operation, Schema } from './types';
import { imageView, listImages } from './views/images';

type Image = Schema<'Image'>;

export interface UploadQuery {
  format?: ImageFormat;
  name?: string;
  sr?: string;
  checksum?: string;
}

const imageKey = (namespace: string, id: string): string => `${namespace}\u0000image/${id}`;

export class Images {
  /** Base copies in flight, per namespace, image and SR: concurrent spawns share one. */
  private readonly copies = new Map<string, Promise<string>>();

  constructor(
    private readonly xapi: XapiClient,
    private readonly runner: OperationRunner,
    private readonly opts: {
      serviceId: string;
      /** URL prefixes an import may download from (none: every URL is refused). */
      urlAllow?: readonly string[];
      download?: DownloadLimits;
    },
  ) {}

  list(caller: Caller, page: { limit: number; offset: number }): { items: Image[]; total: number } {
    return listImages(this.xapi.mirror, caller.namespace, page);
  }

  get(caller: Caller, id: string): Image {
    const image = requireImage(this.xapi.mirror, caller.namespace, id);
    return imageView(this.xapi.mirror, id, image, caller.namespace);
  }

  /**
   * Imports `body` (the image's bytes, `length` of them when known) under `id`, as an
   * operation. The same bytes again answer the image; others 409 image_conflict.
   */
  upload(caller: Caller, id: string, q: UploadQuery, body: Readable, length?: number): Operation {
    return this.start(caller, id, q, () => Promise.resolve({ body, length }));
  }

  /** Downloads the image from `source_url` (allow-listed, downloads.ts) as an operation. */
  importUrl(caller: Caller, id: string, req: Schema<'ImageImportRequest'>): Operation {
    const url = allowedUrl(req.source_url, this.opts.urlAllow ?? []);
    return this.start(
      caller,
      id,
      {
        format: req.format,
        ...(req.name ? { name: req.name } : {}),
        ...(req.sr ? { sr: req.sr } : {}),
        ...(req.checksum ? { checksum: req.checksum } : {}),
      },
      (signal) => download(url, { ...this.opts.download, allow: this.opts.urlAllow ?? [], signal }),
    );
  }

  private start(
    caller: Caller,
    id: string,
    q: UploadQuery,
    source: (signal: AbortSignal) => Promise<{ body: Readable; length?: number }>,
  ): Operation {
    this.runner.assertMutator(caller);
    if (!q.format) throw new ApiError(400, 'invalid_request', 'an upload names its format');
    const format = q.format;
    const ns = caller.namespace;
    const srRef = this.srRef(q.sr);
    const entry = this.runner.ops.create(ns, 'import-image', '', {});
    entry.data.image_id = id;
    void this.runner.schedule(imageKey(ns, id), entry, async () => {
      const given = await source(entry.signal);
      // XAPI takes a length: a body without one is spilled to a temporary file first.
      const spilled = given.length === undefined ? await spill(given.body) : undefined;
      try {
        await this.receive(caller, id, q, format, srRef, entry, spilled ?? given);
      } finally {
        await spilled?.cleanup();
      }
    });
    return entry.view();
  }

  /** The import proper, once the body's length is known. */
  private async receive(
    caller: Caller,
    id: string,
    q: UploadQuery,
    format: ImageFormat,
    srRef: string,
    entry: OperationEntry,
    { body, length }: { body: Readable; length?: number },
  ): Promise<void> {
    const ns = caller.namespace;
    const existing = usableImage(this.xapi.mirror, ns, id);
    const own = existing?.namespace === ns ? existing : undefined;
    if (own && own.bases.every((b) => b.other_config[TAG.state] !== 'active')) {
      body.destroy();
      throw new ApiError(409, 'image_busy', `image '${id}' is being imported`);
    }
    const head = await readHead(body);
    const meter = new Meter(q.checksum, (n) =>
      this.runner.ops.progress(entry, length ? (n / length) * 0.95 : 0, 'receive'),
    );
    if (own) {
      // A replay: the bytes decide whether it is the same image.
      const received = feed(body, head, meter);
      meter.resume();
      await received;
      if (length !== undefined && meter.bytes !== length)
        throw new ApiError(400, 'upload_incomplete', `received ${meter.bytes} of ${length} bytes`);
      const sum = meter.finish();
      const known = own.bases.find((b) => b.other_config[TAG.state] === 'active');
      if (known?.other_config[IMAGE_TAG.checksum] !== sum)
        throw new ApiError(409, 'image_conflict', `image '${id}' exists with different bytes`);
      this.runner.ops.succeed(entry, this.get(caller, id));
      return;
    }
    const virtualSize = probeImage(head, format, length);
    if (length === undefined) throw new Error('receive: no length');
    const received = feed(body, head, meter);
    const vdiRef = await importBase(
      this.xapi,
      {
        imageId: id,
        namespace: ns,
        serviceId: this.opts.serviceId,
        srRef,
        format,
        name: q.name ?? id,
        virtualSize,
        length,
        signal: entry.signal,
      },
      meter,
      received,
    );
    await waitForMirror(
      this.xapi.mirror,
      () => this.xapi.mirror.get('VDI', vdiRef)?.other_config[TAG.state] === 'active',
      this.runner.mirrorWaitMs,
    );
    this.runner.ops.succeed(entry, this.get(caller, id));
  }

  /** Marks the caller's image (or a public one) public or private (admins; the route checks). */
  async setPublic(caller: Caller, id: string, isPublic: boolean): Promise<Image> {
    const image = requireImage(this.xapi.mirror, caller.namespace, id);
    if (isPublic && imageUser(image) !== undefined) throw imageInUse(id);
    for (const base of image.bases) {
      await this.xapi.call('VDI.remove_from_other_config', base.$ref, IMAGE_TAG.public);
      if (isPublic)
        await this.xapi.call('VDI.add_to_other_config', base.$ref, IMAGE_TAG.public, 'true');
    }
    await waitForMirror(
      this.xapi.mirror,
      () =>
        image.bases.every(
          (b) =>
            (this.xapi.mirror.get('VDI', b.$ref)?.other_config[IMAGE_TAG.public] === 'true') ===
            isPublic,
        ),
      this.runner.mirrorWaitMs,
    );
    return this.get(caller, id);
  }

  /** Destroys every base of the image; nothing to do when it is not there (or not visible). */
  async delete(caller: Caller, id: string): Promise<void> {
    this.runner.assertMutator(caller);
    const image = usableImage(this.xapi.mirror, caller.namespace, id);
    if (!image) return;
    if (image.namespace !== caller.namespace && caller.role !== 'admin')
      throw new ApiError(403, 'forbidden', 'a public image is deleted by admins only');
    if (image.public && caller.role !== 'admin')
      throw new ApiError(403, 'forbidden', 'a public image is deleted by admins only');
    // An import or a base copy of this service under way (a base 'importing' while it runs).
    const importing = image.bases.some((b) => b.other_config[TAG.state] === 'importing');
    if (importing && this.runner.busy(image.namespace, `image/${id}`))
      throw new ApiError(409, 'image_busy', `image '${id}' is being imported`);
    if (imageUser(image) !== undefined) throw imageInUse(id);
    for (const base of image.bases)
      await this.xapi.call('VDI.destroy', base.$ref).catch((err: unknown) => {
        if (!isGone(err)) throw err;
      });
    await waitForMirror(
      this.xapi.mirror,
      () => image.bases.every((b) => !this.xapi.mirror.get('VDI', b.$ref)),
      this.runner.mirrorWaitMs,
    );
  }

  /** The image's bytes from one of its active bases, in `format`. */
  async exportFile(
    caller: Caller,
    id: string,
    format: ImageFormat,
  ): Promise<{ stream: Readable; length?: number }> {
    const image = requireImage(this.xapi.mirror, caller.namespace, id);
    const base = image.bases.find((b) => b.other_config[TAG.state] === 'active');
    if (!base) throw new ApiError(409, 'image_busy', `image '${id}' is being imported`);
    if (imageUser(image) !== undefined) throw imageInUse(id);
    return this.exportVdi(base.$ref, format);
  }

  /** A VDI's bytes in `format` through /export_raw_vdi (the caller checked ownership). A xapi
   * before qcow2 support (25.27) exports raw and vhd only: qcow2 there is 422
   * format_not_supported, not the handler's bare 404. */
  exportVdi(vdiRef: string, format: ImageFormat): Promise<{ stream: Readable; length?: number }> {
    if (format === 'qcow2' && !xapiTakesQcow2(this.xapi.mirror))
      return Promise.reject(
        new ApiError(
          422,
          'format_not_supported',
          "this pool's XAPI exports raw and vhd only (qcow2 from xapi 25.27)",
          { extra: { formats: ['raw', 'vhd'] } },
        ),
      );
    return this.xapi.httpGetStream('/export_raw_vdi', { vdi: vdiRef, format });
  }

  /**
   * The image's active base VDI in `srRef`, copied there first when it has none: one copy per
   * image and SR at a time, shared by the spawns that ask meanwhile.
   */
  async baseIn(
    namespace: string,
    imageId: string,
    srRef: string,
    signal: AbortSignal,
  ): Promise<string> {
    return this.marked(await this.baseOrCopy(namespace, imageId, srRef, signal));
  }

  /** The base, marked with its own uuid (IMAGE_TAG.base) before anything clones it: a clone
   * copies the mark, so reconcile tells a clone a crash left untagged from the base. */
  private async marked(ref: string): Promise<string> {
    const rec = this.xapi.mirror.get('VDI', ref);
    const uuid = rec?.uuid ?? (await this.xapi.call<string>('VDI.get_uuid', ref));
    if (rec?.other_config[IMAGE_TAG.base] === uuid) return ref;
    await this.xapi
      .call('VDI.add_to_other_config', ref, IMAGE_TAG.base, uuid)
      .catch((err: unknown) => {
        // Marked meanwhile (another clone of this base): the mark is the same uuid.
        if ((err as { code?: string }).code !== 'MAP_DUPLICATE_KEY') throw err;
      });
    return ref;
  }

  private baseOrCopy(
    namespace: string,
    imageId: string,
    srRef: string,
    signal: AbortSignal,
  ): Promise<string> {
    const image = requireImage(this.xapi.mirror, namespace, imageId);
    if (imageUser(image) !== undefined) return Promise.reject(imageInUse(imageId));
    const active = image.bases.filter((b) => b.other_config[TAG.state] === 'active');
    const here = active.find((b) => b.SR === srRef);
    if (here) return Promise.resolve(here.$ref);
    if (active.length === 0)
      return Promise.reject(
        new ApiError(409, 'image_busy', `image '${imageId}' is being imported`),
      );
    const k = `${image.namespace}\u0000${imageId}\u0000${srRef}`;
    let copy = this.copies.get(k);
    if (!copy) {
      const release = this.runner.hold(imageKey(image.namespace, imageId));
      copy = copyBase(this.xapi, active[0].$ref, srRef, this.opts.serviceId, signal).then(
        async (ref) => {
          await waitForMirror(
            this.xapi.mirror,
            () => this.xapi.mirror.get('VDI', ref)?.other_config[TAG.state] === 'active',
            this.runner.mirrorWaitMs,
          );
          return ref;
        },
      );
      this.copies.set(k, copy);
      void copy
        .finally(() => {
          this.copies.delete(k);
          release();
        })
        .catch(() => undefined);
    }
    return copy;
  }

  private srRef(uuid: string | undefined): string {
    if (uuid !== undefined) {
      const sr = this.xapi.mirror.getByUuid('SR', uuid);
      if (!sr) throw new ApiError(404, 'sr_not_found', `SR '${uuid}' not found`);
      return sr.$ref;
    }
    const d = defaultSr(this.xapi.mirror);
    if (!d) throw new ApiError(404, 'sr_not_found', 'no SR named and the pool has no default SR');
    return d.ref;
  }
}
