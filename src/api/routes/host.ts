// Routes of the `host` tag: the pool's identity and resources, and maintenance actions on one
// host (admin only: see auth.ts). Must not call XAPI: the driver answers from the mirror or
// starts an operation.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import { sendOperation } from '../prefer';
import type { components } from '../../contract/openapi.generated';

export function hostRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.get('/v1/host', (_req, res) => {
    res.json(driver.host());
  });
  router.post('/v1/hosts/:host/actions', async (req, res) => {
    const caller = callerOf(req);
    const body = req.body as components['schemas']['HostAction'];
    const op = driver.hostAction(caller, String(req.params.host), body);
    await sendOperation(req, res, driver, caller, op);
  });
}
