// What importing an image does in XAPI: read the image's header (its virtual size, its format
// checked against the one named), create the base VDI tagged 'importing', stream the bytes into
// it through /import_raw_vdi as they arrive (sha256 and the checksum asked for computed on the
// way), then mark it 'active'. A qcow2 image on a xapi without qcow2 import (before 25.27) goes
// through qemu-img and a temporary file. Any failure destroys the VDI. Knows no scheduling.
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MirrorView, XapiClient } from '../../xapi';
import { NULL_REF } from '../../xapi/ref';
import { MiB } from '../../xapi/units';
import { ApiError, isGone } from '../errors';
import { IMAGE_TAG, TAG } from '../tags';
import type { Schema } from '../types';

export type ImageFormat = Schema<'ImageFormat'>;

/** The first xapi (MAJOR.MINOR) whose /import_raw_vdi takes qcow2 into an existing VDI. */
const QCOW2_IMPORT_SINCE: [number, number] = [25, 27];
const HEAD_BYTES = 512;
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const VHD_COOKIE = Buffer.from('conectix');

const invalid = (detail: string): ApiError => new ApiError(400, 'invalid_image', detail);
export const incomplete = (detail: string): ApiError =>
  new ApiError(400, 'upload_incomplete', detail);

/** Does the pool master's xapi take qcow2 through /import_raw_vdi (host.software_version)? An
 * unknown version counts as no: the conversion works everywhere. */
export function xapiTakesQcow2(mirror: MirrorView): boolean {
  const pool = mirror.query('pool', { fields: ['master'] })[0];
  const host = pool && pool.master !== NULL_REF ? mirror.get('host', pool.master) : undefined;
  const sv = host?.software_version ?? {};
  const m = /^(\d+)\.(\d+)/.exec(sv.xapi_build ?? sv.xapi ?? '');
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return (
    major > QCOW2_IMPORT_SINCE[0] ||
    (major === QCOW2_IMPORT_SINCE[0] && minor >= QCOW2_IMPORT_SINCE[1])
  );
}

/** What the detected bytes are, when they carry a format's magic. */
function detected(head: Buffer): ImageFormat | undefined {
  if (head.subarray(0, 4).equals(QCOW2_MAGIC)) return 'qcow2';
  if (head.subarray(0, 8).equals(VHD_COOKIE)) return 'vhd';
  return undefined;
}

/** The virtual size the header declares, or invalid_image naming what is wrong. */
export function probeImage(head: Buffer, format: ImageFormat, length?: number): number {
  const found = detected(head);
  if (found !== undefined && found !== format)
    throw invalid(`the bytes are a ${found} image, not ${format}`);
  if (format === 'raw') {
    if (length === undefined)
      throw new ApiError(400, 'invalid_request', 'a raw image needs a Content-Length');
    if (length === 0) throw invalid('the raw image is empty');
    return length;
  }
  if (format === 'qcow2') {
    if (found !== 'qcow2' || head.length < 72) throw invalid('not a qcow2 image (no QFI magic)');
    const version = head.readUInt32BE(4);
    if (version !== 2 && version !== 3) throw invalid(`qcow2 version ${version} is not supported`);
    if (head.readBigUInt64BE(8) !== 0n)
      throw invalid('qcow2 images with a backing file are not supported');
    if (head.readUInt32BE(32) !== 0) throw invalid('encrypted qcow2 images are not supported');
    const size = Number(head.readBigUInt64BE(24));
    if (size <= 0) throw invalid('the qcow2 image declares no size');
    return size;
  }
  // VHD: a dynamic disk starts with a copy of its footer (a fixed one is raw plus a footer).
  if (found !== 'vhd' || head.length < HEAD_BYTES)
    throw invalid('not a dynamic VHD (no footer copy at its start)');
  const type = head.readUInt32BE(60);
  if (type === 4) throw invalid('differencing VHDs are not supported');
  if (type !== 3 && type !== 2) throw invalid(`VHD disk type ${type} is not supported`);
  const size = Number(head.readBigUInt64BE(48));
  if (size <= 0) throw invalid('the VHD declares no size');
  return size;
}

