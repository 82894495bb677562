// What every image format shares: the seekable source a parser reads, the sink it writes guest
// bytes to, the block list a writer lays out, and ImageError for corrupt or unsupported input.
// It knows no format's layout and nothing of XAPI or HTTP.

/** A seekable image file: `read` returns exactly `length` bytes, zeros past the end. */
export interface ImageSource {
  size: number;
  read(offset: number, length: number): Buffer;
}

/**
 * Receives the guest's bytes at guest offsets, in no particular order; it throws when the target
 * cannot take them (a write beyond a smaller disk).
 */
export type GuestSink = (offset: number, data: Buffer) => void;

/** What a parser found: the image's virtual size. */
export interface ParsedImage {
  virtualSize: number;
}

/**
 * A parse in progress: it yields the share of the image done (0..1) between pieces of work, so
 * a caller can let other work run, and returns what it found.
 */
export type ImageParse = Generator<number, ParsedImage, void>;

/** Run a parse to its end at once. */
export function runParse(parse: ImageParse): ParsedImage {
  for (;;) {
    const step = parse.next();
    if (step.done) return step.value;
  }
}

/** The guest content a writer lays out: `blocks` of `blockSize` bytes, in ascending order. */
export interface GuestContent {
  virtualSize: number;
  blockSize: number;
  blocks: number[];
  /** Block `index` (blockSize bytes, zero-padded past virtualSize). */
  readBlock(index: number): Buffer;
}

/** A laid-out image: its exact length, and its bytes piece by piece. */
export interface ImageStream {
  length: number;
  pieces(): Iterable<Buffer>;
}

/** Corrupt or unsupported input, or bytes beyond what the target holds ('too_large'). */
export class ImageError extends Error {
  constructor(
    message: string,
    readonly kind: 'corrupt' | 'unsupported' | 'too_large' = 'corrupt',
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** The 64-bit big-endian unsigned at `at`, as a number (exact up to 2^53). */
export function u64(b: Buffer, at: number): number {
  return Number(b.readBigUInt64BE(at));
}
