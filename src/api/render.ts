// Last touches on driver results before they are sent: an operation's embedded error becomes a
// complete problem (the driver's problemBody), like every other problem the API sends; and the
// JSON text of instance views, kept per view object so a view serialized once is not serialized
// again for the next read. Must not reshape anything: the driver returns the contract's schemas.
import { problemBody } from '../driver/errors';
import type { components } from '../contract/openapi.generated';

type S = components['schemas'];

export function renderOperation(op: S['Operation']): S['Operation'] {
  if (!op.error) return op;
  return { ...op, error: problemBody(op.error) };
}

/**
 * JSON text by view object. The driver replaces an instance's view when anything it shows
 * changes and never changes one it handed out (src/driver/views/instance-index.ts), so the text
 * of a view object stays true for as long as the object lives.
 */
const texts = new WeakMap<S['Instance'], string>();

/** The JSON text of an instance view, as JSON.stringify writes it. */
export function instanceJson(view: S['Instance']): string {
  let text = texts.get(view);
  if (text === undefined) {
    text = JSON.stringify(view);
    texts.set(view, text);
  }
  return text;
}

/** The JSON text of a page of instances, as JSON.stringify writes the InstancePage. */
export function instancePageJson(page: S['InstancePage']): string {
  let items = '';
  for (let i = 0; i < page.items.length; i++)
    items += i === 0 ? instanceJson(page.items[i]) : `,${instanceJson(page.items[i])}`;
  return `{"items":[${items}],"total":${page.total},"limit":${page.limit},"offset":${page.offset}}`;
}
