// Routes of the `operations` tag: an instance's operations, follow (with Prefer: wait) and
// cancel an operation. The driver scopes operations by the caller's namespace. Must not call XAPI.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import { sendOperation } from '../prefer';
import { renderOperation } from '../render';
import type { components } from '../../contract/openapi.generated';

type S = components['schemas'];

export function operationRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.get('/v1/instances/:instance_id/operations', (req, res) => {
    const status = req.query.status as S['OperationStatus'] | undefined;
    const items = driver.instanceOperations(callerOf(req), String(req.params.instance_id), status);
    res.json({ items: items.map(renderOperation) });
  });

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
