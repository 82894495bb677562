// Routes of the `config-drive` tag: rebuild an instance's config drive with new user data and
// metadata. Inputs arrive validated against the OpenAPI file; errors are thrown for the problem
// handler. Must not call XAPI or reshape the driver's schemas.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';
import { sendOperation } from '../prefer';

type S = components['schemas'];

export function configDriveRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.put('/v1/instances/:instance_id/config-drive', async (req, res) => {
    const caller = callerOf(req);
    const body = req.body as S['ConfigDriveRequest'];
    const op = driver.updateConfigDrive(caller, String(req.params.instance_id), body);
    await sendOperation(req, res, driver, caller, op);
  });
}
