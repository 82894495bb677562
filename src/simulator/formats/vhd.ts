// VHD (Microsoft VHD spec 1.0, as vhd-tool reads and writes it): footer, dynamic header, BAT and
// sector bitmaps. parseVhd reads fixed, dynamic and differencing images (writing only the
// sectors present); writeVhd lays out a dynamic image. It knows no XAPI, no HTTP, no store.
import {
  ImageError,
  ceilDiv,
  u64,
  type GuestContent,
  type GuestSink,
  type ImageParse,
  type ImageSource,
  type ImageStream,
} from './image';

const SECTOR = 512;
const FOOTER = 512;
const HEADER = 1024;
const UNUSED = 0xffffffff;
const TYPE_FIXED = 2;
const TYPE_DYNAMIC = 3;
const TYPE_DIFFERENCING = 4;
/** Seconds from the Unix epoch to the VHD epoch (2000-01-01T00:00:00Z). */
const VHD_EPOCH = 946684800;
/** xapi refuses VHD exports above this (Constants.max_vhd_size, 2040 GiB). */
export const MAX_VHD_SIZE = 2040 * 1024 * 1024 * 1024;

/** One's complement of the byte sum, the checksum field itself read as zero. */
function checksum(b: Buffer, field: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) if (i < field || i >= field + 4) sum += b[i];
  return ~sum >>> 0;
}

function checkFooter(footer: Buffer, where: string): number {
  if (footer.toString('latin1', 0, 8) !== 'conectix')
    throw new ImageError(`VHD footer ${where}: bad cookie`);
  if (footer.readUInt32BE(64) !== checksum(footer, 64))
    throw new ImageError(`VHD footer ${where}: bad checksum`);
  return footer.readUInt32BE(60);
}

/** Write the guest sectors of `data` (block starting at `base`) whose bitmap bit is set. */
function writeBitmapRuns(
  sink: GuestSink,
  base: number,
  bitmap: Buffer,
  data: Buffer,
  limit: number,
): void {
  const sectors = data.length / SECTOR;
  let run = -1;
  const flush = (end: number): void => {
    if (run < 0) return;
    const from = base + run * SECTOR;
    const to = Math.min(limit, base + end * SECTOR);
    if (to > from) sink(from, data.subarray(run * SECTOR, run * SECTOR + (to - from)));
    run = -1;
  };
  for (let s = 0; s < sectors; s++) {
    const set = (bitmap[s >> 3] & (0x80 >> (s & 7))) !== 0;
    if (set && run < 0) run = s;
    if (!set) flush(s);
  }
  flush(sectors);
}

/**
 * Read a VHD from `src`, handing its guest bytes to `sink` and yielding the share done after
 * each block (drive it with runParse). Refuses a bad cookie or checksum, a truncated file, and a
 * BAT or a block beyond the end of the file. Whether the disk is big enough is the sink's call.
 */
export function* parseVhd(src: ImageSource, sink: GuestSink): ImageParse {
  if (src.size < FOOTER) throw new ImageError('VHD truncated: shorter than a footer');
  const head = src.read(0, FOOTER);
  if (head.toString('latin1', 0, 8) !== 'conectix') {
    const type = checkFooter(src.read(src.size - FOOTER, FOOTER), 'at the end');
    if (type !== TYPE_FIXED) throw new ImageError(`VHD without a footer copy: type ${type}`);
    const footer = src.read(src.size - FOOTER, FOOTER);
    const size = u64(footer, 48);
    if (size > src.size - FOOTER) throw new ImageError('fixed VHD truncated');
    for (let at = 0; at < size; at += 2 * 1024 * 1024) {
      sink(at, src.read(at, Math.min(2 * 1024 * 1024, size - at)));
      yield at / size;
    }
    return { virtualSize: size };
  }
  const type = checkFooter(head, 'at the start');
  if (type !== TYPE_DYNAMIC && type !== TYPE_DIFFERENCING)
    throw new ImageError(`VHD disk type ${type} with a footer copy`, 'unsupported');
  const size = u64(head, 48);
  const headerAt = u64(head, 16);
  if (headerAt + HEADER > src.size) throw new ImageError('VHD truncated: dynamic header');
  const header = src.read(headerAt, HEADER);
  if (header.toString('latin1', 0, 8) !== 'cxsparse')
    throw new ImageError('VHD dynamic header: bad cookie');
  if (header.readUInt32BE(36) !== checksum(header, 36))
    throw new ImageError('VHD dynamic header: bad checksum');
  const tableAt = u64(header, 16);
  const entries = header.readUInt32BE(28);
  const blockSize = header.readUInt32BE(32);
  if (blockSize < SECTOR || (blockSize & (blockSize - 1)) !== 0)
    throw new ImageError(`VHD block size ${blockSize}`);
  if (entries * blockSize < size) throw new ImageError('VHD BAT smaller than the disk');
  if (tableAt + entries * 4 > src.size) throw new ImageError('VHD BAT beyond the end of the file');
  if (src.read(src.size - FOOTER, 8).toString('latin1') !== 'conectix')
    throw new ImageError('VHD truncated: no footer at the end');
  const bat = src.read(tableAt, entries * 4);
  const bitmapBytes = ceilDiv(blockSize / SECTOR / 8, SECTOR) * SECTOR;
  const end = src.size - FOOTER;
  for (let i = 0; i < entries; i++) {
    const sector = bat.readUInt32BE(i * 4);
    if (sector === UNUSED) continue;
    const at = sector * SECTOR;
    if (at + bitmapBytes + blockSize > end)
      throw new ImageError(`VHD BAT entry ${i} beyond the end of the file`);
    const base = i * blockSize;
    if (base >= size) continue;
    const bitmap = src.read(at, bitmapBytes);
    writeBitmapRuns(sink, base, bitmap, src.read(at + bitmapBytes, blockSize), size);
    yield i / entries;
  }
  return { virtualSize: size };
}

