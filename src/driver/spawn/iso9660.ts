// A minimal ISO 9660 image writer (ECMA-119) with a Joliet tree, built in memory: enough for a
// config drive (a few small files in a few directories, readable by Linux, Windows and
// cloud-init under their original lowercase names). It knows nothing of XAPI or of config
// drives; it never touches the file system.

const SECTOR = 2048;

export interface IsoFile {
  /** Path inside the image, '/'-separated, e.g. 'openstack/latest/meta_data.json'. */
  path: string;
  data: Buffer;
}

interface DirNode {
  name: string;
  dirs: Map<string, DirNode>;
  files: Map<string, FileNode>;
  parent: DirNode | null;
  /** Numbers and sectors, filled during layout; index 0 = primary tree, 1 = Joliet tree. */
  number: number;
  sector: [number, number];
  size: [number, number];
}

interface FileNode {
  name: string;
  data: Buffer;
  sector: number;
}

function both16(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(value, 0);
  b.writeUInt16BE(value, 2);
  return b;
}

function both32(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(value, 0);
  b.writeUInt32BE(value, 4);
  return b;
}

/** Padded text field: ASCII for the primary descriptor, UCS-2 big endian for Joliet. */
function textField(text: string, length: number, joliet: boolean): Buffer {
  const out = Buffer.alloc(length, joliet ? 0 : 0x20);
  if (joliet) {
    for (let i = 0; i * 2 + 1 < length; i++) out.writeUInt16BE(0x0020, i * 2);
    const ucs = ucs2be(text);
    ucs.copy(out, 0, 0, Math.min(ucs.length, length - (length % 2)));
  } else {
    out.write(text.slice(0, length), 0, 'ascii');
  }
  return out;
}

function ucs2be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  const out = Buffer.alloc(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    out[i] = le[i + 1]!;
    out[i + 1] = le[i]!;
  }
  return out;
}

function volumeDate(d: Date): Buffer {
  const pad = (n: number, w: number): string => String(n).padStart(w, '0');
  const text =
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1, 2) +
    pad(d.getUTCDate(), 2) +
    pad(d.getUTCHours(), 2) +
    pad(d.getUTCMinutes(), 2) +
    pad(d.getUTCSeconds(), 2) +
    '00';
  return Buffer.concat([Buffer.from(text, 'ascii'), Buffer.from([0])]);
}

const NO_DATE = Buffer.concat([Buffer.from('0000000000000000', 'ascii'), Buffer.from([0])]);

function recordDate(d: Date): Buffer {
  return Buffer.from([
    d.getUTCFullYear() - 1900,
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    0,
  ]);
}

/** Primary-tree identifiers: uppercase d-characters, ISO level 2 length, files get ';1'. */
function primaryName(name: string, isDir: boolean): string {
  const upper = name.toUpperCase().replace(/[^A-Z0-9_.]/g, '_');
  if (isDir) return upper.replace(/\./g, '_').slice(0, 31);
  const dot = upper.lastIndexOf('.');
  const ext = dot >= 0 ? upper.slice(dot + 1).slice(0, 8) : '';
  const base = (dot >= 0 ? upper.slice(0, dot) : upper).replace(/\./g, '_');
  return `${base.slice(0, 29 - ext.length)}.${ext};1`;
}

function identifier(name: string, isDir: boolean, joliet: boolean): Buffer {
  return joliet ? ucs2be(name.slice(0, 64)) : Buffer.from(primaryName(name, isDir), 'ascii');
}

function dirRecord(id: Buffer, sector: number, size: number, isDir: boolean, date: Date): Buffer {
  const len = 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
  const rec = Buffer.alloc(len);
  rec[0] = len;
  rec[1] = 0;
  both32(sector).copy(rec, 2);
  both32(size).copy(rec, 10);
  recordDate(date).copy(rec, 18);
  rec[25] = isDir ? 0x02 : 0x00;
  rec[26] = 0;
  rec[27] = 0;
  both16(1).copy(rec, 28);
  rec[32] = id.length;
  id.copy(rec, 33);
  return rec;
}

