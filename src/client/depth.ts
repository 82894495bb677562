// The typed REST client for the service's depth: snapshots, volumes, NICs, console, diagnostics
// and the lifecycle event stream (SSE, resumed with Last-Event-ID after a disconnect). Speaks
// only HTTP; errors become XcdApiError like the core client's (src/client/index.ts).
import axios, { type AxiosInstance } from 'axios';
import {
  XcdApiError,
  toClientError,
  type Operation,
  type Problem,
  type Schemas,
  type WaitOptions,
} from './index';

const enc = encodeURIComponent;

export interface LifecycleStreamOptions {
  /** Resume after this event id. */
  lastEventId?: string;
  instanceId?: string;
  /** Reconnect after a dropped connection (default true), resuming after the last id seen. */
  reconnect?: boolean;
  signal?: AbortSignal;
  /** Told about `events_lost` (the reader should re-list its instances). */
  onLost?: () => void;
}

export class XcdDepthClient {
  private readonly http: AxiosInstance;

  constructor(private readonly opts: { url: string; token?: string; timeoutMs?: number }) {
    this.http = axios.create({
      baseURL: opts.url.replace(/\/+$/, ''),
      timeout: opts.timeoutMs ?? 330_000,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
      validateStatus: (s) => s >= 200 && s < 300,
    });
  }

  async listSnapshots(id: string): Promise<Schemas['Snapshot'][]> {
    return (
      await this.send<{ items: Schemas['Snapshot'][] }>('get', `/v1/instances/${enc(id)}/snapshots`)
    ).items;
  }
  getSnapshot(id: string, snapshotId: string): Promise<Schemas['Snapshot']> {
    return this.send('get', `/v1/instances/${enc(id)}/snapshots/${enc(snapshotId)}`);
  }
  createSnapshot(
    id: string,
    snapshotId: string,
    body: Schemas['SnapshotRequest'] = {},
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.send('put', `/v1/instances/${enc(id)}/snapshots/${enc(snapshotId)}`, body, opts);
  }
  revertSnapshot(
    id: string,
    snapshotId: string,
    body: Schemas['RevertRequest'] = {},
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.send(
      'post',
      `/v1/instances/${enc(id)}/snapshots/${enc(snapshotId)}/revert`,
      body,
      opts,
    );
  }
  /** null when the snapshot was already gone (204). */
  deleteSnapshot(
    id: string,
    snapshotId: string,
    opts: WaitOptions = {},
  ): Promise<Operation | null> {
    return this.send(
      'delete',
      `/v1/instances/${enc(id)}/snapshots/${enc(snapshotId)}`,
      undefined,
      opts,
    );
  }
  async listVolumes(id: string): Promise<Schemas['Volume'][]> {
    return (
      await this.send<{ items: Schemas['Volume'][] }>('get', `/v1/instances/${enc(id)}/volumes`)
    ).items;
  }
  attachVolume(
    id: string,
    vdiUuid: string,
    body: Schemas['VolumeAttachRequest'] = {},
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.send('put', `/v1/instances/${enc(id)}/volumes/${enc(vdiUuid)}`, body, opts);
  }
  detachVolume(id: string, vdiUuid: string, opts: WaitOptions = {}): Promise<Operation | null> {
    return this.send('delete', `/v1/instances/${enc(id)}/volumes/${enc(vdiUuid)}`, undefined, opts);
  }
  async listNics(id: string): Promise<Schemas['NicAttachment'][]> {
    return (
      await this.send<{ items: Schemas['NicAttachment'][] }>('get', `/v1/instances/${enc(id)}/nics`)
    ).items;
  }
  attachNic(
    id: string,
    body: Schemas['NicAttachRequest'],
    opts: WaitOptions = {},
  ): Promise<Operation> {
    return this.send('post', `/v1/instances/${enc(id)}/nics`, body, opts);
  }
  detachNic(id: string, device: string, opts: WaitOptions = {}): Promise<Operation | null> {
    return this.send('delete', `/v1/instances/${enc(id)}/nics/${enc(device)}`, undefined, opts);
  }
  console(id: string): Promise<Schemas['Console']> {
    return this.send('get', `/v1/instances/${enc(id)}/console`);
  }
  consoleLog(id: string): Promise<Schemas['ConsoleLog']> {
    return this.send('get', `/v1/instances/${enc(id)}/console/log`);
  }
  diagnostics(id: string): Promise<Schemas['Diagnostics']> {
    return this.send('get', `/v1/instances/${enc(id)}/diagnostics`);
  }

  /**
   * Follows GET /v1/events, yielding each lifecycle event in order; after a dropped connection it
   * reconnects with Last-Event-ID, so no kept event is missed or repeated.
   */
  async *events(o: LifecycleStreamOptions = {}): AsyncGenerator<Schemas['LifecycleEvent']> {
    let last = o.lastEventId;
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
      if (last) headers['last-event-id'] = last;
      const q = o.instanceId ? `?instance_id=${enc(o.instanceId)}` : '';
      let res: Response;
      try {
        res = await fetch(`${this.opts.url.replace(/\/+$/, '')}/v1/events${q}`, {
          headers,
          signal: o.signal ?? null,
        });
      } catch (err) {
        if (o.signal?.aborted) return;
        if (o.reconnect === false) throw err;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (res.status !== 200 || !res.body) {
        const p = (await res.json().catch(() => undefined)) as Partial<Problem> | undefined;
        throw new XcdApiError(
          res.status,
          p?.code ?? 'http_error',
          `${p?.code ?? 'http_error'}: ${p?.detail ?? res.statusText}`,
          p as Problem,
        );
      }
      try {
        for await (const ev of parseSse(res.body)) {
          if (ev.id) last = ev.id;
          if (ev.event === 'events_lost') o.onLost?.();
          else if (ev.data) yield JSON.parse(ev.data) as Schemas['LifecycleEvent'];
        }
      } catch {
        if (o.signal?.aborted) return; // else the connection dropped: reconnect below
      }
      if (o.signal?.aborted || o.reconnect === false) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async send<T>(
    method: 'get' | 'put' | 'post' | 'delete',
    url: string,
    data?: unknown,
    opts: WaitOptions = {},
  ): Promise<T> {
    try {
      const res = await this.http.request({
        method,
        url,
        data,
        headers: opts.wait !== undefined ? { Prefer: `wait=${opts.wait}` } : {},
      });
      return (res.status === 204 ? null : res.data) as T;
    } catch (err) {
      throw toClientError(err);
    }
  }
}

/** Parses an SSE byte stream into {id, event, data} messages (comments skipped). */
export async function* parseSse(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ id?: string; event?: string; data?: string }> {
  const decoder = new TextDecoder();
  let buf = '';
  let msg: { id?: string; event?: string; data?: string } = {};
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (msg.data !== undefined || msg.event) yield msg;
        msg = {};
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') msg.id = value;
      else if (field === 'event') msg.event = value;
      else if (field === 'data')
        msg.data = msg.data === undefined ? value : `${msg.data}\n${value}`;
    }
  }
}
