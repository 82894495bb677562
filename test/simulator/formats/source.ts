// Helpers for the format tests: an in-memory ImageSource and sink, and qemu-img made images from
// a small raw file. No assertions live here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { GuestSink, ImageSource } from '../../../src/simulator/formats/image';
import { qemuImg, rawWithData } from '../wire/vdi-helpers';

export function memorySource(b: Buffer): ImageSource {
  return {
    size: b.length,
    read(offset, length) {
      const out = Buffer.alloc(length);
      b.copy(out, 0, Math.min(offset, b.length), Math.min(b.length, offset + length));
      return out;
    },
  };
}

/** A guest disk of `size` bytes in memory, and the sink that writes into it. */
export function memoryDisk(size: number): { bytes: Buffer; sink: GuestSink } {
  const bytes = Buffer.alloc(size);
  return {
    bytes,
    sink: (offset, data) => {
      if (offset + data.length > size) throw new Error('beyond the disk');
      data.copy(bytes, offset);
    },
  };
}

/** A raw file with data and its qemu-img conversions (`-O fmt -o opts`), read into memory. */
export function images(
  size: number,
  pieces: [number, number][],
  outputs: Record<string, [string, string]>,
): { raw: Buffer; out: Record<string, Buffer> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-formats-'));
  try {
    const src = path.join(dir, 'src.raw');
    rawWithData(src, size, pieces);
    const out: Record<string, Buffer> = {};
    for (const [name, [fmt, opts]] of Object.entries(outputs)) {
      const file = path.join(dir, name);
      qemuImg('convert', '-f', 'raw', '-O', fmt, ...(opts ? ['-o', opts] : []), src, file);
      out[name] = fs.readFileSync(file);
    }
    return { raw: fs.readFileSync(src), out };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
