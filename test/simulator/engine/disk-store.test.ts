// The disk store: writes land where asked and reads of unwritten blocks are zeros; all-zero
// writes into unwritten blocks leave holes; copies are sparse; remove and close delete the files.
import fs from 'node:fs';
import { DISK_BLOCK, DiskStore } from '../../../src/simulator/engine/disk-store';
import { Store } from '../../../src/simulator/engine/store';

const GIB = 1024 * 1024 * 1024;

test('writes, reads, holes and sparse copies', () => {
  const disks = new DiskStore(new Store());
  try {
    const disk = disks.open('a', 2 * GIB);
    disk.write(3 * DISK_BLOCK - 5, Buffer.from('across-blocks'));
    disk.write(100 * DISK_BLOCK, Buffer.alloc(DISK_BLOCK)); // zeros: stays a hole
    expect(disk.allocated()).toEqual([2, 3]);
    expect(disk.read(3 * DISK_BLOCK - 5, 13).toString()).toBe('across-blocks');
    expect(disk.read(50 * DISK_BLOCK, 4).equals(Buffer.alloc(4))).toBe(true);
    expect(fs.statSync(disk.file).size).toBe(2 * GIB);
    expect(disk.allocatedBytes()).toBeLessThan(2 * DISK_BLOCK);
    expect(() => disk.write(2 * GIB - 1, Buffer.from('xy'))).toThrow(RangeError);
    // zeros written over data do overwrite it
    disk.write(3 * DISK_BLOCK - 5, Buffer.alloc(6));
    expect(disk.read(3 * DISK_BLOCK - 5, 13).toString('latin1')).toBe('\0'.repeat(6) + '-blocks');
    const copy = disks.copy('a', 'b', 2 * GIB)!;
    expect(copy.allocated()).toEqual([3]); // block 2 is all zeros now: the copy leaves it a hole
    expect(copy.read(3 * DISK_BLOCK + 1, 7).toString()).toBe('-blocks');
    expect(copy.allocatedBytes()).toBeLessThan(2 * DISK_BLOCK);
    expect(disks.copy('none', 'c', 10)).toBeUndefined();
    disks.remove('a');
    expect(fs.existsSync(disk.file)).toBe(false);
    expect(disks.get('a')).toBeUndefined();
    const folder = copy.file.slice(0, copy.file.lastIndexOf('/'));
    disks.close();
    expect(fs.existsSync(folder)).toBe(false);
  } finally {
    disks.close();
  }
});
