// xapi's chunked raw framing: chunks split anywhere across pushes land at their offsets, and a
// body without the final empty chunk, or data after it, is refused.
import { ChunkedDecoder } from '../../../src/simulator/formats/chunked';
import { ImageError } from '../../../src/simulator/formats/image';

const frame = (offset: number, data: string): Buffer => {
  const h = Buffer.alloc(12);
  h.writeBigUInt64LE(BigInt(offset));
  h.writeUInt32LE(data.length, 8);
  return Buffer.concat([h, Buffer.from(data)]);
};

test('chunks split at every byte land at their offsets', () => {
  const body = Buffer.concat([frame(10, 'hello'), frame(3, 'abc'), Buffer.alloc(12)]);
  const writes: [number, string][] = [];
  const d = new ChunkedDecoder((offset, data) => writes.push([offset, data.toString()]));
  for (let i = 0; i < body.length; i++) d.push(body.subarray(i, i + 1));
  d.end();
  const disk = Buffer.alloc(16, '.');
  for (const [offset, text] of writes) disk.write(text, offset);
  expect(disk.toString()).toBe('...abc....hello.');
});

test('a body without the last chunk, or with data after it, is refused', () => {
  const d = new ChunkedDecoder(() => undefined);
  d.push(frame(0, 'x'));
  expect(() => d.end()).toThrow(ImageError);
  const e = new ChunkedDecoder(() => undefined);
  expect(() => e.push(Buffer.concat([Buffer.alloc(12), Buffer.from('more')]))).toThrow(
    /after the last chunk/,
  );
});
