// Loads the native addon (addon/build/Release/xapi.node, or the file named by XCD_ADDON_PATH,
// which the sanitizer test run uses) once, and types its exports. It holds no client logic:
// callers in src/xapi wrap what it returns; nothing outside src/xapi, tests and benches may
// import it. It never loads the test-only module (xapi_testing.node).
import * as path from 'node:path';

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
export type NativeCond = [
  string,
  string | null,
  'eq' | 'in' | 'exists' | 'missing',
  Array<string | number | boolean>,
];

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
  mirrorGet(
    cls: string,
    key: string,
    byUuid: boolean,
    asJson?: boolean,
  ): Record<string, unknown> | string | undefined;
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
  info(): {
    sessionRef: string;
    masterUrl: string;
    protocol: string;
    generation: number;
    resyncs: number;
  };
  /** How many times the mirror has reloaded (the `resyncs` of info(), without the object). */
  resyncs(): number;
  httpPut(path: string, query: string, body: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** The product module's exports. Test- and benchmark-only entry points are not among them: they
 *  live in xapi_testing.node, which only test/ and bench/ load (test/xapi/testing-addon.ts). */
export interface NativeAddon {
  NativeClient: new (config: NativeClientConfig) => NativeClient;
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
