// HTTP side channels for disk content: PUT /import_raw_vdi?session_id=&vdi= stores the request
// body as the VDI's bytes, GET /export_raw_vdi?session_id=&vdi= returns them. Both check the
// session (query, cookie or Basic auth) and the VDI; they know nothing of RPC.
import type http from 'node:http';
import type { Origin } from '../engine/dispatch';
import type { SimRuntime } from '../engine/runtime';
import type { SideHandler } from './server';

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sessionOk(rt: SimRuntime, req: http.IncomingMessage, url: URL, origin: Origin): boolean {
  if (origin.unix) return true;
  let sid = url.searchParams.get('session_id');
  if (!sid) {
    const m = /(?:^|;\s*)session_id=([^;]+)/.exec(req.headers.cookie ?? '');
    if (m) sid = decodeURIComponent(m[1]);
  }
  if (sid) return rt.store.has('session', sid);
  const auth = req.headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':', 2);
    return u === rt.options.user && p === rt.options.password;
  }
  return false;
}

export function vdiTransferHandler(rt: SimRuntime): SideHandler {
  return (req, res, url, origin) => {
    const importing = req.method === 'PUT' && url.pathname === '/import_raw_vdi';
    const exporting = req.method === 'GET' && url.pathname === '/export_raw_vdi';
    if (!importing && !exporting) return false;
    if (!sessionOk(rt, req, url, origin)) {
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
