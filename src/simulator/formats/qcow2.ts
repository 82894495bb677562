// qcow2 (QEMU's docs/interop/qcow2.txt): header v2/v3, L1 and L2 tables, refcount table and
// blocks. parseQcow2 reads an image as xapi's qcow-stream-tool does, refusing what it cannot
// take (encryption, backing files, compressed clusters, external data files, extended L2);
// writeQcow2 lays out a v3 image, metadata first. It knows no XAPI, no HTTP, no store.
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

const MAGIC = 0x514649fb; // 'QFI\xfb'
const OFFSET_MASK = 0x00fffffffffffe00n;
const COPIED = 1n << 63n;
const COMPRESSED = 1n << 62n;
const ZERO_FLAG = 1n;
const INCOMPAT_NAMES: Record<number, string> = {
  1: 'corrupt',
  2: 'external data file',
  4: 'extended L2 entries',
};

/**
 * Read a qcow2 image from `src`, handing its allocated guest clusters to `sink` and yielding the
 * share done after each L2 table's worth (drive it with runParse).
 */
export function* parseQcow2(src: ImageSource, sink: GuestSink): ImageParse {
  if (src.size < 72) throw new ImageError('qcow2 truncated: shorter than a header');
  const h = src.read(0, 104);
  if (h.readUInt32BE(0) !== MAGIC) throw new ImageError('qcow2: bad magic');
  const version = h.readUInt32BE(4);
  if (version !== 2 && version !== 3)
    throw new ImageError(`qcow2 version ${version}`, 'unsupported');
  if (u64(h, 8) !== 0 || h.readUInt32BE(16) !== 0)
    throw new ImageError('qcow2 with a backing file', 'unsupported');
  const clusterBits = h.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21)
    throw new ImageError(`qcow2 cluster_bits ${clusterBits}`);
  const cs = 2 ** clusterBits;
  const size = u64(h, 24);
  if (h.readUInt32BE(32) !== 0) throw new ImageError('encrypted qcow2', 'unsupported');
  const l1Size = h.readUInt32BE(36);
  const l1At = u64(h, 40);
  const refcountAt = u64(h, 48);
  const refcountClusters = h.readUInt32BE(56);
  if (version === 3) {
    const incompat = h.readBigUInt64BE(72);
    for (const [bit, name] of Object.entries(INCOMPAT_NAMES))
      if (incompat & (1n << BigInt(bit))) throw new ImageError(`qcow2 ${name}`, 'unsupported');
    // bits 0 (dirty) and 3 (compression type: only compressed clusters use it) are fine
    if (incompat >> 5n !== 0n)
      throw new ImageError('qcow2 unknown incompatible features', 'unsupported');
    const refcountOrder = h.readUInt32BE(96);
    if (refcountOrder > 6) throw new ImageError(`qcow2 refcount_order ${refcountOrder}`);
  }
  const l2Entries = cs / 8;
  if (l1Size < ceilDiv(size, cs * l2Entries)) throw new ImageError('qcow2 L1 table too small');
  if (l1At % cs !== 0 || l1At + l1Size * 8 > src.size)
    throw new ImageError('qcow2 L1 table beyond the end of the file');
  if (refcountAt % cs !== 0 || refcountAt + refcountClusters * cs > src.size)
    throw new ImageError('qcow2 refcount table beyond the end of the file');
  const l1 = src.read(l1At, l1Size * 8);
  const span = cs * l2Entries;
  for (let i = 0; i < l1Size; i++) {
    const l2At = Number(l1.readBigUInt64BE(i * 8) & OFFSET_MASK);
    if (l2At === 0 || i * span >= size) continue;
    if (l2At % cs !== 0 || l2At + cs > src.size)
      throw new ImageError(`qcow2 L2 table ${i} beyond the end of the file`);
    const l2 = src.read(l2At, cs);
    for (let j = 0; j < l2Entries; j++) {
      const guest = i * span + j * cs;
      if (guest >= size) break;
      const entry = l2.readBigUInt64BE(j * 8);
      if (entry & COMPRESSED) throw new ImageError('qcow2 compressed cluster', 'unsupported');
      const at = Number(entry & OFFSET_MASK);
      const length = Math.min(cs, size - guest);
      if (version === 3 && entry & ZERO_FLAG) {
        sink(guest, Buffer.alloc(length));
        continue;
      }
      if (at === 0) continue;
      if (at % cs !== 0 || at >= src.size)
        throw new ImageError(`qcow2 cluster ${guest / cs} beyond the end of the file`);
      sink(guest, src.read(at, length));
      if (j % 32 === 31) yield guest / size;
    }
    yield ((i + 1) * span) / size;
  }
  return { virtualSize: size };
}

