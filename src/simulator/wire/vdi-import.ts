// The body of PUT /import_raw_vdi into a VDI's disk: raw bytes (or xapi's `chunked` framing)
// written as they arrive, VHD and qcow2 spooled to a scratch file and parsed from it (a parse
// needs to seek), never held whole in memory. Every failure is xapi's VDI_IO_ERROR ["Device I/O
// errors"]: vhd-tool and qcow-stream-tool exit non-zero and xapi reports only that
// (ocaml/xapi/vhd_tool_wrapper.ml run_vhd_tool, vhd_qcow_parsing.ml run_tool).
import fs from 'node:fs';
import type http from 'node:http';
import { XapiFault } from '../engine/fault';
import { isZero, type Disk } from '../engine/disk-store';
import type { SimRuntime } from '../engine/runtime';
import type { Rec } from '../engine/store';
import { ChunkedDecoder } from '../formats/chunked';
import { ImageError, type GuestSink, type ImageParse, type ImageSource } from '../formats/image';
import { parseQcow2 } from '../formats/qcow2';
import { parseVhd } from '../formats/vhd';

export interface ImportJob {
  taskRef: string;
  vdi: Rec;
  format: 'raw' | 'vhd' | 'qcow2';
  chunked: boolean;
  /** Faults armed for this transfer: fail the task once the body is in, or cut it half way. */
  injected?: { fail?: XapiFault; drop: boolean };
}

/** Share of the task's progress spent receiving a body that is parsed afterwards. */
const SPOOL_SHARE = 0.9;

export function ioError(): XapiFault {
  return new XapiFault('VDI_IO_ERROR', ['Device I/O errors']);
}

/**
 * Guest writes into `disk`. Data past its end is an I/O error, as on a real block device; zeros
 * past it are dropped, so an image whose declared size exceeds the VDI (qemu-img rounds a VHD up
 * to its geometry) imports while nothing lies beyond it. import_raw_vdi.ml says as much: an
 * image bigger than the VDI fails "on some write".
 */
function diskSink(disk: Disk): GuestSink {
  return (offset, data) => {
    const fits = Math.max(0, Math.min(data.length, disk.size - offset));
    if (fits < data.length && !isZero(data.subarray(fits)))
      throw new ImageError('write beyond the VDI', 'too_large');
    if (fits > 0) disk.write(offset, data.subarray(0, fits));
  };
}

function fileSource(fd: number, size: number): ImageSource {
  return {
    size,
    read(offset, length) {
      const out = Buffer.alloc(length);
      if (offset < size) fs.readSync(fd, out, 0, Math.min(length, size - offset), offset);
      return out;
    },
  };
}

/**
 * Read the whole request, handing each piece to `take`. After a failure the rest is drained
 * (the client sees its upload through, then the task's failure) and the failure rethrown.
 */
async function consume(
  rt: SimRuntime,
  req: http.IncomingMessage,
  job: ImportJob,
  share: number,
  take: (chunk: Buffer) => void,
): Promise<void> {
  const taskRef = job.taskRef;
  const expected = Number(req.headers['content-length'] ?? 0);
  let received = 0;
  let failure: unknown;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (failure !== undefined) continue;
      try {
        if (rt.tasks.isCancelling(taskRef)) throw new XapiFault('TASK_CANCELLED', [taskRef]);
        take(chunk);
        received += chunk.length;
        if (expected > 0) rt.tasks.setProgress(taskRef, (share * received) / expected);
        if (job.injected?.drop && received * 2 >= expected) req.socket.destroy();
      } catch (err) {
        failure = err;
      }
    }
  } catch {
    throw ioError(); // the connection broke mid-body
  }
  if (failure !== undefined) throw failure;
  if (!req.complete) throw ioError(); // the client went away mid-body
  if (job.injected?.fail) throw job.injected.fail;
}

/** Pieces of a parse between two turns of the event loop. */
const PARSE_SLICE = 8;

/** Run a parse, letting other requests in every few pieces and moving the task past SPOOL_SHARE. */
async function drive(rt: SimRuntime, taskRef: string, parse: ImageParse): Promise<void> {
  for (let n = 1; ; n++) {
    const step = parse.next();
    if (step.done) return;
    if (n % PARSE_SLICE === 0) {
      await new Promise((resolve) => setImmediate(resolve));
      if (rt.tasks.isCancelling(taskRef)) throw new XapiFault('TASK_CANCELLED', [taskRef]);
      const done = Math.min(1, Math.max(0, step.value));
      rt.tasks.setProgress(taskRef, SPOOL_SHARE + (1 - SPOOL_SHARE) * done * 0.99);
    }
  }
}

export async function importVdi(
  rt: SimRuntime,
  req: http.IncomingMessage,
  job: ImportJob,
): Promise<void> {
  const uuid = job.vdi.uuid as string;
  const disk = rt.disks.open(uuid, Number(job.vdi.virtual_size ?? 0));
  const sink = diskSink(disk);
  try {
    if (job.format === 'raw') {
      if (job.chunked) {
        const decoder = new ChunkedDecoder(sink);
        await consume(rt, req, job, 1, (c) => decoder.push(c));
        decoder.end();
      } else {
        let offset = 0;
        await consume(rt, req, job, 1, (c) => {
          sink(offset, c);
          offset += c.length;
        });
      }
      return;
    }
    const scratch = rt.disks.scratch(`${uuid}.${job.format}.upload`);
    const fd = fs.openSync(scratch, 'w+');
    try {
      let size = 0;
      await consume(rt, req, job, SPOOL_SHARE, (c) => {
        fs.writeSync(fd, c, 0, c.length, size);
        size += c.length;
      });
      const parse = job.format === 'vhd' ? parseVhd : parseQcow2;
      await drive(rt, job.taskRef, parse(fileSource(fd, size), sink));
    } finally {
      fs.closeSync(fd);
      fs.rmSync(scratch, { force: true });
    }
  } catch (err) {
    if (err instanceof ImageError || err instanceof RangeError) throw ioError();
    throw err;
  } finally {
    disk.close(); // reopened on the next use: idle disks hold no descriptor
  }
}
