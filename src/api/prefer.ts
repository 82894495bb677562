// RFC 7240 `Prefer: wait=N` for calls that answer an Operation: waits up to N seconds (at most
// MAX_WAIT_S) for it to become final, then answers 200 (final) or 202 (running) with Location
// and Preference-Applied. Owns only that rendering; the driver owns waiting on operations.
import type { Request, Response } from 'express';
import type { Caller } from './auth';
import type { components } from '../contract/openapi.generated';
import { renderOperation } from './render';

type Operation = components['schemas']['Operation'];

export const MAX_WAIT_S = 300;

export interface OperationWaiter {
  waitOperation(caller: Caller, opId: string, timeoutMs: number): Promise<Operation>;
  committed(caller: Caller, opId: string): Promise<void>;
}

/** The `wait` preference in seconds (clamped to MAX_WAIT_S), or undefined when absent/invalid. */
export function preferredWait(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return undefined;
  for (const part of text.split(',')) {
    const m = /^\s*wait\s*=\s*"?(\d+)"?\s*(;.*)?$/i.exec(part);
    if (m) return Math.min(Number(m[1]), MAX_WAIT_S);
  }
  return undefined;
}

export function isFinal(op: Operation): boolean {
  return op.status !== 'running';
}

/** Applies `Prefer: wait` to `op` and sends it; no operation (nothing to do) is `204`. */
export async function sendOperation(
  req: Request,
  res: Response,
  driver: OperationWaiter,
  caller: Caller,
  op: Operation | null,
  opts: { alwaysOk?: boolean } = {},
): Promise<void> {
  if (!op) {
    res.status(204).end(); // nothing to do (already removed, detached ...)
    return;
  }
  const wait = preferredWait(req.headers.prefer);
  // An operation id is handed out only once its record is durable.
  await driver.committed(caller, op.id);
  let current = op;
  if (wait !== undefined) {
    if (!isFinal(current) && wait > 0)
      current = await driver.waitOperation(caller, current.id, wait * 1000);
    res.setHeader('Preference-Applied', `wait=${wait}`);
    res.vary('Prefer');
  }
  if (!opts.alwaysOk) res.setHeader('Location', `/v1/operations/${encodeURIComponent(current.id)}`);
  res.status(opts.alwaysOk || isFinal(current) ? 200 : 202).json(renderOperation(current));
}
