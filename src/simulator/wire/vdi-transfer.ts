// HTTP side channels for disk content: PUT /import_raw_vdi?session_id=&vdi= stores the request
// body as the VDI's bytes, GET /export_raw_vdi?session_id=&vdi= returns them. Both check the
// caller (side-channel-auth.ts) and the VDI; they know nothing of RPC.
import type http from 'node:http';
import type { SimRuntime } from '../engine/runtime';
import type { SideHandler } from './server';
import { sideChannelAuthorized } from './side-channel-auth';

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function vdiTransferHandler(rt: SimRuntime): SideHandler {
  return (req, res, url, origin) => {
    const importing = req.method === 'PUT' && url.pathname === '/import_raw_vdi';
    const exporting = req.method === 'GET' && url.pathname === '/export_raw_vdi';
    if (!importing && !exporting) return false;
    if (!sideChannelAuthorized(rt, req, url, origin)) {
      req.resume();
      plain(res, 401, 'Unauthorised');
      return true;
    }
    const vdiRef = url.searchParams.get('vdi') ?? '';
    const vdi =
      rt.store.find('VDI', vdiRef) ??
      (rt.store.byUuid('VDI', vdiRef)
        ? rt.store.get('VDI', rt.store.byUuid('VDI', vdiRef)!)
        : undefined);
    if (!vdi) {
      req.resume();
      plain(res, 404, `VDI not found: ${vdiRef}`);
      return true;
    }
    const uuid = vdi.uuid as string;
    if (exporting) {
      const bytes = rt.vdiContent.get(uuid) ?? Buffer.alloc(0);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bytes.length,
      });
      res.end(bytes);
      return true;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length > Number(vdi.virtual_size ?? 0) && Number(vdi.virtual_size ?? 0) > 0) {
        plain(res, 500, 'Content larger than the VDI');
        return;
      }
      rt.vdiContent.set(uuid, body);
      plain(res, 200, '');
    });
    return true;
  };
}