function sortedDirs(dir: DirNode, joliet: boolean): DirNode[] {
  return [...dir.dirs.values()].sort((a, b) =>
    Buffer.compare(identifier(a.name, true, joliet), identifier(b.name, true, joliet)),
  );
}

function childRecords(dir: DirNode, t: 0 | 1, date: Date): Buffer[] {
  const joliet = t === 1;
  const entries: Array<{ id: Buffer; sector: number; size: number; isDir: boolean }> = [];
  for (const d of dir.dirs.values())
    entries.push({
      id: identifier(d.name, true, joliet),
      sector: d.sector[t],
      size: d.size[t],
      isDir: true,
    });
  for (const f of dir.files.values())
    entries.push({
      id: identifier(f.name, false, joliet),
      sector: f.sector,
      size: f.data.length,
      isDir: false,
    });
  entries.sort((a, b) => Buffer.compare(a.id, b.id));
  const self = dirRecord(Buffer.from([0]), dir.sector[t], dir.size[t], true, date);
  const up = dir.parent ?? dir;
  const parent = dirRecord(Buffer.from([1]), up.sector[t], up.size[t], true, date);
  return [self, parent, ...entries.map((e) => dirRecord(e.id, e.sector, e.size, e.isDir, date))];
}

/** Lays records into sectors: a record never crosses a sector boundary. */
function directorySize(records: Buffer[]): number {
  let used = 0;
  let sectors = 1;
  for (const r of records) {
    if (used + r.length > SECTOR) {
      sectors++;
      used = 0;
    }
    used += r.length;
  }
  return sectors * SECTOR;
}

function directoryBytes(records: Buffer[], size: number): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  for (const r of records) {
    if ((off % SECTOR) + r.length > SECTOR) off = Math.ceil(off / SECTOR) * SECTOR;
    r.copy(out, off);
    off += r.length;
  }
  return out;
}

function pathTable(dirs: DirNode[], t: 0 | 1, bigEndian: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const d of dirs) {
    const id = d.parent ? identifier(d.name, true, t === 1) : Buffer.from([0]);
    const rec = Buffer.alloc(8 + id.length + (id.length % 2));
    rec[0] = id.length;
    rec[1] = 0;
    const parentNumber = d.parent ? d.parent.number : 1;
    if (bigEndian) {
      rec.writeUInt32BE(d.sector[t], 2);
      rec.writeUInt16BE(parentNumber, 6);
    } else {
      rec.writeUInt32LE(d.sector[t], 2);
      rec.writeUInt16LE(parentNumber, 6);
    }
    id.copy(rec, 8);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}

function volumeDescriptor(opts: {
  joliet: boolean;
  label: string;
  totalSectors: number;
  pathTableSize: number;
  lSector: number;
  mSector: number;
  root: Buffer;
  date: Date;
}): Buffer {
  const d = Buffer.alloc(SECTOR);
  d[0] = opts.joliet ? 2 : 1;
  d.write('CD001', 1, 'ascii');
  d[6] = 1;
  textField('LINUX', 32, opts.joliet).copy(d, 8);
  textField(opts.label, 32, opts.joliet).copy(d, 40);
  both32(opts.totalSectors).copy(d, 80);
  if (opts.joliet) d.write('%/E', 88, 'ascii'); // UCS-2 level 3
  both16(1).copy(d, 120);
  both16(1).copy(d, 124);
  both16(SECTOR).copy(d, 128);
  both32(opts.pathTableSize).copy(d, 132);
  d.writeUInt32LE(opts.lSector, 140);
  d.writeUInt32BE(opts.mSector, 148);
  opts.root.copy(d, 156);
  for (const [off, len] of [
    [190, 128],
    [318, 128],
    [446, 128],
    [574, 128],
    [702, 37],
    [739, 37],
    [776, 37],
  ] as const)
    textField('', len, opts.joliet).copy(d, off);
  volumeDate(opts.date).copy(d, 813);
  volumeDate(opts.date).copy(d, 830);
  NO_DATE.copy(d, 847);
  NO_DATE.copy(d, 864);
  d[881] = 1;
  return d;
}

