// Last touches on driver results before they are sent: an operation's embedded error becomes a
// complete problem (type, title, detail), like every other problem the API sends; and sendJson,
// the plain 200 JSON answer of reads. Must not reshape anything else: the driver already returns
// the contract's schemas.
import type { Request, Response } from 'express';
import type { components } from '../contract/openapi.generated';
import { completeProblem } from './problem';

type Operation = components['schemas']['Operation'];

export function renderOperation(op: Operation): Operation {
  if (!op.error) return op;
  return { ...op, error: completeProblem(op.error) };
}

/**
 * A 200 JSON answer to a GET, with the headers res.json gives it here (Content-Type with
 * charset, Content-Length; the app sends no ETag) but without its generic work per answer
 * (charset and freshness checks, Buffer conversion). Other methods (HEAD), and answers whose
 * res.json is hooked (response validation in tests), go through res.json.
 */
export function sendJson(req: Request, res: Response, body: unknown): void {
  if (req.method !== 'GET' || Object.prototype.hasOwnProperty.call(res, 'json')) {
    res.json(body);
    return;
  }
  const text = JSON.stringify(body);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
