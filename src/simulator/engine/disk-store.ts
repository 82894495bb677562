// VDI content: one sparse raw file per VDI uuid in a temporary folder of this simulator (made on
// first use, removed by close()), with the set of 2 MiB blocks ever written, so a large disk costs
// neither memory nor its full size and exports read only what was written. It stores bytes; it
// knows no image format, no HTTP and no VDI record.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Store } from './store';

/** The unit of allocation: VHD's default block size, 32 qcow2 clusters of 64 KiB. */
export const DISK_BLOCK = 2 * 1024 * 1024;

const ZERO = Buffer.alloc(DISK_BLOCK);

export function isZero(b: Buffer): boolean {
  for (let at = 0; at < b.length; at += DISK_BLOCK) {
    const piece = b.subarray(at, Math.min(b.length, at + DISK_BLOCK));
    if (!piece.equals(ZERO.subarray(0, piece.length))) return false;
  }
  return true;
}

/** One VDI's bytes: reads of blocks never written are zeros. */
export class Disk {
  private fd: number | undefined;

  constructor(
    readonly file: string,
    public size: number,
    readonly blocks: Set<number>,
  ) {}

  private handle(): number {
    if (this.fd === undefined) this.fd = fs.openSync(this.file, 'r+');
    return this.fd;
  }

  /** Write `data` at `offset`; all-zero pieces of blocks never written stay holes. */
  write(offset: number, data: Buffer): void {
    if (offset + data.length > this.size) throw new RangeError('write beyond the end of the disk');
    let at = 0;
    while (at < data.length) {
      const pos = offset + at;
      const block = Math.floor(pos / DISK_BLOCK);
      const end = Math.min(data.length, at + ((block + 1) * DISK_BLOCK - pos));
      const piece = data.subarray(at, end);
      if (this.blocks.has(block) || !isZero(piece)) {
        fs.writeSync(this.handle(), piece, 0, piece.length, pos);
        this.blocks.add(block);
      }
      at = end;
    }
  }

  /** `length` bytes at `offset` (zeros where nothing was written), into `into` when given. */
  read(offset: number, length: number, into?: Buffer): Buffer {
    const out = into ? into.subarray(0, length) : Buffer.alloc(length);
    let at = 0;
    while (at < length) {
      const pos = offset + at;
      const block = Math.floor(pos / DISK_BLOCK);
      const end = Math.min(length, at + ((block + 1) * DISK_BLOCK - pos));
      const stored = this.blocks.has(block) ? Math.max(0, Math.min(end - at, this.size - pos)) : 0;
      if (stored > 0) fs.readSync(this.handle(), out, at, stored, pos);
      out.fill(0, at + stored, end);
      at = end;
    }
    return out;
  }

  /** Written blocks in ascending order. */
  allocated(): number[] {
    return [...this.blocks].sort((a, b) => a - b);
  }

  /** Bytes the host's filesystem holds for this disk (st_blocks). */
  allocatedBytes(): number {
    return fs.statSync(this.file).blocks * 512;
  }

  grow(size: number): void {
    if (size <= this.size) return;
    fs.truncateSync(this.file, size);
    this.size = size;
  }

  /** Close the descriptor; the next read or write opens it again. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

const stores = new WeakMap<Store, DiskStore>();

/** The content of the pool whose records `store` holds (storage rules reach it this way). */
export function disksOf(store: Store): DiskStore | undefined {
  return stores.get(store);
}

export class DiskStore {
  private dir: string | undefined;
  private readonly disks = new Map<string, Disk>();

  /** Content of the pool whose records `store` holds: disksOf(store) answers this. */
  constructor(store: Store) {
    stores.set(store, this);
  }

  private folder(): string {
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-sim-disks-'));
    return this.dir;
  }

  get(uuid: string): Disk | undefined {
    return this.disks.get(uuid);
  }

  /** The disk of a VDI, made empty (all zeros, no space used) at `size` bytes when absent. */
  open(uuid: string, size: number): Disk {
    let disk = this.disks.get(uuid);
    if (!disk) {
      const file = path.join(this.folder(), `${uuid}.raw`);
      fs.writeFileSync(file, '');
      fs.truncateSync(file, size);
      disk = new Disk(file, size, new Set());
      this.disks.set(uuid, disk);
    }
    disk.grow(size);
    return disk;
  }

  /** A sparse copy of `fromUuid`'s content as `toUuid`'s (nothing when the source has none). */
  copy(fromUuid: string, toUuid: string, size: number): Disk | undefined {
    const src = this.disks.get(fromUuid);
    if (!src) return undefined;
    this.remove(toUuid);
    const dst = this.open(toUuid, Math.max(size, src.size));
    const buf = Buffer.allocUnsafe(DISK_BLOCK);
    for (const block of src.allocated()) {
      const offset = block * DISK_BLOCK;
      const length = Math.min(DISK_BLOCK, src.size - offset);
      if (length > 0) dst.write(offset, src.read(offset, length, buf));
    }
    src.close();
    dst.close();
    return dst;
  }

  remove(uuid: string): void {
    const disk = this.disks.get(uuid);
    if (!disk) return;
    disk.close();
    this.disks.delete(uuid);
    fs.rmSync(disk.file, { force: true });
  }

  /** Removes every disk and the folder. */
  close(): void {
    for (const disk of this.disks.values()) disk.close();
    this.disks.clear();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  /** A scratch file in this simulator's folder (an upload spooled for a seekable parse). */
  scratch(name: string): string {
    return path.join(this.folder(), name);
  }
}
