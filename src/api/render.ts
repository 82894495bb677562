// Last touches on driver results before they are sent: an operation's embedded error becomes a
// complete problem (the driver's problemBody), like every other problem the API sends; and the
// JSON of instance views, kept per view object as bytes so a view serialized once is not
// serialized (or encoded) again for the next read. Must not reshape anything: the driver returns
// the contract's schemas.
import { problemBody } from '../driver/errors';
import type { components } from '../contract/openapi.generated';

type S = components['schemas'];

export function renderOperation(op: S['Operation']): S['Operation'] {
  if (!op.error) return op;
  return { ...op, error: problemBody(op.error) };
}

/** The Content-Type of a JSON answer, as res.json sends it. */
export const JSON_UTF8 = 'application/json; charset=utf-8';

/**
 * JSON bytes by view object. The driver replaces an instance's view when anything it shows
 * changes and never changes one it handed out (src/driver/views/instance-index.ts), so the bytes
 * of a view object stay true for as long as the object lives.
 */
const bodies = new WeakMap<S['Instance'], Buffer>();

/** An instance view as JSON, byte for byte as JSON.stringify writes it. */
export function instanceBody(view: S['Instance']): Buffer {
  let body = bodies.get(view);
  if (body === undefined) {
    body = Buffer.from(JSON.stringify(view));
    bodies.set(view, body);
  }
  return body;
}

const ITEMS = Buffer.from('{"items":[');
const COMMA = Buffer.from(',');

/** A page of instances as JSON, byte for byte as JSON.stringify writes the InstancePage. */
export function instancePageBody(page: S['InstancePage']): Buffer {
  const parts: Buffer[] = [ITEMS];
  for (let i = 0; i < page.items.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(instanceBody(page.items[i]));
  }
  parts.push(Buffer.from(`],"total":${page.total},"limit":${page.limit},"offset":${page.offset}}`));
  return Buffer.concat(parts);
}
