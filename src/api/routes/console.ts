// Routes of the `console` and `diagnostics` tags: the VNC console (operators: it carries a
// XAPI session id), the guest's console log and the instance's diagnostics. Read-only; must not
// call XAPI itself or reshape the driver's schemas.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';

export function consoleRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.get('/v1/instances/:instance_id/console', (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(driver.console(callerOf(req), String(req.params.instance_id)));
  });

  router.get('/v1/instances/:instance_id/console/log', async (req, res) => {
    res.json(await driver.consoleLog(callerOf(req), String(req.params.instance_id)));
  });

  router.get('/v1/instances/:instance_id/diagnostics', (req, res) => {
    res.json(driver.diagnostics(callerOf(req), String(req.params.instance_id)));
  });
}
