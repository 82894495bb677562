// Loads xapi_testing.node, the addon's test- and benchmark-only entry points (the `codec` exports
// and decodeIntoMirror), from beside the product module (so XCD_ADDON_PATH's sanitizer build
// brings its own), and types them. Only tests and benches import it; nothing in src/ may.
import * as path from 'node:path';
import { addonPath } from '../../src/xapi/addon';

/** A decoded RPC response: the result, or XAPI's ErrorDescription (code, then params). */
export type NativeResponse = { ok: true; value: unknown } | { ok: false; error: string[] };

export interface DecodeOptions {
  maxDepth?: number; // nested arrays/structs, default 128
  repairUtf8?: boolean; // default true: invalid UTF-8 becomes U+FFFD; false: DECODE_ERROR
}

/** Synchronous codec entry points (tests and benchmarks). Decode failures throw an Error
 *  with `code: 'DECODE_ERROR'` and the byte `offset`. */
export interface NativeCodec {
  xmlrpcEncodeCall(method: string, params: unknown[], opts?: { ints?: 'string' | 'i8' }): Buffer;
  xmlrpcEncodeResponse(
    response: { value?: unknown; error?: string[] },
    opts?: { ints?: 'string' | 'i8' },
  ): Buffer;
  xmlrpcDecodeResponse(body: Buffer | string, opts?: DecodeOptions): NativeResponse;
  xmlrpcDecodeCall(
    body: Buffer | string,
    opts?: DecodeOptions,
  ): { method: string; params: unknown[] };
  jsonrpcEncodeCall(method: string, params: unknown[], id?: number, version?: 1 | 2): Buffer;
  jsonrpcEncodeResponse(
    response: { value?: unknown; error?: string[] },
    id?: number,
    version?: 1 | 2,
  ): Buffer;
  jsonrpcDecodeResponse(body: Buffer | string, opts?: DecodeOptions): NativeResponse;
  jsonDecode(body: Buffer | string, opts?: DecodeOptions): unknown;
  /** Decodes into the C++ value tree only (no JS objects), timing it natively. */
  decodeNative(
    protocol: 'xml-rpc' | 'json-rpc',
    body: Buffer,
  ): { values: number; decodeMs: number; decodeCpuMs: number; freeMs: number };
  /** A get_all_records body through the event stream's decode (addon/src/xapi/bulk_decode.h):
   *  'auto' takes a helper thread while a core is spare, 'alone' never, 'helper' always.
   *  `pieces`: how many pieces were decoded apart (0: the body was decoded whole). */
  decodeBulk(
    protocol: 'xml-rpc' | 'json-rpc',
    body: Buffer | string,
    sharing?: 'auto' | 'alone' | 'helper',
  ): NativeResponse & { pieces: number };
  /** Epoch milliseconds of an XAPI datetime text, or null when it does not parse. */
  parseDatetime(text: string): number | null;
  formatDatetime(epochMs: number): string;
}

/** What decodeIntoMirror reports: native timings of one get_all_records load, in ms. */
export interface MirrorDecodeTimings {
  decodeMs: number;
  buildMs: number;
  freeMs: number;
  totalMs: number;
  rows: number;
  rowBytes: number;
}

export interface TestingAddon {
  codec: NativeCodec;
  /** Decodes a get_all_records body (no network) into a scratch mirror of `schema` (the
   *  datamodel tables of src/xapi/client.ts) on the calling thread, as the event stream loads a
   *  class, and reports the native timings. `sharing`: 'auto' (default, as the product: a helper
   *  thread while a core is spare), 'alone' (never one) or 'helper' (always one). */
  decodeIntoMirror(
    schema: Array<[string, Array<[string, string]>]>,
    cls: string,
    protocol: 'xml-rpc' | 'json-rpc',
    body: Buffer,
    sharing?: 'auto' | 'alone' | 'helper',
  ): MirrorDecodeTimings;
}

export function testingAddonPath(): string {
  return path.join(path.dirname(addonPath()), 'xapi_testing.node');
}

let loaded: TestingAddon | undefined;

export function loadTestingAddon(): TestingAddon {
  if (loaded) return loaded;
  const file = testingAddonPath();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as TestingAddon;
  } catch (err) {
    throw new Error(
      `cannot load the addon's test module from ${file}: ${(err as Error).message}\n` +
        'Build it with `npm install` or `npm run build:addon` (both targets of addon/binding.gyp).',
      { cause: err },
    );
  }
  return loaded;
}
