// HTTP side channels for disk content, as xapi's import_raw_vdi.ml and export_raw_vdi.ml
// (xapi-project/xen-api ocaml/xapi/): PUT /import_raw_vdi and GET /export_raw_vdi with
// `session_id`, `vdi` (ref or uuid; or `sr_id`/`sr_uuid` to import raw into a new VDI),
// `format=raw|vhd|qcow2` (qcow2 from xapi 25.27.0), `task_id`, `chunked` (raw import framing) and
// `base` (delta export). This file checks the caller, the VDI, the format and the encoding,
// applies the faults armed for the path, runs the transfer on a task and answers; the bytes are
// vdi-import.ts's and vdi-export.ts's business. It changes no record but the task's.
import type http from 'node:http';
import { XapiFault, toFault } from '../engine/fault';
import type { CallFaults } from '../engine/faults';
import type { SimRuntime } from '../engine/runtime';
import type { Rec } from '../engine/store';
import type { SideHandler } from './server';
import { sideChannelAuthorized } from './side-channel-auth';
import { exportVdi, type ExportFormat } from './vdi-export';
import { importVdi } from './vdi-import';

export type DiskFormat = 'raw' | 'vhd' | 'qcow2';

/** The first xapi with qcow2 in Importexport.Format (commit d5d9999bba, tag v25.27.0). */
export const QCOW2_SINCE = '25.27.0';

/** What index.ts hands the wire: the storage rules a transfer needs. */
export interface VdiTransferHooks {
  /** After a VDI's content changed (physical_utilisation follows it). */
  contentChanged(vdiRef: string): void;
  /** VDI.create's rules: a VDI of `size` bytes in `srRef` (throws SR_FULL and the like). */
  createVdi(srRef: string, nameLabel: string, size: number): string;
}

function versionAtLeast(version: string, since: string): boolean {
  const a = version.split('.').map(Number);
  const b = since.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
  return true;
}

/** The formats this simulated xapi's Importexport.Format knows (tar is not simulated). */
export function formatsOf(xapiVersion: string): DiskFormat[] {
  return versionAtLeast(xapiVersion, QCOW2_SINCE) ? ['raw', 'vhd', 'qcow2'] : ['raw', 'vhd'];
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
  });
  res.end(text);
}

function findVdi(rt: SimRuntime, refOrUuid: string): { ref: string; rec: Rec } | undefined {
  const rec = rt.store.find('VDI', refOrUuid);
  if (rec) return { ref: refOrUuid, rec };
  const ref = rt.store.byUuid('VDI', refOrUuid);
  return ref ? { ref, rec: rt.store.get('VDI', ref) } : undefined;
}

/**
 * The task the transfer reports on: the caller's pending `task_id` (as xapi's
 * Context.from_forwarded_task), else a new one named as xapi's Xapi_http.with_context names it.
 */
function taskFor(rt: SimRuntime, url: URL, label: string): string {
  const given = url.searchParams.get('task_id');
  if (given && rt.store.find('task', given)?.status === 'pending') return given;
  return rt.tasks.create(label, '', rt.masterRef());
}

/** Fail `taskRef` with `fault` and answer `status` with no body, as xapi's HandleError path. */
function refuse(
  rt: SimRuntime,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  taskRef: string,
  fault: XapiFault,
  status: number,
): void {
  void rt.tasks.run(taskRef, 'void', () => {
    throw fault;
  });
  req.resume();
  res.writeHead(status, { 'content-length': 0, connection: 'close', 'task-id': taskRef });
  res.end();
}

/**
 * An import without `vdi=`: into a new VDI of the SR named by `sr_id` or `sr_uuid`, raw with a
 * Content-Length only (import_raw_vdi.ml: 400 with INTERNAL_ERROR for vhd, qcow2 or no length;
 * without an SR, VDI_MISSING on the task). Answers the VDI, or undefined once it has responded.
 */
function newVdi(
  rt: SimRuntime,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  taskRef: string,
  format: DiskFormat,
  hooks: VdiTransferHooks,
): { ref: string; rec: Rec } | undefined {
  const srId = url.searchParams.get('sr_id');
  const srUuid = url.searchParams.get('sr_uuid');
  const srRef = srId ?? (srUuid === null ? undefined : rt.store.byUuid('SR', srUuid));
  const length = req.headers['content-length'];
  const refusal = !srRef
    ? new XapiFault('VDI_MISSING', [])
    : format !== 'raw'
      ? new XapiFault('INTERNAL_ERROR', [
          `Importing a ${format === 'vhd' ? 'VHD' : 'QCOW2'} directly into an SR not yet supported`,
        ])
      : length === undefined
        ? new XapiFault('INTERNAL_ERROR', ['Not enough info supplied to import'])
        : undefined;
  if (refusal) {
    refuse(rt, req, res, taskRef, refusal, 400);
    return undefined;
  }
  try {
    const ref = hooks.createVdi(srRef!, 'Imported VDI', Number(length));
    return { ref, rec: rt.store.get('VDI', ref) };
  } catch (err) {
    refuse(rt, req, res, taskRef, toFault(err), 500);
    return undefined;
  }
}

