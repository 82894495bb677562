// Last touches on driver results before they are sent: an operation's embedded error becomes a
// complete problem (type, title, detail), like every other problem the API sends. Must not
// reshape anything else: the driver already returns the contract's schemas.
import type { components } from './generated/openapi';
import { completeProblem } from './problem';

type Operation = components['schemas']['Operation'];

export function renderOperation(op: Operation): Operation {
  if (!op.error) return op;
  return { ...op, error: completeProblem(op.error) };
}