/** Reads at least `n` bytes (or all there are) off `body`, which is left paused after them. */
export function readHead(body: Readable, n = HEAD_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      len += c.length;
      if (len >= n) {
        body.pause();
        cleanup();
        resolve(Buffer.concat(chunks));
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(incomplete(`the upload failed: ${err.message}`));
    };
    const onClose = (): void => {
      cleanup();
      reject(incomplete('the client went away during the upload'));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

/** The size of the writes a Meter passes on. */
const WRITE_BYTES = MiB;

/** Counts and hashes the bytes passing through, passing them on in writes of about
 * WRITE_BYTES; reports the count. */
export class Meter extends Transform {
  bytes = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly sha256 = createHash('sha256');
  private readonly asked?: { algo: string; hex: string; hash: Hash };

  constructor(
    checksum: string | undefined,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    // Large buffers: fewer pauses between the client's socket and XAPI's.
    super({ highWaterMark: 4 * MiB });
    if (checksum) {
      const [algo, hex] = checksum.split(':');
      if (algo !== 'sha256') this.asked = { algo, hex: hex.toLowerCase(), hash: createHash(algo) };
      else this.asked = { algo, hex: hex.toLowerCase(), hash: this.sha256 };
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.sha256.update(chunk);
    if (this.asked && this.asked.hash !== this.sha256) this.asked.hash.update(chunk);
    this.onBytes?.(this.bytes);
    // Socket-sized chunks (16-64 KiB) go on in writes of WRITE_BYTES: far fewer for XAPI.
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= WRITE_BYTES) this.pushPending();
    done();
  }

  override _flush(done: TransformCallback): void {
    this.pushPending();
    done();
  }

  private pushPending(): void {
    if (this.pendingBytes === 0) return;
    this.push(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** 'sha256:<hex>' of everything that passed; checks the checksum asked for. */
  finish(): string {
    const sha = this.sha256.digest('hex');
    if (this.asked) {
      const got = this.asked.hash === this.sha256 ? sha : this.asked.hash.digest('hex');
      if (got !== this.asked.hex)
        throw new ApiError(
          400,
          'checksum_mismatch',
          `the image's ${this.asked.algo} is ${got}, not ${this.asked.hex}`,
        );
    }
    return `sha256:${sha}`;
  }
}

/** Feeds `head` then the rest of `body` into `meter`. Resolves once every byte is written into
 * it; rejects (upload_incomplete) when the body fails or closes before its end, and destroys
 * the meter then. The promise is handled from the start: await it when the bytes matter. */
export function feed(body: Readable, head: Buffer, meter: Meter): Promise<void> {
  const received = new Promise<void>((resolve, reject) => {
    meter.once('finish', resolve);
    meter.once('error', reject);
  });
  received.catch(() => undefined);
  meter.write(head);
  if (body.readableEnded) {
    meter.end();
    return received;
  }
  const fail = (err: ApiError): void => {
    body.unpipe(meter);
    meter.destroy(err);
  };
  body.once('error', (err) => fail(incomplete(`the upload failed: ${err.message}`)));
  body.once('close', () => {
    if (!body.readableEnded) fail(incomplete('the client went away during the upload'));
  });
  body.pipe(meter);
  body.resume();
  return received;
}

export interface ImportArgs {
  imageId: string;
  namespace: string;
  serviceId: string;
  srRef: string;
  format: ImageFormat;
  name: string;
  virtualSize: number;
  /** The body's length (Content-Length, a download's, a spilled file's). */
  length: number;
  signal: AbortSignal;
}

/** The tags of a base VDI of an image. */
export function baseTags(
  a: Pick<ImportArgs, 'imageId' | 'namespace' | 'format' | 'name'>,
  state: 'importing' | 'active',
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    [IMAGE_TAG.id]: a.imageId,
    [TAG.role]: 'image',
    [TAG.namespace]: a.namespace,
    [TAG.state]: state,
    [IMAGE_TAG.format]: a.format,
    [IMAGE_TAG.name]: a.name,
    [TAG.createdAt]: new Date().toISOString(),
    ...extra,
  };
}

/** A base whose bytes are in: 'active', no owner, with `extra` tags (read, then written whole:
 * two calls, keeping what others added meanwhile, e.g. an admin's public mark). */
async function activate(
  xapi: XapiClient,
  vdiRef: string,
  extra: Record<string, string> = {},
): Promise<void> {
  const oc = await xapi.call<Record<string, string>>('VDI.get_other_config', vdiRef);
  const next: Record<string, string> = { ...oc, ...extra, [TAG.state]: 'active' };
  delete next[TAG.owner];
  await xapi.call('VDI.set_other_config', vdiRef, next);
}

/** 507 when the SR's free space is below `bytes`. */
export function checkFreeSpace(mirror: MirrorView, srRef: string, bytes: number): void {
  const sr = mirror.get('SR', srRef);
  if (!sr) throw new ApiError(404, 'sr_not_found', `SR '${srRef}' not found`);
  const size = Number(sr.physical_size);
  if (!(size > 0)) return; // an SR that does not report its size
  const free = size - Number(sr.physical_utilisation ?? 0);
  if (bytes > free)
    throw new ApiError(
      507,
      'insufficient_storage',
      `the image needs ${bytes} bytes and the SR has ${free} free`,
    );
}

/** An /import_raw_vdi refusal: the bytes are what XAPI could not take. */
function refused(err: unknown): unknown {
  const e = err as { code?: string; params?: string[]; message?: string };
  const code = e.code ?? '';
  if (code === 'VDI_IO_ERROR')
    return invalid(`XAPI could not write the image (${[code, ...(e.params ?? [])].join(' ')})`);
  if (/^HTTP_\d+$/.test(code)) return invalid(`XAPI refused the image: ${e.message || code}`);
  return err;
}

/** A body of unknown length (chunked) lands in a temporary file first: XAPI takes a length. */
export async function spill(
  body: Readable,
): Promise<{ body: Readable; length: number; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'xcd-upload-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'body');
    let done = false;
    body.once('end', () => (done = true));
    await pipeline(body, createWriteStream(file)).catch((err: Error) => {
      throw incomplete(`the upload failed: ${err.message}`);
    });
    if (!done) throw incomplete('the client went away during the upload');
    const { size } = await stat(file);
    return { body: createReadStream(file), length: size, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Creates the base VDI (tagged 'importing') in args.srRef and streams `meter`'s output into it;
 * marks it active with its checksum. On any failure the VDI is destroyed and the error thrown.
 */
export async function importBase(
  xapi: XapiClient,
  args: ImportArgs,
  meter: Meter,
  /** feed()'s promise: every byte of the body went into the meter. */
  received: Promise<void>,
): Promise<string> {
  checkFreeSpace(xapi.mirror, args.srRef, args.virtualSize);
  const vdiRef = await xapi.call<string>('VDI.create', {
    name_label: `image ${args.imageId}`,
    name_description: args.name,
    SR: args.srRef,
    virtual_size: String(args.virtualSize),
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: baseTags(args, 'importing', { [TAG.owner]: args.serviceId }),
    xenstore_data: {},
    sm_config: {},
    tags: [],
  });
  try {
    if (args.format === 'qcow2' && !xapiTakesQcow2(xapi.mirror)) {
      await Promise.all([importConverted(xapi, vdiRef, meter, args.signal), received]);
    } else {
      const into = xapi
        .httpPutStream('/import_raw_vdi', { vdi: vdiRef, format: args.format }, meter, {
          length: args.length,
          signal: args.signal,
        })
        .catch((err: unknown) => {
          throw refused(err);
        });
      // A body that fails first (the client gone) is the error to report.
      await Promise.all([received, into]);
    }
    if (meter.bytes !== args.length)
      throw incomplete(`received ${meter.bytes} of ${args.length} bytes`);
    const checksum = meter.finish();
    await activate(xapi, vdiRef, { [IMAGE_TAG.checksum]: checksum });
    return vdiRef;
  } catch (err) {
    meter.destroy();
    await xapi.call('VDI.destroy', vdiRef).catch((e: unknown) => {
      if (!isGone(e)) throw e;
    });
    throw err;
  }
}

/** qcow2 for a xapi that cannot take it: the bytes land in a temporary file (qemu-img needs a
 * seekable input), become raw with qemu-img, and are streamed raw. */
async function importConverted(
  xapi: XapiClient,
  vdiRef: string,
  meter: Meter,
  signal: AbortSignal,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'xcd-image-'));
  try {
    const src = join(dir, 'in.qcow2');
    const out = join(dir, 'out.raw');
    await pipeline(meter, createWriteStream(src), { signal });
    await run('qemu-img', ['check', '-f', 'qcow2', src], signal).catch((err: Error) => {
      throw invalid(`qemu-img check refused the qcow2 image: ${err.message}`);
    });
    await run('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', src, out], signal).catch(
      (err: Error) => {
        throw invalid(`qemu-img could not convert the qcow2 image: ${err.message}`);
      },
    );
    const { size } = await stat(out);
    await xapi
      .httpPutStream('/import_raw_vdi', { vdi: vdiRef, format: 'raw' }, createReadStream(out), {
        length: size,
        signal,
      })
      .catch((err: unknown) => {
        throw refused(err);
      });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, argv: string[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], signal });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(err.trim() || `${cmd} exited ${code}`)),
    );
  });
}