/** A v3 qcow2 of `content` with 64 KiB clusters: header, refcounts, L1, L2s, then data. */
export function writeQcow2(content: GuestContent): ImageStream {
  const cs = 65536;
  const { virtualSize, blockSize } = content;
  const perBlock = blockSize / cs;
  const l2Entries = cs / 8;
  const clusters: number[] = []; // guest cluster indexes, ascending
  for (const block of content.blocks)
    for (let c = 0; c < perBlock; c++) {
      const index = block * perBlock + c;
      if (index * cs < virtualSize) clusters.push(index);
    }
  const l1Size = Math.max(1, ceilDiv(virtualSize, cs * l2Entries));
  const l1Clusters = ceilDiv(l1Size * 8, cs);
  const l2Tables = [...new Set(clusters.map((c) => Math.floor(c / l2Entries)))];
  const perRefblock = cs / 2; // refcount_order 4: 16-bit refcounts
  let refblocks = 1;
  let rtClusters = 1;
  let total = 0;
  for (;;) {
    total = 1 + rtClusters + refblocks + l1Clusters + l2Tables.length + clusters.length;
    const needBlocks = ceilDiv(total, perRefblock);
    const needRt = ceilDiv(needBlocks * 8, cs);
    if (needBlocks === refblocks && needRt === rtClusters) break;
    refblocks = needBlocks;
    rtClusters = needRt;
  }
  const rtAt = cs;
  const rbAt = rtAt + rtClusters * cs;
  const l1At = rbAt + refblocks * cs;
  const l2At = l1At + l1Clusters * cs;
  const dataAt = l2At + l2Tables.length * cs;
  const length = total * cs;
  function* pieces(): Iterable<Buffer> {
    const h = Buffer.alloc(cs);
    h.writeUInt32BE(MAGIC, 0);
    h.writeUInt32BE(3, 4);
    h.writeUInt32BE(16, 20);
    h.writeBigUInt64BE(BigInt(virtualSize), 24);
    h.writeUInt32BE(l1Size, 36);
    h.writeBigUInt64BE(BigInt(l1At), 40);
    h.writeBigUInt64BE(BigInt(rtAt), 48);
    h.writeUInt32BE(rtClusters, 56);
    h.writeUInt32BE(4, 96); // refcount_order
    h.writeUInt32BE(104, 100); // header_length; the zeros after it end the extensions
    yield h;
    const rt = Buffer.alloc(rtClusters * cs);
    for (let b = 0; b < refblocks; b++) rt.writeBigUInt64BE(BigInt(rbAt + b * cs), b * 8);
    yield rt;
    for (let b = 0; b < refblocks; b++) {
      const rb = Buffer.alloc(cs);
      for (let k = 0; k < perRefblock && b * perRefblock + k < total; k++)
        rb.writeUInt16BE(1, k * 2);
      yield rb;
    }
    const l1 = Buffer.alloc(l1Clusters * cs);
    l2Tables.forEach((t, n) => l1.writeBigUInt64BE(BigInt(l2At + n * cs) | COPIED, t * 8));
    yield l1;
    let next = 0;
    for (const t of l2Tables) {
      const l2 = Buffer.alloc(cs);
      while (next < clusters.length && Math.floor(clusters[next] / l2Entries) === t) {
        const at = BigInt(dataAt + next * cs) | COPIED;
        l2.writeBigUInt64BE(at, (clusters[next] % l2Entries) * 8);
        next++;
      }
      yield l2;
    }
    for (const block of content.blocks) {
      const data = content.readBlock(block);
      for (let c = 0; c < perBlock; c++)
        if ((block * perBlock + c) * cs < virtualSize) yield data.subarray(c * cs, (c + 1) * cs);
    }
  }
  return { length, pieces };
}