function buildTree(files: IsoFile[]): DirNode {
  const mk = (name: string, parent: DirNode | null): DirNode => ({
    name,
    dirs: new Map(),
    files: new Map(),
    parent,
    number: 0,
    sector: [0, 0],
    size: [0, 0],
  });
  const root = mk('', null);
  for (const f of files) {
    const parts = f.path.split('/').filter((p) => p.length > 0);
    const fileName = parts.pop();
    if (!fileName) throw new Error(`empty ISO path '${f.path}'`);
    let dir = root;
    for (const p of parts) {
      let next = dir.dirs.get(p);
      if (!next) {
        next = mk(p, dir);
        dir.dirs.set(p, next);
      }
      dir = next;
    }
    dir.files.set(fileName, { name: fileName, data: f.data, sector: 0 });
  }
  return root;
}

/** Directories in path-table order: breadth first, siblings sorted by identifier. */
function levelOrder(root: DirNode, t: 0 | 1): DirNode[] {
  const out: DirNode[] = [root];
  for (let i = 0; i < out.length; i++) out.push(...sortedDirs(out[i]!, t === 1));
  return out;
}

/** Builds the image. `label` is the volume identifier (e.g. 'config-2'). */
export function buildIso(label: string, files: IsoFile[], date: Date = new Date()): Buffer {
  const root = buildTree(files);
  const orders: [DirNode[], DirNode[]] = [levelOrder(root, 0), levelOrder(root, 1)];

  // Sectors 0-15 system area, 16 primary, 17 Joliet, 18 terminator, then path tables.
  let next = 19;
  const tables: Array<{ l: number; m: number; size: number }> = [];
  for (const t of [0, 1] as const) {
    orders[t].forEach((d, i) => (d.number = i + 1));
    const size = pathTable(orders[t], t, false).length;
    const sectors = Math.max(1, Math.ceil(size / SECTOR));
    tables.push({ l: next, m: next + sectors, size });
    next += 2 * sectors;
  }
  // Directory extents: sizes first (they depend only on names), then sectors.
  for (const t of [0, 1] as const) {
    for (const d of orders[t]) d.size[t] = directorySize(childRecords(d, t, date));
    for (const d of orders[t]) {
      d.sector[t] = next;
      next += d.size[t] / SECTOR;
    }
  }
  const allFiles: FileNode[] = [];
  for (const d of orders[0]) allFiles.push(...d.files.values());
  for (const f of allFiles) {
    f.sector = next;
    next += Math.max(1, Math.ceil(f.data.length / SECTOR));
  }
  const total = next;

  const image = Buffer.alloc(total * SECTOR);
  for (const t of [0, 1] as const) {
    orders[t].forEach((d, i) => (d.number = i + 1));
    const rootRecord = dirRecord(Buffer.from([0]), root.sector[t], root.size[t], true, date);
    volumeDescriptor({
      joliet: t === 1,
      label,
      totalSectors: total,
      pathTableSize: tables[t]!.size,
      lSector: tables[t]!.l,
      mSector: tables[t]!.m,
      root: rootRecord,
      date,
    }).copy(image, (16 + t) * SECTOR);
    pathTable(orders[t], t, false).copy(image, tables[t]!.l * SECTOR);
    pathTable(orders[t], t, true).copy(image, tables[t]!.m * SECTOR);
    for (const d of orders[t])
      directoryBytes(childRecords(d, t, date), d.size[t]).copy(image, d.sector[t] * SECTOR);
  }
  const term = Buffer.alloc(SECTOR);
  term[0] = 255;
  term.write('CD001', 1, 'ascii');
  term[6] = 1;
  term.copy(image, 18 * SECTOR);
  for (const f of allFiles) f.data.copy(image, f.sector * SECTOR);
  return image;
}
