// The body of GET /export_raw_vdi: a VDI's disk as raw bytes, a dynamic VHD or a qcow2 v3,
// streamed block by block with backpressure and a Content-Length (every layout's length is known
// before the first byte). With `base=` the VHD and qcow2 hold only the blocks that differ from the
// base VDI's (a raw export is always the whole disk). Headers and errors follow xapi's
// export_raw_vdi.ml, plus a Content-Length xapi does not send; task progress is bytes sent.
import type http from 'node:http';
import { DISK_BLOCK, type Disk } from '../engine/disk-store';
import { XapiFault } from '../engine/fault';
import type { SimRuntime } from '../engine/runtime';
import type { Rec } from '../engine/store';
import type { GuestContent, ImageStream } from '../formats/image';
import { writeQcow2 } from '../formats/qcow2';
import { MAX_VHD_SIZE, writeVhd } from '../formats/vhd';

export type ExportFormat = 'raw' | 'vhd' | 'qcow2';

export interface ExportJob {
  taskRef: string;
  vdiRef: string;
  vdi: Rec;
  format: ExportFormat;
  base?: Rec;
  /** The `base` parameter named no VDI. */
  baseMissing?: string;
  /** Faults armed for this transfer: fail the task after the 200, or cut the body half way. */
  injected?: { fail?: XapiFault; drop: boolean };
}

/** Importexport.Format.content_type. */
const CONTENT_TYPE: Record<ExportFormat, string> = {
  raw: 'application/octet-stream',
  vhd: 'application/vhd',
  qcow2: 'application/x-qemu-disk',
};

const ZERO_BLOCK = Buffer.alloc(DISK_BLOCK);

function contentOf(size: number, disk: Disk | undefined, blocks: number[]): GuestContent {
  return {
    virtualSize: size,
    blockSize: DISK_BLOCK,
    blocks,
    readBlock(index) {
      if (!disk || !disk.blocks.has(index)) return ZERO_BLOCK;
      const offset = index * DISK_BLOCK;
      const out = Buffer.alloc(DISK_BLOCK);
      disk.read(offset, Math.min(DISK_BLOCK, disk.size - offset), out);
      return out;
    },
  };
}

/** Blocks of `disk` whose bytes differ from `base`'s (either side's written blocks). */
function deltaBlocks(size: number, disk: Disk | undefined, base: Disk | undefined): number[] {
  const candidates = new Set([...(disk?.blocks ?? []), ...(base?.blocks ?? [])]);
  const a = Buffer.alloc(DISK_BLOCK);
  const b = Buffer.alloc(DISK_BLOCK);
  const out: number[] = [];
  for (const block of [...candidates].sort((x, y) => x - y)) {
    const offset = block * DISK_BLOCK;
    if (offset >= size) continue;
    const length = Math.min(DISK_BLOCK, size - offset);
    const mine = disk ? disk.read(offset, length, a) : ZERO_BLOCK.subarray(0, length);
    const theirs = base ? base.read(offset, length, b) : ZERO_BLOCK.subarray(0, length);
    if (!mine.equals(theirs)) out.push(block);
  }
  return out;
}

function rawStream(size: number, disk: Disk | undefined): ImageStream {
  return {
    length: size,
    *pieces() {
      for (let offset = 0; offset < size; offset += DISK_BLOCK) {
        const length = Math.min(DISK_BLOCK, size - offset);
        const block = offset / DISK_BLOCK;
        yield disk?.blocks.has(block) ? disk.read(offset, length) : ZERO_BLOCK.subarray(0, length);
      }
    },
  };
}

function imageOf(rt: SimRuntime, job: ExportJob): ImageStream {
  const size = Number(job.vdi.virtual_size ?? 0);
  const disk = rt.disks.get(job.vdi.uuid as string);
  if (job.format === 'raw') return rawStream(size, disk);
  const blocks = job.base
    ? deltaBlocks(size, disk, rt.disks.get(job.base.uuid as string))
    : (disk?.allocated() ?? []).filter((b) => b * DISK_BLOCK < size);
  const content = contentOf(size, disk, blocks);
  if (job.format === 'qcow2') return writeQcow2(content);
  return writeVhd(content, Buffer.from((job.vdi.uuid as string).replace(/-/g, ''), 'hex'));
}

function writeOrWait(res: http.ServerResponse, piece: Buffer): Promise<void> | undefined {
  if (res.write(piece)) return undefined;
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function exportVdi(
  rt: SimRuntime,
  res: http.ServerResponse,
  job: ExportJob,
): Promise<void> {
  const uuid = job.vdi.uuid as string;
  const headers: http.OutgoingHttpHeaders = {
    'task-id': job.taskRef,
    'content-type': CONTENT_TYPE[job.format],
    'content-disposition': `attachment; filename="${uuid}.${job.format}"`,
    connection: 'close',
  };
  const size = Number(job.vdi.virtual_size ?? 0);
  // export_raw_vdi.ml sends 200 first and fails the task after: a VHD above the VHD limit is
  // VDI_TOO_LARGE [vdi, limit]; a base that is no VDI fails the base lookup (UUID_INVALID).
  const early =
    job.format === 'vhd' && size > MAX_VHD_SIZE
      ? new XapiFault('VDI_TOO_LARGE', [job.vdiRef, String(MAX_VHD_SIZE)])
      : job.baseMissing !== undefined
        ? new XapiFault('UUID_INVALID', ['VDI', job.baseMissing])
        : job.injected?.fail;
  if (early) {
    res.writeHead(200, headers);
    await rt.tasks.run(job.taskRef, 'void', () => {
      throw early;
    });
    res.end();
    return;
  }
  const image = imageOf(rt, job);
  res.writeHead(200, { ...headers, 'content-length': image.length });
  await rt.tasks.run(job.taskRef, 'void', async () => {
    let sent = 0;
    for (const piece of image.pieces()) {
      if (res.destroyed) throw new XapiFault('VDI_IO_ERROR', ['Device I/O errors']);
      if (rt.tasks.isCancelling(job.taskRef)) {
        res.destroy();
        throw new XapiFault('TASK_CANCELLED', [job.taskRef]);
      }
      const wait = writeOrWait(res, piece);
      if (wait) await wait;
      sent += piece.length;
      if (image.length > 0) rt.tasks.setProgress(job.taskRef, sent / image.length);
      if (job.injected?.drop && sent * 2 >= image.length) res.destroy();
    }
    if (res.destroyed) throw new XapiFault('VDI_IO_ERROR', ['Device I/O errors']);
  });
  rt.disks.get(uuid)?.close(); // reopened on the next use: idle disks hold no descriptor
  res.end();
}