/** Cylinders, heads, sectors per track for `size` bytes (VHD spec, appendix). */
function geometry(size: number): [number, number, number] {
  let total = Math.min(Math.floor(size / SECTOR), 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  total = Math.floor(cth / heads);
  return [Math.min(total, 65535), heads, spt];
}

function footerFor(size: number, type: number, dataOffset: bigint, uniqueId: Buffer): Buffer {
  const f = Buffer.alloc(FOOTER);
  f.write('conectix', 0, 'latin1');
  f.writeUInt32BE(2, 8);
  f.writeUInt32BE(0x00010000, 12);
  f.writeBigUInt64BE(dataOffset, 16);
  f.writeUInt32BE(Math.max(0, Math.floor(Date.now() / 1000) - VHD_EPOCH), 24);
  f.write('tap\0', 28, 'latin1'); // as vhd-tool: readers take current_size, not the geometry
  f.writeUInt32BE(0x00010003, 32);
  f.write('Wi2k', 36, 'latin1');
  f.writeBigUInt64BE(BigInt(size), 40);
  f.writeBigUInt64BE(BigInt(size), 48);
  const [c, h, s] = geometry(size);
  f.writeUInt16BE(c, 56);
  f.writeUInt8(h, 58);
  f.writeUInt8(s, 59);
  f.writeUInt32BE(type, 60);
  uniqueId.copy(f, 68, 0, 16);
  f.writeUInt32BE(checksum(f, 64), 64);
  return f;
}

/** A dynamic VHD of `content` (footer copy, header, BAT, then bitmap and data per block). */
export function writeVhd(content: GuestContent, uniqueId: Buffer): ImageStream {
  const { virtualSize, blockSize, blocks } = content;
  const entries = ceilDiv(virtualSize, blockSize);
  const batBytes = ceilDiv(entries * 4, SECTOR) * SECTOR;
  const bitmapBytes = ceilDiv(blockSize / SECTOR / 8, SECTOR) * SECTOR;
  const dataAt = FOOTER + HEADER + batBytes;
  const footer = footerFor(virtualSize, TYPE_DYNAMIC, BigInt(FOOTER), uniqueId);
  const length = dataAt + blocks.length * (bitmapBytes + blockSize) + FOOTER;
  function* pieces(): Iterable<Buffer> {
    yield footer;
    const header = Buffer.alloc(HEADER);
    header.write('cxsparse', 0, 'latin1');
    header.writeBigUInt64BE(0xffffffffffffffffn, 8);
    header.writeBigUInt64BE(BigInt(FOOTER + HEADER), 16);
    header.writeUInt32BE(0x00010000, 24);
    header.writeUInt32BE(entries, 28);
    header.writeUInt32BE(blockSize, 32);
    header.writeUInt32BE(checksum(header, 36), 36);
    yield header;
    const bat = Buffer.alloc(batBytes, 0xff);
    blocks.forEach((block, n) =>
      bat.writeUInt32BE((dataAt + n * (bitmapBytes + blockSize)) / SECTOR, block * 4),
    );
    yield bat;
    const bitmap = Buffer.alloc(bitmapBytes, 0xff);
    for (const block of blocks) {
      yield bitmap;
      yield content.readBlock(block);
    }
    yield footer;
  }
  return { length, pieces };
}
