// Test helper: reads the files of an ISO 9660 image through its Joliet tree (or the primary
// tree), independently of src/driver/iso9660.ts, to check what a config drive holds.
const SECTOR = 2048;

export interface IsoContents {
  label: string;
  jolietLabel?: string;
  files: Map<string, Buffer>;
}

function ucs2(buf: Buffer): string {
  let s = '';
  for (let i = 0; i + 1 < buf.length; i += 2) s += String.fromCharCode(buf.readUInt16BE(i));
  return s;
}

export function readIso(image: Buffer, tree: 'joliet' | 'primary' = 'joliet'): IsoContents {
  const files = new Map<string, Buffer>();
  let label = '';
  let jolietLabel: string | undefined;
  let root: Buffer | undefined;
  for (let s = 16; s < image.length / SECTOR; s++) {
    const d = image.subarray(s * SECTOR, (s + 1) * SECTOR);
    if (d.toString('ascii', 1, 6) !== 'CD001')
      throw new Error(`no volume descriptor at sector ${s}`);
    if (d[0] === 255) break;
    if (d[0] === 1) {
      label = d.toString('ascii', 40, 72).trim();
      if (tree === 'primary') root = d.subarray(156, 190);
    }
    if (d[0] === 2) {
      jolietLabel = ucs2(d.subarray(40, 72)).trim();
      if (tree === 'joliet') root = d.subarray(156, 190);
    }
  }
  if (!root) throw new Error(`no ${tree} tree`);
  const walk = (record: Buffer, path: string): void => {
    const extent = record.readUInt32LE(2);
    const size = record.readUInt32LE(10);
    let off = extent * SECTOR;
    const end = off + size;
    while (off < end) {
      const len = image[off]!;
      if (len === 0) {
        off = (Math.floor(off / SECTOR) + 1) * SECTOR;
        continue;
      }
      const rec = image.subarray(off, off + len);
      const idLen = rec[32]!;
      const idBytes = rec.subarray(33, 33 + idLen);
      off += len;
      if (idLen === 1 && (idBytes[0] === 0 || idBytes[0] === 1)) continue;
      let name = tree === 'joliet' ? ucs2(idBytes) : idBytes.toString('ascii');
      name = name.replace(/;1$/, '');
      const full = path ? `${path}/${name}` : name;
      if (rec[25]! & 2) walk(rec, full);
      else {
        const at = rec.readUInt32LE(2) * SECTOR;
        files.set(full, image.subarray(at, at + rec.readUInt32LE(10)));
      }
    }
  };
  walk(root, '');
  return { label, ...(jolietLabel !== undefined ? { jolietLabel } : {}), files };
}