/** Copies an image's base into another SR: a VDI made and tagged 'importing' first (so a killed
 * service leaves a disk reconcile recognises), VDI.copy into it, then 'active'. */
export async function copyBase(
  xapi: XapiClient,
  baseRef: string,
  srRef: string,
  serviceId: string,
  signal: AbortSignal,
): Promise<string> {
  const base = xapi.mirror.get('VDI', baseRef);
  if (!base) throw new ApiError(404, 'image_not_found', 'the image has no copy left');
  // The copy is a base of its own: not marked as the source (baseIn marks it before a clone).
  const oc = { ...base.other_config };
  delete oc[IMAGE_TAG.base];
  const vdiRef = await xapi.call<string>('VDI.create', {
    name_label: base.name_label,
    name_description: base.name_description,
    SR: srRef,
    virtual_size: String(base.virtual_size),
    type: 'user',
    sharable: false,
    read_only: false,
    other_config: { ...oc, [TAG.state]: 'importing', [TAG.owner]: serviceId },
    xenstore_data: {},
    sm_config: {},
    tags: [],
  });
  try {
    await xapi.callAsync('VDI.copy', [baseRef, srRef, NULL_REF, vdiRef], { signal });
    await activate(xapi, vdiRef);
    return vdiRef;
  } catch (err) {
    await xapi.call('VDI.destroy', vdiRef).catch(() => undefined);
    throw err;
  }
}
