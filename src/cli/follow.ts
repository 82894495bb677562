// Finishing a command that started an operation: following it (unless --no-wait) with the
// progress bar, or reporting "nothing to do"; and the numeric flags those commands take.
// No command here.
import type { Operation, XcdClient } from '../client';
import { followOperation, printJson, reportOperation, type ClientFlags } from './output';

export interface WaitFlags extends ClientFlags {
  wait?: boolean;
}

/** Follows the operation (unless --no-wait) and reports it; null means there was nothing to do. */
export async function finishOperation(
  client: XcdClient,
  op: Operation | null,
  flags: WaitFlags,
  done: string,
): Promise<void> {
  if (!op) {
    if (flags.json) printJson(null);
    else process.stdout.write(`${done} (nothing to do)\n`);
    return;
  }
  if (flags.wait === false) {
    if (flags.json) printJson(op);
    else process.stdout.write(`operation ${op.id} ${op.status}\n`);
    return;
  }
  reportOperation(await followOperation(client, op, flags), flags, done);
}

export function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`'${text}' is not a positive integer`);
  return n;
}
