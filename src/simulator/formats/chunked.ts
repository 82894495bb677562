// xapi's `chunked` raw framing (vhd-tool's chunked.ml): a sequence of chunks, each a 12-byte
// little-endian header {offset: u64; len: u32} then len bytes to write at offset, ended by a
// chunk with offset 0 and len 0. This decodes it as it arrives, never holding a whole chunk.
import { ImageError, type GuestSink } from './image';

const HEADER = 12;

export class ChunkedDecoder {
  private header = Buffer.alloc(0);
  private offset = 0;
  private left = 0;
  done = false;

  constructor(private readonly sink: GuestSink) {}

  /** Feed the next bytes of the body. */
  push(buf: Buffer): void {
    let at = 0;
    while (at < buf.length) {
      if (this.done) throw new ImageError('chunked: data after the last chunk');
      if (this.left > 0) {
        const take = Math.min(this.left, buf.length - at);
        this.sink(this.offset, buf.subarray(at, at + take));
        this.offset += take;
        this.left -= take;
        at += take;
        continue;
      }
      const take = Math.min(HEADER - this.header.length, buf.length - at);
      this.header = Buffer.concat([this.header, buf.subarray(at, at + take)]);
      at += take;
      if (this.header.length < HEADER) continue;
      this.offset = Number(this.header.readBigUInt64LE(0));
      this.left = this.header.readUInt32LE(8);
      this.header = Buffer.alloc(0);
      if (this.offset === 0 && this.left === 0) this.done = true;
    }
  }

  /** The body ended: it must have ended with the last chunk. */
  end(): void {
    if (!this.done) throw new ImageError('chunked: body ended before the last chunk');
  }
}
