// The `message` class as xapi keeps it (xapi_message.ml): create with its body and object checks,
// the reads (get, get_since, get_all_records[_where], get_record, get_by_uuid, get_all), destroy
// and destroy_many, and the pool-wide message limit that reaps the oldest. Messages live in the
// store, so they survive a restart and reach event.from only when 'message' is subscribed (or
// '*'). Owns no other class and never changes a record besides messages.
import { XapiFault } from '../engine/fault';
import { defineMessage, type CallContext } from '../engine/registry';
import { formatDateTime, type Rec, type Store } from '../engine/store';
import type { XapiClass } from '../../xapi/datamodel.generated';

/** xapi keeps at most this many messages (Xapi_globs.message_limit); the oldest go first. */
export const MESSAGE_LIMIT = 10_000;

/** The store class whose uuid an object message names (the `cls` enum); absent: no such class. */
const CLASS_OF: Record<string, XapiClass | undefined> = {
  VM: 'VM',
  Host: 'host',
  SR: 'SR',
  Pool: 'pool',
  VDI: 'VDI',
};

/**
 * Creation times to the millisecond, by message uuid: xapi orders and filters (get_since, get)
 * by the message file's float timestamp while the record's datetime has whole seconds.
 */
function timesOf(ctx: CallContext): Map<string, number> {
  const extra = ctx.sim.extra as { messageTimes?: Map<string, number> };
  extra.messageTimes ??= new Map();
  return extra.messageTimes;
}

/** Milliseconds of a wire datetime ('YYYYMMDDTHH:MM:SS' with an optional zone, UTC without). */
export function datetimeMs(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return 0;
  const zone = !m[7] || m[7] === 'Z' ? 'Z' : m[7].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${zone}`);
  return Number.isNaN(ms) ? 0 : ms;
}

/** xapi's Encodings.UTF8_XML check: every character must be one XML 1.0 allows. */
function isXmlText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if ((c >= 0xdc00 && c <= 0xdfff) || c === 0xfffe || c === 0xffff) return false;
  }
  return true;
}

function objectExists(store: Store, cls: string, uuid: string): boolean {
  const table = CLASS_OF[cls];
  return table !== undefined && store.byUuid(table, uuid) !== undefined;
}

function timeOf(ctx: CallContext, rec: Rec): number {
  return timesOf(ctx).get(rec.uuid as string) ?? datetimeMs(String(rec.timestamp));
}

/** The messages passing `keep`, newest first (xapi's order), as a ref -> record map. */
function select(ctx: CallContext, keep: (rec: Rec, ms: number) => boolean): Record<string, Rec> {
  const found: Array<[string, Rec, number]> = [];
  for (const [ref, rec] of ctx.store.all('message')) {
    const ms = timeOf(ctx, rec);
    if (keep(rec, ms)) found.push([ref, rec, ms]);
  }
  found.sort((a, b) => b[2] - a[2]);
  const out: Record<string, Rec> = {};
  for (const [ref, rec] of found) out[ref] = rec;
  return out;
}

function destroyOne(ctx: CallContext, ref: string): void {
  const rec = ctx.store.find('message', ref);
  if (!rec) throw new XapiFault('HANDLE_INVALID', ['message', ref]);
  ctx.store.destroy('message', ref);
  timesOf(ctx).delete(rec.uuid as string);
}

/** Over the limit, the oldest messages go (xapi's gc does this on its next pass). */
function reap(ctx: CallContext): void {
  const excess = ctx.store.count('message') - MESSAGE_LIMIT;
  if (excess <= 0) return;
  const byAge = [...ctx.store.all('message')].sort((a, b) => timeOf(ctx, a[1]) - timeOf(ctx, b[1]));
  for (const [ref] of byAge.slice(0, excess)) destroyOne(ctx, ref);
}

export function registerMessageClass(): void {
  defineMessage('message.create', (ctx, [name, priority, cls, objUuid, body]) => {
    if (!isXmlText(body as string)) throw new XapiFault('INVALID_VALUE', ['UTF8 expected']);
    if (!objectExists(ctx.store, cls as string, objUuid as string))
      throw new XapiFault('UUID_INVALID', [cls as string, objUuid as string]);
    // Distinct creation times, as xapi's message files are (it bumps a colliding name).
    const times = timesOf(ctx);
    const extra = ctx.sim.extra as { lastMessageMs?: number };
    const ms = Math.max(Date.now(), (extra.lastMessageMs ?? 0) + 1);
    extra.lastMessageMs = ms;
    const ref = ctx.store.create('message', {
      name,
      priority,
      cls,
      obj_uuid: objUuid,
      timestamp: formatDateTime(new Date(ms)),
      body,
    });
    times.set(ctx.store.get('message', ref).uuid as string, ms);
    reap(ctx);
    return ref;
  });
  defineMessage('message.get', (ctx, [cls, objUuid, since]) => {
    if (!objectExists(ctx.store, cls as string, objUuid as string))
      throw new XapiFault('UUID_INVALID', []);
    const after = datetimeMs(since as string);
    return select(ctx, (rec, ms) => rec.cls === cls && rec.obj_uuid === objUuid && ms > after);
  });
  defineMessage('message.get_since', (ctx, [since]) => {
    const after = datetimeMs(since as string);
    return select(ctx, (_rec, ms) => ms > after);
  });
  defineMessage('message.get_all_records', (ctx) => select(ctx, () => true));
  // xapi ignores the expression: every message comes back.
  defineMessage('message.get_all_records_where', (ctx) => select(ctx, () => true));
  defineMessage('message.get_all', (ctx) => [...ctx.store.all('message').keys()]);
  defineMessage('message.get_record', (ctx, [self]) => {
    const rec = ctx.store.find('message', self as string);
    if (!rec) throw new XapiFault('HANDLE_INVALID', ['message', self as string]);
    return rec;
  });
  defineMessage('message.get_by_uuid', (ctx, [uuid]) => {
    const ref = ctx.store.byUuid('message', uuid as string);
    if (!ref) throw new XapiFault('UUID_INVALID', ['message', uuid as string]);
    return ref;
  });
  defineMessage('message.destroy', (ctx, [self]) => {
    destroyOne(ctx, self as string);
  });
  // One by one, as xapi: the first unknown ref fails the call, the ones before it are gone.
  defineMessage('message.destroy_many', (ctx, [messages]) => {
    for (const ref of messages as string[]) destroyOne(ctx, ref);
  });
}
