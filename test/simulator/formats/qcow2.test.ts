// qcow2 layouts: parseQcow2 reads qemu-img's v2 and v3 images byte for byte and refuses bad
// magic, tables beyond the file, encryption, backing files and compressed clusters; writeQcow2's
// images pass qemu-img check and compare.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageError, runParse } from '../../../src/simulator/formats/image';
import { parseQcow2, writeQcow2 } from '../../../src/simulator/formats/qcow2';
import { MIB, qemuImg, sameContent } from '../wire/vdi-helpers';
import { images, memoryDisk, memorySource } from './source';

const SIZE = 6 * MIB;
const { raw, out } = images(
  SIZE,
  [
    [0, 4096],
    [5 * MIB, 65536 + 4096],
  ],
  {
    v3: ['qcow2', 'compat=1.1'],
    v2: ['qcow2', 'compat=0.10'],
  },
);

function parse(b: Buffer): Buffer {
  const disk = memoryDisk(SIZE);
  expect(runParse(parseQcow2(memorySource(b), disk.sink))).toEqual({ virtualSize: SIZE });
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

const edited = (b: Buffer, edit: (c: Buffer) => void): Buffer => {
  const c = Buffer.from(b);
  edit(c);
  return c;
};

test('v2 and v3 images read back byte for byte', () => {
  expect(parse(out.v3).equals(raw)).toBe(true);
  expect(parse(out.v2).equals(raw)).toBe(true);
});

test('corrupt or unsupported images are refused, naming what is wrong', () => {
  const v3 = out.v3;
  expect(refusal(edited(v3, (c) => c.write('QFX', 0, 'latin1'))).message).toMatch(/bad magic/);
  expect(
    refusal(edited(v3, (c) => c.writeBigUInt64BE(BigInt(v3.length + 65536), 40))).message,
  ).toMatch(/L1 table beyond the end/);
  expect(refusal(edited(v3, (c) => c.writeUInt32BE(0, 36))).message).toMatch(/L1 table too small/);
  expect(refusal(edited(v3, (c) => c.writeUInt32BE(1, 32))).kind).toBe('unsupported');
  expect(refusal(edited(v3, (c) => c.writeBigUInt64BE(4096n, 8))).message).toMatch(/backing file/);
  expect(refusal(edited(v3, (c) => c.writeUInt32BE(7, 4))).message).toMatch(/version 7/);
  expect(refusal(edited(v3, (c) => c.writeBigUInt64BE(2n, 72))).message).toMatch(/corrupt/);
  expect(refusal(v3.subarray(0, 40)).message).toMatch(/truncated/);
  // an L2 entry marked compressed
  const l1At = Number(v3.readBigUInt64BE(40));
  const l2At = Number(v3.readBigUInt64BE(l1At) & 0x00fffffffffffe00n);
  const compressed = edited(v3, (c) =>
    c.writeBigUInt64BE(c.readBigUInt64BE(l2At) | (1n << 62n), l2At),
  );
  expect(refusal(compressed).message).toMatch(/compressed cluster/);
});

test('writeQcow2 lays out an image qemu-img checks clean and reads as the same disk', () => {
  const blockSize = 2 * MIB;
  const image = writeQcow2({
    virtualSize: SIZE,
    blockSize,
    blocks: [0, 2],
    readBlock: (i) => raw.subarray(i * blockSize, (i + 1) * blockSize),
  });
  const bytes = Buffer.concat([...image.pieces()]);
  expect(bytes.length).toBe(image.length);
  expect(parse(bytes).equals(raw)).toBe(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xcd-qcow2-'));
  try {
    fs.writeFileSync(`${dir}/w.qcow2`, bytes);
    fs.writeFileSync(`${dir}/src.raw`, raw);
    qemuImg('check', `${dir}/w.qcow2`); // throws on any error or leak
    const info = JSON.parse(qemuImg('info', '--output=json', `${dir}/w.qcow2`));
    expect([info.format, info['virtual-size'], info['format-specific'].data.compat]).toEqual([
      'qcow2',
      SIZE,
      '1.1',
    ]);
    expect(sameContent(`${dir}/w.qcow2`, 'qcow2', `${dir}/src.raw`)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
