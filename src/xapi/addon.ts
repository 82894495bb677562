// Loads the native addon (addon/build/Release/xapi.node, or the file named by XCD_ADDON_PATH,
// which the sanitizer test run uses) once, and types its exports. It holds no client logic:
// callers in src/xapi wrap what it returns; nothing outside src/xapi and tests may import it.
import * as path from 'node:path';

/** A decoded RPC response: the result, or XAPI's ErrorDescription (code, then params). */
export type NativeResponse = { ok: true; value: unknown } | { ok: false; error: string[] };

export interface DecodeOptions {
  maxDepth?: number; // nested arrays/structs, default 128
  repairUtf8?: boolean; // default true: invalid UTF-8 becomes U+FFFD; false: DECODE_ERROR
}

/** Synchronous codec entry points (tests, benchmarks, tools). Decode failures throw an Error
 *  with `code: 'DECODE_ERROR'` and the byte `offset`. */
export interface NativeCodec {
  xmlrpcEncodeCall(method: string, params: unknown[], opts?: { ints?: 'string' | 'i8' }): Buffer;
  xmlrpcEncodeResponse(response: { value?: unknown; error?: string[] }, opts?: { ints?: 'string' | 'i8' }): Buffer;
  xmlrpcDecodeResponse(body: Buffer | string, opts?: DecodeOptions): NativeResponse;
  xmlrpcDecodeCall(body: Buffer | string, opts?: DecodeOptions): { method: string; params: unknown[] };
  jsonrpcEncodeCall(method: string, params: unknown[], id?: number, version?: 1 | 2): Buffer;
  jsonrpcEncodeResponse(response: { value?: unknown; error?: string[] }, id?: number, version?: 1 | 2): Buffer;
  jsonrpcDecodeResponse(body: Buffer | string, opts?: DecodeOptions): NativeResponse;
  jsonDecode(body: Buffer | string, opts?: DecodeOptions): unknown;
  /** Decodes into the C++ value tree only (no JS objects), timing it natively. */
  decodeNative(
    protocol: 'xml-rpc' | 'json-rpc',
    body: Buffer,
  ): { values: number; decodeMs: number; decodeCpuMs: number; freeMs: number };
  /** Epoch milliseconds of an XAPI datetime text, or null when it does not parse. */
  parseDatetime(text: string): number | null;
  formatDatetime(epochMs: number): string;
}

/** What the native client hands to JS for a failure (see addon/src/napi/errors.h). */
export interface NativeFailure extends Error {
  kind: 'xapi' | 'transport';
  code: string;
  params: string[];
  method: string;
}

export interface NativeChange {
  cls: string;
  ref: string;
  op: 'add' | 'mod' | 'del';
  uuid: string;
}

/** [field, map key or null, operator, values] */
export type NativeCond = [string, string | null, 'eq' | 'in' | 'exists' | 'missing', Array<string | number | boolean>];

export interface NativeClientConfig {
  url: string;
  user: string;
  password: string;
  protocol: 'auto' | 'json-rpc' | 'xml-rpc';
  tls: { caFile?: string; fingerprint?: string; insecure?: boolean };
  connectTimeoutMs: number;
  callTimeoutMs: number;
  maxResponseBytes: number;
  eventPollSeconds: number;
  schema: Array<[string, Array<[string, string]>]>;
  resultTypes: string[];
  mirror: string[];
  onChange: (batch: NativeChange[]) => void;
}

/** The native client object (addon/src/napi/client_wrap.h). Only src/xapi/client.ts uses it. */
export interface NativeClient {
  connect(): Promise<{ sessionRef: string; masterUrl: string; protocol: string }>;
  call(method: string, args: unknown[], resultType?: string | null): Promise<unknown>;
  taskResult(text: string, resultType?: string | null): unknown;
  /** With `asJson`, the record comes as JSON text when it has a faithful JSON form. */
  mirrorGet(cls: string, key: string, byUuid: boolean, asJson?: boolean): Record<string, unknown> | string | undefined;
  mirrorQuery(
    cls: string,
    where: NativeCond[],
    fields: string[] | null,
    offset: number,
    limit: number,
    asJson?: boolean,
  ): Array<Record<string, unknown>> | string;
  mirrorCount(cls: string, where: NativeCond[]): number;
  synced(): boolean;
  keepAlive(on: boolean): void;
  /** True once tasks are mirrored as of an event.from issued after the call (false: unknown). */
  syncTasks(): Promise<boolean>;
  info(): { sessionRef: string; masterUrl: string; protocol: string; generation: number; resyncs: number };
  httpPut(path: string, query: string, body: Buffer): Promise<void>;
  close(): Promise<void>;
  /** Benchmarks: decodes a get_all_records body into a scratch mirror on this thread. */
  decodeIntoMirror(
    cls: string,
    protocol: 'xml-rpc' | 'json-rpc',
    body: Buffer,
  ): { decodeMs: number; buildMs: number; freeMs: number; totalMs: number; rows: number; rowBytes: number };
}

export interface NativeAddon {
  codec: NativeCodec;
  NativeClient: new (config: NativeClientConfig) => NativeClient;
  [name: string]: unknown;
}

/** Wraps a number so that it goes out as an XML-RPC <double> / JSON float even when integral. */
export function xapiDouble(n: number): unknown {
  return { [Symbol.for('xapi.double')]: n };
}

/** Wraps a number, bigint or decimal string so that it goes out as an int64. */
export function xapiInt(n: number | bigint | string): unknown {
  return { [Symbol.for('xapi.int')]: n };
}

export function addonPath(): string {
  return process.env.XCD_ADDON_PATH
    ? path.resolve(process.env.XCD_ADDON_PATH)
    : path.resolve(__dirname, '../../addon/build/Release/xapi.node');
}

let loaded: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (loaded) return loaded;
  const file = addonPath();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file) as NativeAddon;
  } catch (err) {
    throw new Error(
      `cannot load the native XAPI addon from ${file}: ${(err as Error).message}\n` +
        'Build it with `npm install` (runs node-gyp rebuild -C addon) or `npx node-gyp rebuild -C addon`.',
      { cause: err },
    );
  }
  return loaded;
}
