// The screen a simulated VM's console shows: a test pattern (colour bars and a frame), the VM's
// name in a 5x7 bitmap font, the keys typed and the pointer's position and clicks, drawn into
// an RGB framebuffer and encoded as RFB Raw pixels in whatever pixel format the client set.
// Pure drawing and encoding: no socket, no store.

/** 5x7 glyphs, one row per entry, bit 4 the leftmost column. Lower case draws as upper case. */
/* prettier-ignore */
const FONT: Record<string, number[]> = {
  A: [14, 17, 17, 31, 17, 17, 17], B: [30, 17, 17, 30, 17, 17, 30], C: [14, 17, 16, 16, 16, 17, 14],
  D: [30, 17, 17, 17, 17, 17, 30], E: [31, 16, 16, 30, 16, 16, 31], F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15], H: [17, 17, 17, 31, 17, 17, 17], I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12], K: [17, 18, 20, 24, 20, 18, 17], L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17], N: [17, 17, 25, 21, 19, 17, 17], O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16], Q: [14, 17, 17, 17, 21, 18, 13], R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30], T: [31, 4, 4, 4, 4, 4, 4], U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4], W: [17, 17, 17, 21, 21, 21, 10], X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 10, 4, 4, 4, 4], Z: [31, 1, 2, 4, 8, 16, 31],
  '0': [14, 17, 19, 21, 25, 17, 14], '1': [4, 12, 4, 4, 4, 4, 14], '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14], '4': [2, 6, 10, 18, 31, 2, 2], '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14], '7': [31, 1, 2, 4, 8, 8, 8], '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  '-': [0, 0, 0, 31, 0, 0, 0], _: [0, 0, 0, 0, 0, 0, 31], '.': [0, 0, 0, 0, 0, 12, 12],
  ':': [0, 12, 12, 0, 12, 12, 0], ',': [0, 0, 0, 0, 12, 4, 8], '/': [0, 1, 2, 4, 8, 16, 0],
  '=': [0, 0, 31, 0, 31, 0, 0], '(': [2, 4, 8, 8, 8, 4, 2], ')': [8, 4, 2, 2, 2, 4, 8],
  ' ': [0, 0, 0, 0, 0, 0, 0],
};
const UNKNOWN = [31, 17, 17, 17, 17, 17, 31];

/** What the screen shows besides the pattern. */
export interface ScreenState {
  name: string;
  typed: string;
  pointer: { x: number; y: number; clicks: number };
}

/** An RFB pixel format (the fields of SetPixelFormat). */
export interface PixelFormat {
  bitsPerPixel: number;
  bigEndian: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

const BARS: Array<[number, number, number]> = [
  [192, 192, 192],
  [192, 192, 0],
  [0, 192, 192],
  [0, 192, 0],
  [192, 0, 192],
  [192, 0, 0],
  [0, 0, 192],
];

export class Screen {
  /** RGB, three bytes a pixel. */
  readonly rgb: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Uint8Array(width * height * 3);
  }

  #fill(x0: number, y0: number, w: number, h: number, [r, g, b]: [number, number, number]): void {
    for (let y = Math.max(0, y0); y < Math.min(this.height, y0 + h); y++)
      for (let x = Math.max(0, x0); x < Math.min(this.width, x0 + w); x++) {
        const i = (y * this.width + x) * 3;
        this.rgb[i] = r;
        this.rgb[i + 1] = g;
        this.rgb[i + 2] = b;
      }
  }

  #text(
    text: string,
    x0: number,
    y0: number,
    scale: number,
    colour: [number, number, number],
  ): void {
    let x = x0;
    for (const ch of text) {
      const glyph = FONT[ch.toUpperCase()] ?? UNKNOWN;
      glyph.forEach((row, gy) => {
        for (let gx = 0; gx < 5; gx++)
          if (row & (16 >> gx)) this.#fill(x + gx * scale, y0 + gy * scale, scale, scale, colour);
      });
      x += 6 * scale;
    }
  }

  /** Redraws everything from `state`. */
  draw(state: ScreenState): void {
    const { width, height } = this;
    const barW = Math.ceil(width / BARS.length);
    BARS.forEach((c, i) => this.#fill(i * barW, 0, barW, Math.floor(height * 0.6), c));
    for (let x = 0; x < width; x++) {
      const v = Math.floor((x * 255) / Math.max(1, width - 1));
      this.#fill(x, Math.floor(height * 0.6), 1, height - Math.floor(height * 0.6), [v, v, v]);
    }
    this.#fill(16, 16, width - 32, 150, [16, 16, 48]);
    this.#text(state.name, 28, 28, 4, [255, 255, 255]);
    this.#text(`keys: ${state.typed.slice(-30)}`, 28, 80, 2, [255, 255, 0]);
    const p = state.pointer;
    this.#text(`pointer: ${p.x},${p.y} clicks: ${p.clicks}`, 28, 110, 2, [0, 255, 255]);
  }

  /** The rectangle's pixels in `format`, row by row (RFB Raw encoding). */
  encode(format: PixelFormat, x0: number, y0: number, w: number, h: number): Buffer {
    const bytes = format.bitsPerPixel / 8;
    const out = Buffer.alloc(w * h * bytes);
    let o = 0;
    for (let y = y0; y < y0 + h; y++)
      for (let x = x0; x < x0 + w; x++) {
        const i = (y * this.width + x) * 3;
        const v =
          ((Math.round((this.rgb[i] * format.redMax) / 255) << format.redShift) |
            (Math.round((this.rgb[i + 1] * format.greenMax) / 255) << format.greenShift) |
            (Math.round((this.rgb[i + 2] * format.blueMax) / 255) << format.blueShift)) >>>
          0;
        if (bytes === 4) {
          if (format.bigEndian) out.writeUInt32BE(v, o);
          else out.writeUInt32LE(v, o);
        } else if (bytes === 2) {
          if (format.bigEndian) out.writeUInt16BE(v & 0xffff, o);
          else out.writeUInt16LE(v & 0xffff, o);
        } else out[o] = v & 0xff;
        o += bytes;
      }
    return out;
  }
}
