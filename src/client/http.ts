// The client's HTTP exchange: one axios instance per client (base URL, bearer token, timeout),
// `Prefer: wait=N`, `503 not_ready` waited out, and failures as XcdApiError carrying the
// problem+json. Knows no route.
import type { Readable } from 'node:stream';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import type { components } from '../contract/openapi.generated';

export type Schemas = components['schemas'];
export type Instance = Schemas['Instance'];
export type Operation = Schemas['Operation'];
export type Problem = Schemas['Problem'];

export class XcdApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem?: Problem;

  constructor(status: number, code: string, message: string, problem?: Problem) {
    super(message);
    this.name = 'XcdApiError';
    this.status = status;
    this.code = code;
    if (problem) this.problem = problem;
  }
}

export interface ClientOptions {
  url: string;
  token?: string;
  timeoutMs?: number;
  /** How long a call waits out `503 not_ready` (a service starting up) before reporting it
   * (default 60 s; 0 reports it at once). */
  notReadyPatienceMs?: number;
}

const NOT_READY_PATIENCE_MS = 60_000;

/** A `503 not_ready` answer's Retry-After in ms (1 to 10 s); undefined for any other failure. */
function notReadyPause(err: unknown): number | undefined {
  if (!(err instanceof AxiosError) || err.response?.status !== 503) return undefined;
  if ((err.response.data as Partial<Problem> | undefined)?.code !== 'not_ready') return undefined;
  const seconds = Number(err.response.headers['retry-after']);
  return Math.min(10, Math.max(1, Number.isFinite(seconds) ? seconds : 1)) * 1000;
}

export interface WaitOptions {
  /** Seconds the server may hold the request (Prefer: wait=N); 0 answers at once. */
  wait?: number;
}

export type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';

export class Http {
  private readonly axios: AxiosInstance;

  constructor(readonly opts: ClientOptions) {
    this.axios = axios.create({
      baseURL: opts.url.replace(/\/+$/, ''),
      timeout: opts.timeoutMs ?? 330_000,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
      validateStatus: (s) => s >= 200 && s < 300,
    });
  }

  /** The answer's body (null for 204). A service still starting answers `503 not_ready`
   * before it has touched the request: the same request goes again after its Retry-After. */
  async send<T>(
    method: Method,
    url: string,
    data?: unknown,
    opts: WaitOptions = {},
    params?: object,
  ): Promise<T> {
    const giveUp = Date.now() + (this.opts.notReadyPatienceMs ?? NOT_READY_PATIENCE_MS);
    for (;;) {
      try {
        const res = await this.axios.request({
          method,
          url,
          data,
          params,
          headers: opts.wait !== undefined ? { Prefer: `wait=${opts.wait}` } : {},
        });
        return (res.status === 204 ? null : res.data) as T;
      } catch (err) {
        const pause = notReadyPause(err);
        if (pause === undefined || Date.now() + pause > giveUp) throw toClientError(err);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** PUT a body streamed as it is read (application/octet-stream; `length` bytes when known,
   * else chunked); the answer's JSON body. */
  async putStream<T>(
    url: string,
    body: Readable,
    length: number | undefined,
    opts: WaitOptions = {},
    params?: object,
  ): Promise<T> {
    try {
      const res = await this.axios.request({
        method: 'put',
        url,
        data: body,
        params,
        maxBodyLength: Infinity,
        maxContentLength: Infinity,
        timeout: 0,
        headers: {
          'Content-Type': 'application/octet-stream',
          ...(length !== undefined ? { 'Content-Length': String(length) } : {}),
          ...(opts.wait !== undefined ? { Prefer: `wait=${opts.wait}` } : {}),
        },
      });
      return res.data as T;
    } catch (err) {
      throw toClientError(err);
    }
  }

  /** GET a body as a stream, with its length when the service gives one. */
  async getStream(url: string, params?: object): Promise<{ stream: Readable; length?: number }> {
    try {
      const res = await this.axios.request({
        method: 'get',
        url,
        params,
        responseType: 'stream',
        timeout: 0,
      });
      const len = Number(res.headers['content-length']);
      return {
        stream: res.data as Readable,
        ...(Number.isFinite(len) ? { length: len } : {}),
      };
    } catch (err) {
      const e = err as AxiosError;
      // A failed streamed answer carries its problem as a stream: read it for the error.
      const data = e.response?.data as Readable | undefined;
      if (e.response && data && typeof data.on === 'function') {
        const chunks: Buffer[] = [];
        for await (const c of data) chunks.push(c as Buffer);
        try {
          e.response.data = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          e.response.data = undefined;
        }
      }
      throw toClientError(err);
    }
  }

  /** The `items` of a list answer. */
  async items<T>(url: string, params?: object): Promise<T[]> {
    return (await this.send<{ items: T[] }>('get', url, undefined, {}, params)).items;
  }
}

/** An Axios failure as XcdApiError (problem+json kept); other errors pass through. */
export function toClientError(err: unknown): Error {
  if (!(err instanceof AxiosError)) return err as Error;
  const res = err.response;
  if (!res)
    return new XcdApiError(
      0,
      err.code ?? 'network_error',
      `cannot reach the service: ${err.message}`,
    );
  const p = res.data as Partial<Problem> | undefined;
  if (p && typeof p === 'object' && typeof p.code === 'string')
    return new XcdApiError(
      res.status,
      p.code,
      `${p.code}: ${p.detail ?? p.title ?? res.statusText}`,
      p as Problem,
    );
  return new XcdApiError(res.status, 'http_error', `HTTP ${res.status} ${res.statusText}`);
}
