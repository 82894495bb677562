// XapiClient: the typed face of the native client. Validates options and arguments at the edge,
// prepends the session (natively), types results by the datamodel, tracks Async.* tasks through
// the mirror's task records (never by polling) and rethrows failures with the caller's stack.
// A task that does not settle within taskTimeoutMs (per call: timeoutMs) is cancelled and its
// call rejects with TransportError code 'ETIMEDOUT'. Every task the client starts is destroyed
// (best effort): once settled, or, when its call is given up (timeout, close), at once, which
// XAPI carries out when the task ends.
// It knows nothing of HTTP routes or the driver; the native object never leaves this file.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import { loadAddon, type NativeChange, type NativeClient } from './addon';
import { DATAMODEL, XAPI_CLASSES, type XapiClass } from './datamodel.generated';
import {
  TransportError,
  XapiError,
  captureCaller,
  fromNative,
  withCallerStack,
  type CallerStack,
} from './errors';
import { MirrorView, type MirrorChange } from './mirror';

export interface XapiClientOptions {
  url: string; // 'http://h:p', 'https://h', 'unix:///var/lib/xcp/xapi'
  user: string;
  password: string;
  protocol?: 'auto' | 'json-rpc' | 'xml-rpc';
  tls?: { caFile?: string; fingerprint?: string; insecure?: boolean };
  connectTimeoutMs?: number;
  callTimeoutMs?: number;
  maxResponseBytes?: number;
  mirror?: boolean | XapiClass[];
  /** How long callAsync waits for its task to settle before cancelling it (default 1 h). */
  taskTimeoutMs?: number;
  /** Seconds each event.from waits for changes (default 30). */
  eventPollSeconds?: number;
  /** Where warnings go (the insecure TLS opt-out); default process.emitWarning. */
  logger?: { warn: (msg: string) => void };
}

export const DEFAULT_MIRROR: readonly XapiClass[] = [
  'VM',
  'VM_metrics',
  'VM_guest_metrics',
  'host',
  'host_metrics',
  'host_cpu',
  'SR',
  'VDI',
  'VBD',
  'VIF',
  'network',
  'console',
  'pool',
  'task',
];

interface TaskWatch {
  method: string;
  resultType: string | null;
  onProgress?: (progress: number) => void;
  lastProgress: number;
  seen: boolean; // its record has been in the mirror
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  caller: CallerStack;
  timer?: NodeJS.Timeout;
}

/** How long close() waits for the task.destroy calls of the tasks it leaves behind. */
const CLOSE_TASK_DESTROY_MS = 2000;

let schemaCache:
  { schema: Array<[string, Array<[string, string]>]>; resultTypes: string[] } | undefined;
/** @internal the datamodel as the addon takes it (also used by bench/xapi.ts). */
export function datamodelTables(): {
  schema: Array<[string, Array<[string, string]>]>;
  resultTypes: string[];
} {
  if (schemaCache) return schemaCache;
  const schema: Array<[string, Array<[string, string]>]> = [];
  const results = new Set<string>();
  for (const cls of XAPI_CLASSES) {
    const def = DATAMODEL[cls];
    schema.push([
      cls,
      Object.entries(def.fields).map(([name, f]) => [name, f[0]] as [string, string]),
    ]);
    for (const m of Object.values(def.messages)) results.add(m[1]);
  }
  schemaCache = { schema, resultTypes: [...results] };
  return schemaCache;
}

/** The datamodel result type of `Class.message` (null when unknown). */
function resultTypeOf(method: string): string | null {
  const dot = method.indexOf('.');
  if (dot < 0) return null;
  const def = DATAMODEL[method.slice(0, dot) as XapiClass] as
    (typeof DATAMODEL)[XapiClass] | undefined;
  return def?.messages[method.slice(dot + 1)]?.[1] ?? null;
}

function positiveInt(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new RangeError(`Expected a positive integer for "${name}" but received ${String(v)}`);
  }
  return v;
}

