// The lifecycle event stream (GET /v1/events, server-sent events) as an async generator that
// reconnects with Last-Event-ID after a dropped connection, and the SSE parser it reads with.
// Speaks only HTTP (fetch, for streaming); errors become XcdApiError like the client's.
import { XcdApiError, type ClientOptions, type Problem, type Schemas } from './http';

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

/**
 * Follows GET /v1/events, yielding each lifecycle event in order; after a dropped connection it
 * reconnects with Last-Event-ID, so no kept event is missed or repeated.
 */
export async function* lifecycleEvents(
  client: ClientOptions,
  o: LifecycleStreamOptions = {},
): AsyncGenerator<Schemas['LifecycleEvent']> {
  let last = o.lastEventId;
  for (;;) {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (client.token) headers.authorization = `Bearer ${client.token}`;
    if (last) headers['last-event-id'] = last;
    const q = o.instanceId ? `?instance_id=${enc(o.instanceId)}` : '';
    let res: Response;
    try {
      res = await fetch(`${client.url.replace(/\/+$/, '')}/v1/events${q}`, {
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
