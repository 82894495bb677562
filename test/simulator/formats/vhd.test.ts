// VHD layouts: parseVhd reads qemu-img's dynamic and fixed images byte for byte (a differencing
// one only where its sector bitmaps say) and names what is wrong with corrupt ones (cookie,
// checksum, truncation, BAT or block beyond the file); writeVhd's dynamic images are what
// qemu-img and parseVhd read back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageError, runParse } from '../../../src/simulator/formats/image';
import { parseVhd, writeVhd } from '../../../src/simulator/formats/vhd';
import { MIB, qemuImg, sameContent } from '../wire/vdi-helpers';
import { images, memoryDisk, memorySource } from './source';

const SIZE = 6 * MIB;
const { raw, out } = images(
  SIZE,
  [
    [512, 1024],
    [4 * MIB, 8192],
  ],
  {
    dyn: ['vpc', 'subformat=dynamic,force_size=on'],
    fixed: ['vpc', 'subformat=fixed,force_size=on'],
  },
);

function parse(b: Buffer): Buffer {
  const disk = memoryDisk(SIZE);
  expect(runParse(parseVhd(memorySource(b), disk.sink))).toEqual({ virtualSize: SIZE });
  return disk.bytes;
}

function refusal(b: Buffer): ImageError {
  try {
    parse(b);
  } catch (err) {
    if (err instanceof ImageError) return err;
    throw err;
  }
  throw new Error('parsed');
}

/** The dynamic header's checksum: one's complement of its byte sum, the field read as zero. */
function headerChecksum(h: Buffer): number {
  let sum = 0;
  h.forEach((byte, i) => {
    if (i < 36 || i >= 40) sum += byte;
  });
  return ~sum >>> 0;
}

const edited = (b: Buffer, edit: (c: Buffer) => void): Buffer => {
  const c = Buffer.from(b);
  edit(c);
  return c;
};

test('dynamic and fixed images read back byte for byte', () => {
  expect(parse(out.dyn).equals(raw)).toBe(true);
  expect(parse(out.fixed).equals(raw)).toBe(true);
});

test('corrupt images are refused, naming what is wrong', () => {
  const dyn = out.dyn;
  const tableAt = Number(dyn.readBigUInt64BE(512 + 16));
  expect(refusal(Buffer.alloc(100)).message).toMatch(/shorter than a footer/);
  expect(refusal(edited(dyn, (c) => (c[70] ^= 1))).message).toMatch(
    /footer at the start: bad checksum/,
  );
  expect(refusal(edited(dyn, (c) => (c[512 + 40] ^= 1))).message).toMatch(
    /dynamic header: bad checksum/,
  );
  expect(refusal(edited(dyn, (c) => c.write('xxxxxxxx', 512))).message).toMatch(
    /dynamic header: bad cookie/,
  );
  expect(refusal(dyn.subarray(0, dyn.length - 300)).message).toMatch(/no footer at the end/);
  expect(refusal(edited(dyn, (c) => c.writeUInt32BE(0x00ffffff, tableAt))).message).toMatch(
    /BAT entry 0 beyond the end/,
  );
  const movedBat = edited(dyn, (c) => {
    c.writeBigUInt64BE(BigInt(dyn.length), 512 + 16);
    c.writeUInt32BE(headerChecksum(c.subarray(512, 512 + 1024)), 512 + 36);
  });
  expect(refusal(movedBat).message).toMatch(/VHD BAT beyond the end/);
  const fixed = out.fixed;
  expect(refusal(edited(fixed, (c) => (c[c.length - 512 + 70] ^= 1))).message).toMatch(
    /footer at the end: bad checksum/,
  );
  expect(refusal(Buffer.alloc(4096)).message).toMatch(/footer at the end: bad cookie/);
});

test('writeVhd lays out what qemu-img reads as the same disk, with its exact length', () => {
  const blockSize = 2 * MIB;
  const blocks = [0, 2];
  const image = writeVhd(
    {
      virtualSize: SIZE,
      blockSize,
      blocks,
      readBlock: (i) => raw.subarray(i * blockSize, (i + 1) * blockSize),
    },
    Buffer.alloc(16, 7),
  );
  const bytes = Buffer.concat([...image.pieces()]);
  expect(bytes.length).toBe(image.length);
  expect(parse(bytes).equals(raw)).toBe(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-vhd-'));
  try {
    fs.writeFileSync(`${dir}/w.vhd`, bytes);
    fs.writeFileSync(`${dir}/src.raw`, raw);
    const info = JSON.parse(qemuImg('info', '--output=json', `${dir}/w.vhd`));
    expect([info.format, info['virtual-size']]).toEqual(['vpc', SIZE]);
    expect(sameContent(`${dir}/w.vhd`, 'vpc', `${dir}/src.raw`)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a differencing VHD writes only the sectors its bitmaps mark', () => {
  const diff = Buffer.from(out.dyn);
  // footer copies say "differencing" (type 4), checksums redone
  for (const at of [0, diff.length - 512]) {
    diff.writeUInt32BE(4, at + 60);
    diff.writeUInt32BE(0, at + 64);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += diff[at + i];
    diff.writeUInt32BE(~sum >>> 0, at + 64);
  }
  // block 0's bitmap keeps sector 1 only (the data at 512..1535 covers sectors 1 and 2)
  const tableAt = Number(diff.readBigUInt64BE(512 + 16));
  const blockAt = diff.readUInt32BE(tableAt) * 512;
  diff.fill(0, blockAt, blockAt + 512);
  diff[blockAt] = 0x40;
  const under = Buffer.alloc(SIZE, 0xaa);
  runParse(parseVhd(memorySource(diff), (offset, data) => data.copy(under, offset)));
  expect(under.subarray(512, 1024).equals(raw.subarray(512, 1024))).toBe(true); // sector 1
  expect(under.subarray(0, 512).equals(Buffer.alloc(512, 0xaa))).toBe(true); // left alone
  expect(under.subarray(1024, 1536).equals(Buffer.alloc(512, 0xaa))).toBe(true);
  // the other block with data is whole
  expect(
    under.subarray(4 * MIB, 4 * MIB + 8192).equals(raw.subarray(4 * MIB, 4 * MIB + 8192)),
  ).toBe(true);
});
