// Routes of the `images` tag: list, show, import (PUT: an octet-stream body streamed to the
// driver as it arrives, or a JSON source), publish, delete, and the streamed exports (an image's
// file, a snapshot disk's, a disk snapshot's). Inputs arrive validated against the OpenAPI file; the octet-stream
// body is left unread by the JSON parser. Must not call XAPI or reshape the driver's schemas.
import type { Request, Response } from 'express';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';
import { sendOperation } from '../prefer';

type S = components['schemas'];

/** Streams an export to the client; a client gone mid-way stops the XAPI download. */
async function sendFile(res: Response, file: { stream: Readable; length?: number }): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'application/octet-stream');
  if (file.length !== undefined) res.setHeader('Content-Length', file.length);
  await pipeline(file.stream, res).catch(() => res.destroy());
}

/** Resolves once the request's body has been read through, or cannot be any more. */
function bodyRead(req: Request): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    req.once('end', () => resolve(true));
    req.once('close', () => resolve(req.readableEnded));
  });
}

/** The disk format an export asks for (`?format=`, raw by default). */
const formatOf = (req: Request): S['ImageFormat'] =>
  (req.query.format ?? 'raw') as S['ImageFormat'];

export function imageRoutes(router: ApiRouter, driver: ServiceDriver): void {
  const id = (req: Request): string => String(req.params.image_id);

  router.get('/v1/images', (req, res) => {
    const limit = Number(req.query.limit ?? 100);
    const offset = Number(req.query.offset ?? 0);
    const page = driver.listImages(callerOf(req), { limit, offset });
    const body: S['ImagePage'] = { items: page.items, total: page.total, limit, offset };
    res.json(body);
  });

  router.get('/v1/images/:image_id', (req, res) => {
    res.json(driver.getImage(callerOf(req), id(req)));
  });

  router.put('/v1/images/:image_id', async (req, res) => {
    const caller = callerOf(req);
    if (req.is('application/json')) {
      const op = driver.importImageFromUrl(caller, id(req), req.body as S['ImageImportRequest']);
      await sendOperation(req, res, driver, caller, op);
      return;
    }
    const q = req.query as Record<string, string | undefined>;
    const length =
      req.headers['content-length'] !== undefined
        ? Number(req.headers['content-length'])
        : undefined;
    const op = driver.uploadImage(
      caller,
      id(req),
      {
        ...(q.format !== undefined ? { format: q.format as S['ImageFormat'] } : {}),
        ...(q.name !== undefined ? { name: q.name } : {}),
        ...(q.sr !== undefined ? { sr: q.sr } : {}),
        ...(q.checksum !== undefined ? { checksum: q.checksum } : {}),
      },
      req,
      length,
    );
    // The answer goes once the body is read (or the import ended without reading it all).
    const read = await Promise.race([
      bodyRead(req),
      driver.waitOperation(caller, op.id, 2 ** 31 - 1).then(() => req.readableEnded),
    ]);
    if (!read) res.setHeader('Connection', 'close');
    await sendOperation(req, res, driver, caller, driver.getOperation(caller, op.id));
  });

  router.patch('/v1/images/:image_id', async (req, res) => {
    const body = req.body as S['ImageUpdate'];
    res.json(await driver.setImagePublic(callerOf(req), id(req), body.public));
  });

  router.delete('/v1/images/:image_id', async (req, res) => {
    await driver.deleteImage(callerOf(req), id(req));
    res.status(204).end();
  });

  router.get('/v1/images/:image_id/file', async (req, res) => {
    await sendFile(res, await driver.exportImage(callerOf(req), id(req), formatOf(req)));
  });

  router.get(
    '/v1/instances/:instance_id/snapshots/:snapshot_id/disks/:device/file',
    async (req, res) => {
      const file = await driver.exportSnapshotDisk(
        callerOf(req),
        String(req.params.instance_id),
        String(req.params.snapshot_id),
        String(req.params.device),
        formatOf(req),
      );
      await sendFile(res, file);
    },
  );

  router.get(
    '/v1/instances/:instance_id/disks/:device/snapshots/:snapshot_id/file',
    async (req, res) => {
      const file = await driver.exportDiskSnapshot(
        callerOf(req),
        String(req.params.instance_id),
        String(req.params.device),
        String(req.params.snapshot_id),
        formatOf(req),
      );
      await sendFile(res, file);
    },
  );
}