function checkMethod(method: unknown): asserts method is string {
  if (
    typeof method !== 'string' ||
    !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(method)
  ) {
    throw new TypeError(
      `Expected a method name like 'VM.start' but received ${JSON.stringify(method)}`,
    );
  }
  if (method.startsWith('session.') || method.startsWith('Async.')) {
    throw new TypeError(`'${method}' is managed by the client (use callAsync for Async.* calls)`);
  }
}

/** Throws a TypeError naming the first argument XAPI cannot carry (checked before going native). */
function checkArgs(method: string, args: unknown[]): void {
  const seen = new Set<object>();
  const visit = (v: unknown, where: string, depth: number): void => {
    if (depth > 64) throw new TypeError(`Argument ${where} of ${method} nests too deeply`);
    switch (typeof v) {
      case 'string':
      case 'boolean':
      case 'bigint':
        return;
      case 'number':
        return;
      case 'object':
        if (
          v === null ||
          v instanceof Date ||
          Object.prototype.toString.call(v) === '[object Date]'
        )
          return;
        if (seen.has(v)) throw new TypeError(`Argument ${where} of ${method} is cyclic`);
        seen.add(v);
        if (Array.isArray(v)) v.forEach((e, i) => visit(e, `${where}[${i}]`, depth + 1));
        else {
          const tagged = Object.getOwnPropertySymbols(v).some((k) =>
            Symbol.keyFor(k)?.startsWith('xapi.'),
          );
          if (!tagged)
            for (const [k, e] of Object.entries(v))
              if (e !== undefined) visit(e, `${where}.${k}`, depth + 1);
        }
        seen.delete(v);
        return;
      default:
        throw new TypeError(
          `Expected a value XAPI can carry for argument ${where} of ${method} but received ${typeof v}`,
        );
    }
  };
  args.forEach((a, i) => visit(a, `#${i + 1}`, 0));
}

export class XapiClient {
  readonly #native: NativeClient;
  readonly #userClasses: ReadonlySet<string>;
  readonly #tasks = new Map<string, TaskWatch>();
  /** Tasks whose call timed out: destroyed once they settle (they keep nothing alive). */
  readonly #orphans = new Set<string>();
  #taskTimeoutMs = 3_600_000;
  readonly mirror: MirrorView;
  #sessionRef = '';
  #closed = false;
  #tls: XapiClientOptions['tls'] = {};

  private constructor(native: NativeClient, userClasses: readonly XapiClass[]) {
    this.#native = native;
    this.#userClasses = new Set(userClasses);
    this.mirror = new MirrorView(native, userClasses);
  }

