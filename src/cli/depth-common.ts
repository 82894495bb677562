// Shared plumbing of the depth commands (snapshots, volumes, nics, events, the instance actions
// pause ... console): the depth REST client from the same --url/--token flags, and following an
// operation (or reporting "nothing to do") with the core commands' progress bar. No command here.
import { XcdDepthClient } from '../client/depth';
import type { Operation, XcdClient } from '../client';
import { loadClientConfig } from '../config';
import {
  clientFrom,
  followOperation,
  printJson,
  reportOperation,
  type ClientFlags,
} from './output';

export interface WaitFlags extends ClientFlags {
  wait?: boolean;
}

export function depthClientFrom(flags: ClientFlags): XcdDepthClient {
  return new XcdDepthClient(loadClientConfig(flags));
}

export function clients(flags: ClientFlags): { core: XcdClient; depth: XcdDepthClient } {
  return { core: clientFrom(flags), depth: depthClientFrom(flags) };
}

/** Follows the operation (unless --no-wait) and reports it; null means there was nothing to do. */
export async function finishOperation(
  core: XcdClient,
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
  reportOperation(await followOperation(core, op, flags), flags, done);
}

export function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`'${text}' is not a positive integer`);
  return n;
}