export function vdiTransferHandler(rt: SimRuntime, hooks: VdiTransferHooks): SideHandler {
  return (req, res, url, origin) => {
    const importing = req.method === 'PUT' && url.pathname === '/import_raw_vdi';
    const exporting = req.method === 'GET' && url.pathname === '/export_raw_vdi';
    if (!importing && !exporting) return false;
    if (!sideChannelAuthorized(rt, req, url, origin)) {
      req.resume();
      plain(res, 401, 'Unauthorised');
      return true;
    }
    const vdiParam = url.searchParams.get('vdi');
    const vdi = vdiParam === null ? undefined : findVdi(rt, vdiParam);
    if (!vdi && (exporting || vdiParam !== null)) {
      req.resume();
      plain(res, 404, `VDI not found: ${vdiParam ?? ''}`);
      return true;
    }
    const faults = rt.faults.forCall(url.pathname, true);
    if (faults.latencyMs > 0) {
      req.pause();
      setTimeout(() => {
        req.resume();
        transfer(rt, req, res, url, vdi, hooks, faults);
      }, faults.latencyMs);
    } else transfer(rt, req, res, url, vdi, hooks, faults);
    return true;
  };
}

/** One authorised transfer of a found VDI (or of a new one, importing without vdi=). */
function transfer(
  rt: SimRuntime,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  vdi: { ref: string; rec: Rec } | undefined,
  hooks: VdiTransferHooks,
  faults: CallFaults,
): void {
  const importing = req.method === 'PUT';
  const taskRef = taskFor(rt, url, importing ? 'Importing raw VDI' : 'Exporting raw VDI');
  // Importexport.Format.of_req: `format` (any case) or raw; an unknown one is 404 and
  // INTERNAL_ERROR ["Unknown format <x>"] on the task, on import and export alike.
  const asked = url.searchParams.get('format') ?? 'raw';
  const format = asked.toLowerCase() as DiskFormat;
  if (!formatsOf(rt.options.xapiVersion).includes(format)) {
    const fault = new XapiFault('INTERNAL_ERROR', [`Unknown format ${asked}`]);
    refuse(rt, req, res, taskRef, fault, 404);
    return;
  }
  const injected = { fail: faults.fail, drop: faults.drop };
  if (!importing && vdi) {
    const baseParam = url.searchParams.get('base');
    const base = baseParam === null ? undefined : findVdi(rt, baseParam);
    void exportVdi(rt, res, {
      taskRef,
      vdiRef: vdi.ref,
      vdi: vdi.rec,
      format: format as ExportFormat,
      base: base?.rec,
      baseMissing: baseParam !== null && !base ? baseParam : undefined,
      injected,
    });
    return;
  }
  // import_raw_vdi.ml: xapi's own `chunked` framing is for raw only, and an HTTP
  // Transfer-Encoding is refused ("Chunked encoding not yet implemented in the import code").
  const chunked = url.searchParams.has('chunked');
  if (format !== 'raw' && chunked) {
    const fault = new XapiFault('INTERNAL_ERROR', ['Cannot handle chunked VHD']);
    refuse(rt, req, res, taskRef, fault, 404);
    return;
  }
  const encoding = req.headers['transfer-encoding'];
  if (encoding) {
    const fault = new XapiFault('INTERNAL_ERROR', [`Cannot handle encoding: ${encoding}`]);
    refuse(rt, req, res, taskRef, fault, 404);
    return;
  }
  const target = vdi ?? newVdi(rt, req, res, url, taskRef, format, hooks);
  if (!target) return;
  // xapi answers 200 with the task before reading the body; how the import went is the
  // task's status (the connection closes either way).
  res.writeHead(200, {
    'task-id': taskRef,
    'content-type': 'application/octet-stream',
    connection: 'close',
  });
  res.flushHeaders();
  void rt.tasks
    .run(taskRef, 'VDI ref', async () => {
      try {
        await importVdi(rt, req, { taskRef, vdi: target.rec, format, chunked, injected });
      } finally {
        hooks.contentChanged(target.ref); // a failed import leaves what it wrote, as xapi's
      }
      return target.ref;
    })
    .finally(() => res.end());
}