  /** Logs in and, with a mirror, waits for the initial load. */
  static async connect(opts: XapiClientOptions): Promise<XapiClient> {
    const caller = captureCaller(XapiClient.connect);
    if (!opts || typeof opts !== 'object') throw new TypeError('Expected an options object');
    if (typeof opts.url !== 'string' || !/^(https?:\/\/[^/]+|unix:\/\/\/.+)/.test(opts.url)) {
      throw new TypeError(
        `Expected "url" like http://host, https://host or unix:///path but received ${String(opts.url)}`,
      );
    }
    if (typeof opts.user !== 'string') throw new TypeError('Expected a string for "user"');
    if (typeof opts.password !== 'string') throw new TypeError('Expected a string for "password"');
    const protocol = opts.protocol ?? 'auto';
    if (!['auto', 'json-rpc', 'xml-rpc'].includes(protocol)) {
      throw new TypeError(
        `Expected "protocol" to be 'auto', 'json-rpc' or 'xml-rpc' but received ${String(protocol)}`,
      );
    }
    const tls = opts.tls ?? {};
    if (tls.caFile !== undefined && typeof tls.caFile !== 'string')
      throw new TypeError('Expected a string for "tls.caFile"');
    if (tls.fingerprint !== undefined) {
      const hex = String(tls.fingerprint)
        .replace(/^sha-?256:/i, '')
        .replace(/:/g, '');
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
        throw new TypeError(
          'Expected "tls.fingerprint" to be a SHA-256 fingerprint (64 hex digits, colons allowed)',
        );
      }
    }
    if (tls.insecure !== undefined && typeof tls.insecure !== 'boolean')
      throw new TypeError('Expected a boolean for "tls.insecure"');
    if (tls.insecure && opts.url.startsWith('https:') && !tls.fingerprint) {
      const msg = `TLS certificate verification is disabled for ${opts.url} (tls.insecure)`;
      if (opts.logger) opts.logger.warn(msg);
      else process.emitWarning(msg, { code: 'XCD_TLS_INSECURE' });
    }
    let classes: XapiClass[];
    if (opts.mirror === undefined || opts.mirror === true) classes = [...DEFAULT_MIRROR];
    else if (opts.mirror === false) classes = [];
    else if (
      Array.isArray(opts.mirror) &&
      opts.mirror.every((c) => (XAPI_CLASSES as readonly string[]).includes(c))
    ) {
      classes = [...new Set(opts.mirror)];
    } else throw new TypeError('Expected "mirror" to be a boolean or an array of XAPI class names');
    const taskTimeoutMs = positiveInt('taskTimeoutMs', opts.taskTimeoutMs, 3_600_000);
    const { schema, resultTypes } = datamodelTables();
    const addon = loadAddon();
    let client: XapiClient | undefined = undefined;
    let native: NativeClient;
    try {
      native = new addon.NativeClient({
        url: opts.url,
        user: opts.user,
        password: opts.password,
        protocol,
        tls: { caFile: tls.caFile, fingerprint: tls.fingerprint, insecure: tls.insecure === true },
        connectTimeoutMs: positiveInt('connectTimeoutMs', opts.connectTimeoutMs, 10000),
        callTimeoutMs: positiveInt('callTimeoutMs', opts.callTimeoutMs, 300000),
        maxResponseBytes: positiveInt('maxResponseBytes', opts.maxResponseBytes, 1 << 30),
        eventPollSeconds: positiveInt('eventPollSeconds', opts.eventPollSeconds, 30),
        schema,
        resultTypes,
        // Tasks are always tracked, whether or not the caller mirrors them.
        mirror: classes.includes('task') ? classes : [...classes, 'task'],
        onChange: (batch) => client?.onNativeChanges(batch),
      });
    } catch (err) {
      throw fromNative(err, caller); // a TLS policy that cannot load (TLS_INIT)
    }
    client = new XapiClient(native, classes);
    client.#taskTimeoutMs = taskTimeoutMs;
    client.#tls = { ...tls };
    try {
      const info = await native.connect();
      client.#sessionRef = info.sessionRef;
    } catch (err) {
      await native.close().catch(() => undefined);
      throw fromNative(err, caller);
    }
    return client;
  }

  get sessionRef(): string {
    return this.#closed ? '' : this.#native.info().sessionRef || this.#sessionRef;
  }

  /** How many times the mirror has reloaded since connect (a XAPI restart or failover changes
   * every ref): cheap enough to read on every request. */
  get resyncs(): number {
    return this.#native.resyncs();
  }

  /** Where the session lives now and how it talks (after redirects and failovers). */
  get connection(): { masterUrl: string; protocol: string; generation: number; resyncs: number } {
    const { masterUrl, protocol, generation, resyncs } = this.#native.info();
    return { masterUrl, protocol, generation, resyncs };
  }

  /** call('VM.start', vmRef, false, false): the session is prepended. */
  async call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const caller = captureCaller(this.call);
    checkMethod(method);
    checkArgs(method, args);
    this.#checkOpen(caller);
    try {
      return (await this.#native.call(method, args, resultTypeOf(method))) as T;
    } catch (err) {
      throw fromNative(err, caller);
    }
  }

  /** Async.<method>: resolves with the task's result; progress from task events; abort cancels. */
  async callAsync<T = unknown>(
    method: string,
    args: unknown[],
    opts: {
      onProgress?: (progress: number) => void;
      signal?: AbortSignal;
      /** Overrides the client's taskTimeoutMs for this call. */
      timeoutMs?: number;
    } = {},
  ): Promise<T> {
    const caller = captureCaller(this.callAsync);
    checkMethod(method);
    if (!Array.isArray(args)) throw new TypeError('Expected an array of arguments for callAsync');
    checkArgs(method, args);
    if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') {
      throw new TypeError('Expected a function for "onProgress"');
    }
    const timeoutMs = positiveInt('timeoutMs', opts.timeoutMs, this.#taskTimeoutMs);
    this.#checkOpen(caller);
    if (opts.signal?.aborted)
      throw withCallerStack(new XapiError('TASK_CANCELLED', [], method), caller);
    let taskRef: string;
    try {
      taskRef = (await this.#native.call(`Async.${method}`, args, null)) as string;
    } catch (err) {
      throw fromNative(err, caller);
    }
    return new Promise<T>((resolve, reject) => {
      const watch: TaskWatch = {
        method,
        resultType: resultTypeOf(method),
        onProgress: opts.onProgress,
        lastProgress: -1,
        seen: false,
        resolve: resolve as (v: unknown) => void,
        reject,
        caller,
      };
      this.#tasks.set(taskRef, watch);
      this.#native.keepAlive(true);
      // (setTimeout takes at most 2^31-1 ms, about 24 days)
      const delay = Math.min(timeoutMs, 2 ** 31 - 1);
      watch.timer = setTimeout(() => this.#taskTimedOut(taskRef, timeoutMs), delay);
      watch.timer.unref(); // the tracked task keeps the process alive, not its deadline
      const signal = opts.signal;
      if (signal) {
        const onAbort = (): void => {
          this.#native.call('task.cancel', [taskRef], null).catch(() => undefined);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (): void => signal.removeEventListener('abort', onAbort);
        watch.resolve = (v) => (done(), resolve(v as T));
        watch.reject = (e) => (done(), reject(e));
        // An abort while Async.<method> itself was in flight found no task to cancel yet.
        if (signal.aborted) onAbort();
      }
      // It may have finished, or even been destroyed, before we started watching.
      if (!this.#checkTask(taskRef)) this.#confirmTask(taskRef);
    });
  }

  /** PUT to an HTTP side channel of the master (session_id added), e.g. /import_raw_vdi. */
  async httpPut(path: string, query: Record<string, string>, body: Buffer): Promise<void> {
    const caller = captureCaller(this.httpPut);
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError('Expected a path starting with "/"');
    if (!query || typeof query !== 'object') throw new TypeError('Expected an object for "query"');
    if (!Buffer.isBuffer(body)) throw new TypeError('Expected a Buffer body');
    this.#checkOpen(caller);
    const qs = new URLSearchParams(query).toString();
    try {
      await this.#native.httpPut(path, qs, body);
    } catch (err) {
      throw fromNative(err, caller);
    }
  }

  /** PUT `length` bytes of `body`, as they are read, to an HTTP side channel of the master
   * (session_id added) that reports on a task, e.g. /import_raw_vdi: never buffered whole. The
   * client makes the task (task_id), and once the master has answered reads the task's outcome:
   * rejects with its XapiError, a TransportError 'HTTP_<status>' (the answer's text as
   * message), or the body's own error. An abort (or a body error) ends the request at once. */
  async httpPutStream(
    path: string,
    query: Record<string, string>,
    body: Readable,
    opts: { length: number; signal?: AbortSignal },
  ): Promise<void> {
    const caller = captureCaller(this.httpPutStream);
    this.#checkOpen(caller);
    const taskRef = await this.call<string>('task.create', `xcd ${path}`, '');
    try {
      await this.#putStream(path, { ...query, task_id: taskRef }, body, opts, caller);
      for (let i = 0; ; i++) {
        const rec = await this.call<{ status: string; error_info: string[] }>(
          'task.get_record',
          taskRef,
        );
        if (rec.status === 'success') return;
        if (rec.status !== 'pending' && rec.status !== 'cancelling') {
          const info = Array.isArray(rec.error_info) ? rec.error_info : [];
          throw withCallerStack(
            new XapiError(info[0] ?? 'INTERNAL_ERROR', info.slice(1), path),
            caller,
          );
        }
        // The master answered before the task settled: wait a little and look again.
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 10 * 2 ** i)));
      }
    } finally {
      this.#native.call('task.destroy', [taskRef], null).catch(() => undefined);
    }
  }

  async #putStream(
    path: string,
    query: Record<string, string>,
    body: Readable,
    opts: { length: number; signal?: AbortSignal },
    caller: CallerStack,
  ): Promise<void> {
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-length': opts.length,
    };
    const req = this.#sideRequest('PUT', path, query, headers, opts.signal);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        req.destroy();
        reject(withCallerStack(err, caller));
      };
      body.once('error', fail);
      req.once('error', fail);
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
        res.once('error', fail);
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 2000);
          fail(new TransportError(`HTTP_${status}`, text || `HTTP ${status}`, path));
        });
      });
      body.pipe(req);
    });
  }

  /** GET from an HTTP side channel of the master (session_id added), e.g. /export_raw_vdi: the
   * answer's body as a stream, with its length when the master gives one. */
  async httpGetStream(
    path: string,
    query: Record<string, string>,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ stream: Readable; length?: number }> {
    const caller = captureCaller(this.httpGetStream);
    this.#checkOpen(caller);
    const req = this.#sideRequest('GET', path, query, {}, opts.signal);
    req.end();
    return new Promise((resolve, reject) => {
      req.once('error', (err) => reject(withCallerStack(err, caller)));
      req.once('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          const len = Number(res.headers['content-length']);
          resolve({ stream: res, ...(Number.isFinite(len) ? { length: len } : {}) });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
        res.once('end', () =>
          reject(
            withCallerStack(
              new TransportError(
                `HTTP_${status}`,
                Buffer.concat(chunks).toString('utf8').slice(0, 2000) || `HTTP ${status}`,
                path,
              ),
              caller,
            ),
          ),
        );
      });
    });
  }

  /** How the pool's hosts serve their HTTP handlers (/console ...) to this client: with the
   * scheme and port of the URL it reaches XAPI on (http on 80, https on 443 when that names
   * none); https on 443 when it reaches XAPI through a Unix socket. */
  hostTransport(): { tls: boolean; port: number } {
    const base = this.#native.info().masterUrl;
    if (!/^https?:\/\//.test(base)) return { tls: true, port: 443 };
    const url = new URL(base);
    const tls = url.protocol === 'https:';
    return { tls, port: url.port ? Number(url.port) : tls ? 443 : 80 };
  }

  /** `CONNECT <path>?<query>&session_id=<session>` to the HTTP handler of the host at `address`
   * (e.g. /console on the host a VM runs on), over hostTransport() and the connection's TLS
   * policy. Resolves with the socket once the host answers 2xx (bytes that came with the answer
   * are put back in front), rejects with a TransportError 'HTTP_<status>' otherwise, or
   * 'ETIMEDOUT' after timeoutMs. The session never leaves this client: the caller gets a socket. */
  async openHostTunnel(
    address: string,
    path: string,
    query: Record<string, string>,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<Duplex> {
    const caller = captureCaller(this.openHostTunnel);
    if (typeof address !== 'string' || address.length === 0)
      throw new TypeError('Expected a host address');
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError('Expected a path starting with "/"');
    this.#checkOpen(caller);
    const timeoutMs = positiveInt('timeoutMs', opts.timeoutMs, 10_000);
    const { tls, port } = this.hostTransport();
    const qs = new URLSearchParams({ ...query, session_id: this.sessionRef }).toString();
    const options: https.RequestOptions = {
      method: 'CONNECT',
      host: address,
      port,
      path: `${path}?${qs}`,
      signal: opts.signal,
      ...(tls ? this.#tlsOptions() : {}),
    };
    const req = (tls ? https : http).request(options);
    return new Promise<Duplex>((resolve, reject) => {
      const fail = (err: Error): void => {
        clearTimeout(timer);
        req.destroy();
        reject(withCallerStack(err, caller));
      };
      const timer = setTimeout(
        () => fail(new TransportError('ETIMEDOUT', `no answer within ${timeoutMs} ms`, path)),
        timeoutMs,
      );
      req.once('error', fail);
      req.once('response', (res) => {
        res.resume();
        fail(new TransportError(`HTTP_${res.statusCode ?? 0}`, `HTTP ${res.statusCode}`, path));
      });
      req.once('connect', (res, socket, head) => {
        clearTimeout(timer);
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          socket.destroy();
          reject(
            withCallerStack(new TransportError(`HTTP_${status}`, `HTTP ${status}`, path), caller),
          );
          return;
        }
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.end();
    });
  }

  /** The TLS options of a request to a pool host: the connection's CA, pinned fingerprint or
   * opt-out, as the native client applies them. */
  #tlsOptions(): https.RequestOptions {
    const tls = this.#tls ?? {};
    const fingerprint = tls.fingerprint
      ?.replace(/^sha-?256:/i, '')
      .replace(/:/g, '')
      .toUpperCase();
    return {
      ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
      rejectUnauthorized: !(tls.insecure || fingerprint),
      ...(fingerprint
        ? {
            checkServerIdentity: (_host: string, cert: { fingerprint256: string }) =>
              cert.fingerprint256.replace(/:/g, '').toUpperCase() === fingerprint
                ? undefined
                : new Error("the host's certificate does not match the pinned fingerprint"),
          }
        : {}),
    };
  }

  /** A request to the master's side channel, over the connection's URL and TLS policy. */
  #sideRequest(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string | number>,
    signal?: AbortSignal,
  ): http.ClientRequest {
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError('Expected a path starting with "/"');
    const qs = new URLSearchParams({ ...query, session_id: this.sessionRef }).toString();
    const base = this.#native.info().masterUrl;
    if (base.startsWith('unix://')) {
      return http.request({
        socketPath: base.slice('unix://'.length),
        path: `${path}?${qs}`,
        method,
        headers,
        signal,
      });
    }
    const url = new URL(`${path}?${qs}`, base);
    if (url.protocol === 'http:') return http.request(url, { method, headers, signal });
    return https.request(url, { method, headers, signal, ...this.#tlsOptions() });
  }

  /** Stops the event stream thread, logs out, fails pending tasks. Idempotent. Tasks still
   * running are destroyed first (XAPI does it when they end), waiting at most
   * CLOSE_TASK_DESTROY_MS for those calls. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const caller = captureCaller(this.close);
    const abandoned = [...this.#tasks.keys(), ...this.#orphans];
    this.#orphans.clear();
    for (const [ref, w] of this.#tasks) {
      this.#tasks.delete(ref);
      clearTimeout(w.timer);
      w.reject(
        withCallerStack(
          new TransportError('CLOSED', 'client closed while the task ran', w.method),
          w.caller,
        ),
      );
    }
    await this.#destroyTasks(abandoned, CLOSE_TASK_DESTROY_MS);
    try {
      await this.#native.close();
    } catch (err) {
      throw fromNative(err, caller);
    }
  }

  /** task.destroy for each (best effort), waiting at most `ms` for the answers. */
  async #destroyTasks(refs: string[], ms: number): Promise<void> {
    if (refs.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(refs.map((ref) => this.#native.call('task.destroy', [ref], null))),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  #checkOpen(caller: CallerStack): void {
    if (this.#closed)
      throw withCallerStack(new TransportError('CLOSED', 'the client is closed'), caller);
  }

  /** @internal batches from the native event pump */
  private onNativeChanges(batch: NativeChange[]): void {
    const visible: MirrorChange[] = [];
    for (const c of batch) {
      if (c.cls === 'task' && this.#tasks.has(c.ref)) {
        if (c.op === 'del') this.#taskGone(c.ref);
        else this.#checkTask(c.ref);
      } else if (c.cls === 'task' && this.#orphans.has(c.ref)) this.#reapOrphan(c.ref, c.op);
      if (this.#userClasses.has(c.cls)) visible.push(c as MirrorChange);
    }
    this.mirror.emitChanges(visible);
  }

  /** A watched task not (yet) in the mirror: its add may still come, or may have been coalesced
   *  away with its del by event.from (xapi sends nothing for a task created and destroyed
   *  between two event.from calls). The task stream polls at once: a task absent after that
   *  poll is gone, and TASK_LOST, whatever the timing. Only when that poll cannot be had (the
   *  stream is resyncing or down) does the client ask xapi, with task.get_status. */
  #confirmTask(ref: string): void {
    this.#native.syncTasks().then(
      (synced) => {
        const w = this.#tasks.get(ref);
        if (!w || w.seen) return;
        if (!synced) this.#askTask(ref);
        else if (!this.#checkTask(ref)) this.#taskGone(ref);
      },
      () => this.#askTask(ref),
    );
  }

  #askTask(ref: string): void {
    this.#native
      .call('task.get_status', [ref], null)
      .then(() => {
        const w = this.#tasks.get(ref);
        if (w && !w.seen) setTimeout(() => this.#confirmTask(ref), 500).unref();
      })
      .catch((err: { code?: string }) => {
        if (err?.code === 'HANDLE_INVALID') this.#taskGone(ref);
      });
  }

  #taskGone(ref: string): void {
    const w = this.#tasks.get(ref);
    if (!w) return;
    this.#finish(ref);
    w.reject(
      withCallerStack(
        new TransportError('TASK_LOST', `task ${ref} disappeared before it finished`, w.method),
        w.caller,
      ),
    );
  }

  /** The deadline passed: cancel the task, fail the call, destroy the task. The destroy is
   * asked for at once (XAPI holds it until the task ends: a client closed or killed meanwhile
   * leaves nothing behind) and again once the task is seen to settle. */
  #taskTimedOut(ref: string, timeoutMs: number): void {
    const w = this.#tasks.get(ref);
    if (!w) return;
    this.#finish(ref);
    this.#orphans.add(ref);
    this.#native
      .call('task.cancel', [ref], null)
      .catch(() => undefined)
      .then(() => this.#native.call('task.destroy', [ref], null))
      .catch(() => undefined);
    w.reject(
      withCallerStack(
        new TransportError(
          'ETIMEDOUT',
          `task ${ref} did not settle within ${timeoutMs} ms (cancelled)`,
          w.method,
        ),
        w.caller,
      ),
    );
    this.#reapOrphan(ref, 'mod');
  }

  #reapOrphan(ref: string, op: string): void {
    if (op === 'del') {
      this.#orphans.delete(ref);
      return;
    }
    const rec = this.#native.mirrorGet('task', ref, false) as { status?: string } | undefined;
    if (!rec || rec.status === 'pending' || rec.status === 'cancelling') return;
    this.#orphans.delete(ref);
    this.#native.call('task.destroy', [ref], null).catch(() => undefined);
  }

  #finish(ref: string): void {
    clearTimeout(this.#tasks.get(ref)?.timer);
    this.#tasks.delete(ref);
    if (this.#tasks.size === 0) this.#native.keepAlive(false);
  }

  /** Settles the watch when its task record says so; false when the record is not mirrored. */
  #checkTask(ref: string): boolean {
    const w = this.#tasks.get(ref);
    if (!w) return true;
    const rec = this.#native.mirrorGet('task', ref, false) as
      { status: string; progress: number; result: string; error_info: string[] } | undefined;
    if (!rec) return false;
    w.seen = true;
    if (w.onProgress && typeof rec.progress === 'number' && rec.progress !== w.lastProgress) {
      w.lastProgress = rec.progress;
      try {
        w.onProgress(rec.progress);
      } catch {
        // a throwing progress listener must not break task tracking
      }
    }
    if (rec.status === 'pending' || rec.status === 'cancelling') return true;
    this.#finish(ref);
    this.#native.call('task.destroy', [ref], null).catch(() => undefined);
    if (rec.status === 'success') {
      try {
        w.resolve(this.#native.taskResult(rec.result ?? '', w.resultType));
      } catch (err) {
        w.reject(fromNative(err, w.caller));
      }
      return true;
    }
    const info = Array.isArray(rec.error_info) ? rec.error_info : [];
    const code = info[0] ?? (rec.status === 'cancelled' ? 'TASK_CANCELLED' : 'INTERNAL_ERROR');
    w.reject(withCallerStack(new XapiError(code, info.slice(1), w.method), w.caller));
    return true;
  }
}
