// Routes of the `operations` tag: follow (with Prefer: wait) and cancel an operation. The
// driver scopes operations by the caller's namespace. Must not call XAPI.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import { sendOperation } from '../prefer';
import { renderOperation } from '../render';

export function operationRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.get('/v1/operations/:operation_id', async (req, res) => {
    const caller = callerOf(req);
    const op = driver.getOperation(caller, String(req.params.operation_id));
    await sendOperation(req, res, driver, caller, op, { alwaysOk: true });
  });

  router.delete('/v1/operations/:operation_id', (req, res) => {
    res.json(
      renderOperation(driver.cancelOperation(callerOf(req), String(req.params.operation_id))),
    );
  });
}
