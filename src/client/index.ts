// The typed REST client of the service (axios + the contract's generated types), used by the CLI
// and by integrations written in TypeScript. Errors become XcdApiError carrying the problem.
// Must not know anything of XAPI or of the driver; it speaks only HTTP.
import axios, { AxiosError, type AxiosInstance } from 'axios';
import type { components } from '../api/generated/openapi';

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
}

export interface WaitOptions {
  /** Seconds the server may hold the request (Prefer: wait=N); 0 answers at once. */
  wait?: number;
}

export class XcdClient {
  private readonly http: AxiosInstance;

  constructor(opts: ClientOptions) {
    this.http = axios.create({
      baseURL: opts.url.replace(/\/+$/, ''),
      timeout: opts.timeoutMs ?? 330_000,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
      validateStatus: (s) => s >= 200 && s < 300,
    });
  }

  host(): Promise<Schemas['Host']> {
    return this.get('/v1/host');
  }
  async templates(): Promise<Schemas['Template'][]> {
    return (await this.get<{ items: Schemas['Template'][] }>('/v1/templates')).items;
  }
  async networks(): Promise<Schemas['Network'][]> {
    return (await this.get<{ items: Schemas['Network'][] }>('/v1/networks')).items;
  }
  async srs(): Promise<Schemas['SR'][]> {
    return (await this.get<{ items: Schemas['SR'][] }>('/v1/srs')).items;
  }
  listInstances(
    q: { power_state?: Schemas['PowerState']; limit?: number; offset?: number } = {},
  ): Promise<Schemas['InstancePage']> {
    return this.get('/v1/instances', q);
  }
  getInstance(id: string): Promise<Instance> {
    return this.get(`/v1/instances/${encodeURIComponent(id)}`);
  }
  spawn(id: string, body: Schemas['SpawnRequest'], opts: WaitOptions = {}): Promise<Operation> {
    return this.send('put', `/v1/instances/${encodeURIComponent(id)}`, body, opts);
  }
  /** The destroy's operation, or null when the instance was already gone (204). */
  destroy(
    id: string,
    opts: WaitOptions & { keep_disks?: boolean } = {},
  ): Promise<Operation | null> {
    const q = opts.keep_disks ? '?keep_disks=true' : '';
    return this.send('delete', `/v1/instances/${encodeURIComponent(id)}${q}`, undefined, opts);
  }
  action(id: string, body: Schemas['InstanceAction'], opts: WaitOptions = {}): Promise<Operation> {
    return this.send('post', `/v1/instances/${encodeURIComponent(id)}/actions`, body, opts);
  }
  getOperation(id: string, opts: WaitOptions = {}): Promise<Operation> {
    return this.send('get', `/v1/operations/${encodeURIComponent(id)}`, undefined, opts);
  }
  cancelOperation(id: string): Promise<Operation> {
    return this.send('delete', `/v1/operations/${encodeURIComponent(id)}`, undefined, {});
  }

  /** Follows an operation until it is final, calling onProgress on each poll (long-polling 1 s). */
  async follow(
    op: Operation,
    onProgress?: (op: Operation) => void,
    timeoutMs = 600_000,
  ): Promise<Operation> {
    const deadline = Date.now() + timeoutMs;
    let current = op;
    onProgress?.(current);
    while (current.status === 'running') {
      if (Date.now() > deadline)
        throw new XcdApiError(
          504,
          'timeout',
          `operation ${op.id} still running after ${timeoutMs} ms`,
        );
      current = await this.getOperation(current.id, { wait: 1 });
      onProgress?.(current);
    }
    return current;
  }

  private async get<T>(path: string, params?: object): Promise<T> {
    return this.send('get', path, undefined, {}, params);
  }

  private async send<T>(
    method: 'get' | 'put' | 'post' | 'delete',
    url: string,
    data: unknown,
    opts: WaitOptions,
    params?: object,
  ): Promise<T> {
    try {
      const res = await this.http.request({
        method,
        url,
        data,
        params,
        headers: opts.wait !== undefined ? { Prefer: `wait=${opts.wait}` } : {},
      });
      return (res.status === 204 ? null : res.data) as T;
    } catch (err) {
      throw toClientError(err);
    }
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
