// Routes of the `disk-snapshots` tag: list, create (PUT by the orchestrator's id), revert and
// delete the snapshots of one disk of an instance. Inputs arrive validated against the OpenAPI
// file; errors are thrown for the problem handler. Must not call XAPI or reshape the driver's
// schemas.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';
import { sendOperation } from '../prefer';

type S = components['schemas'];

export function diskSnapshotRoutes(router: ApiRouter, driver: ServiceDriver): void {
  const base = '/v1/instances/:instance_id/disks/:device/snapshots';
  const at = (p: Record<string, string>): [string, string] => [
    String(p.instance_id),
    String(p.device),
  ];

  router.get(base, (req, res) => {
    res.json({ items: driver.listDiskSnapshots(callerOf(req), ...at(req.params)) });
  });

  router.put(`${base}/:snapshot_id`, async (req, res) => {
    const caller = callerOf(req);
    const body = (req.body ?? {}) as S['DiskSnapshotRequest'];
    const sid = String(req.params.snapshot_id);
    const op = driver.createDiskSnapshot(caller, ...at(req.params), sid, body);
    await sendOperation(req, res, driver, caller, op);
  });

  router.delete(`${base}/:snapshot_id`, async (req, res) => {
    const caller = callerOf(req);
    const sid = String(req.params.snapshot_id);
    const op = driver.deleteDiskSnapshot(caller, ...at(req.params), sid);
    await sendOperation(req, res, driver, caller, op);
  });

  router.post(`${base}/:snapshot_id/revert`, async (req, res) => {
    const caller = callerOf(req);
    const sid = String(req.params.snapshot_id);
    const op = driver.revertDiskSnapshot(caller, ...at(req.params), sid);
    await sendOperation(req, res, driver, caller, op);
  });
}
