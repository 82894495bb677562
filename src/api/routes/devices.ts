// Routes of the `devices` tag: volumes (attach an existing VDI by uuid or an iSCSI LUN by
// connection, detach by volume id, list), disks the instance owns (add, remove by device) and
// NICs (attach, detach by device, list) of an instance, hot when it runs. Inputs arrive validated
// against the OpenAPI file. Must not call XAPI or reshape the driver's schemas.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';
import { sendOperation } from '../prefer';

type S = components['schemas'];

export function deviceRoutes(router: ApiRouter, driver: ServiceDriver): void {
  const id = (p: Record<string, string>): string => String(p.instance_id);

  router.get('/v1/instances/:instance_id/volumes', (req, res) => {
    res.json({ items: driver.listVolumes(callerOf(req), id(req.params)) });
  });

  router.put('/v1/instances/:instance_id/volumes/:volume_id', async (req, res) => {
    const caller = callerOf(req);
    const body = (req.body ?? {}) as S['VolumeAttachRequest'];
    const op = driver.attachVolume(caller, id(req.params), String(req.params.volume_id), body);
    await sendOperation(req, res, driver, caller, op);
  });

  router.delete('/v1/instances/:instance_id/volumes/:volume_id', async (req, res) => {
    const caller = callerOf(req);
    const op = driver.detachVolume(caller, id(req.params), String(req.params.volume_id));
    await sendOperation(req, res, driver, caller, op);
  });

  router.put('/v1/instances/:instance_id/disks/:device', async (req, res) => {
    const caller = callerOf(req);
    const body = req.body as S['DiskAddRequest'];
    const op = driver.addDisk(caller, id(req.params), String(req.params.device), body);
    await sendOperation(req, res, driver, caller, op);
  });

  router.delete('/v1/instances/:instance_id/disks/:device', async (req, res) => {
    const caller = callerOf(req);
    const op = driver.removeDisk(caller, id(req.params), String(req.params.device));
    await sendOperation(req, res, driver, caller, op);
  });

  router.get('/v1/instances/:instance_id/nics', (req, res) => {
    res.json({ items: driver.listNics(callerOf(req), id(req.params)) });
  });

  router.post('/v1/instances/:instance_id/nics', async (req, res) => {
    const caller = callerOf(req);
    const op = driver.attachNic(caller, id(req.params), req.body as S['NicAttachRequest']);
    await sendOperation(req, res, driver, caller, op);
  });

  router.delete('/v1/instances/:instance_id/nics/:device', async (req, res) => {
    const caller = callerOf(req);
    const op = driver.detachNic(caller, id(req.params), String(req.params.device));
    await sendOperation(req, res, driver, caller, op);
  });
}
