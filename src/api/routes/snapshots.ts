// Routes of the `snapshots` tag: list, show, create (PUT by the orchestrator's id), revert and
// delete an instance's snapshots. Inputs arrive validated against the OpenAPI file; errors are
// thrown for the problem handler. Must not call XAPI or reshape the driver's schemas.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';
import { sendOperation } from '../prefer';

type S = components['schemas'];

export function snapshotRoutes(router: ApiRouter, driver: ServiceDriver): void {
  const base = '/v1/instances/:instance_id/snapshots';
  const id = (p: Record<string, string>): string => String(p.instance_id);

  router.get(base, (req, res) => {
    res.json({ items: driver.listSnapshots(callerOf(req), id(req.params)) });
  });

  router.get(`${base}/:snapshot_id`, (req, res) => {
    res.json(driver.getSnapshot(callerOf(req), id(req.params), String(req.params.snapshot_id)));
  });

  router.put(`${base}/:snapshot_id`, async (req, res) => {
    const caller = callerOf(req);
    const body = (req.body ?? {}) as S['SnapshotRequest'];
    const op = driver.createSnapshot(caller, id(req.params), String(req.params.snapshot_id), body);
    await sendOperation(req, res, driver, caller, op);
  });

  router.delete(`${base}/:snapshot_id`, async (req, res) => {
    const caller = callerOf(req);
    const op = driver.deleteSnapshot(caller, id(req.params), String(req.params.snapshot_id));
    await sendOperation(req, res, driver, caller, op);
  });

  router.post(`${base}/:snapshot_id/revert`, async (req, res) => {
    const caller = callerOf(req);
    const body = (req.body ?? {}) as S['RevertRequest'];
    const op = driver.revertSnapshot(caller, id(req.params), String(req.params.snapshot_id), body);
    await sendOperation(req, res, driver, caller, op);
  });
}
