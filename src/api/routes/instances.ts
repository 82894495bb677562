// Routes of the `instances` tag: list, show, spawn (PUT, idempotent), destroy and power actions.
// Inputs arrive validated against the OpenAPI file (defaults applied); errors are thrown for
// the problem handler. Must not call XAPI or reshape the driver's schemas.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';
import { sendOperation } from '../prefer';
import { instanceBody, instancePageBody, JSON_UTF8 } from '../render';

type S = components['schemas'];

export function instanceRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.get('/v1/instances', (req, res) => {
    const q = req.query as {
      power_state?: S['PowerState'];
      limit?: number | string;
      offset?: number | string;
    };
    const limit = Number(q.limit ?? 100);
    const offset = Number(q.offset ?? 0);
    const page = driver.listInstances(callerOf(req), {
      ...(q.power_state ? { power_state: q.power_state } : {}),
      limit,
      offset,
    });
    // Instance views go out as the JSON kept per view (render.ts).
    const body = instancePageBody({ items: page.items, total: page.total, limit, offset });
    res.set('Content-Type', JSON_UTF8).send(body);
  });

  router.get('/v1/instances/:instance_id', (req, res) => {
    const view = driver.getInstance(callerOf(req), String(req.params.instance_id));
    res.set('Content-Type', JSON_UTF8).send(instanceBody(view));
  });

  router.put('/v1/instances/:instance_id', async (req, res) => {
    const caller = callerOf(req);
    const { operation } = driver.spawn(
      caller,
      String(req.params.instance_id),
      req.body as S['SpawnRequest'],
    );
    await sendOperation(req, res, driver, caller, operation);
  });

  router.delete('/v1/instances/:instance_id', async (req, res) => {
    const caller = callerOf(req);
    const keep = req.query.keep_disks as unknown;
    const op = driver.destroy(caller, String(req.params.instance_id), {
      keep_disks: keep === true || keep === 'true',
    });
    await sendOperation(req, res, driver, caller, op);
  });

  router.post('/v1/instances/:instance_id/actions', async (req, res) => {
    const caller = callerOf(req);
    const op = driver.action(
      caller,
      String(req.params.instance_id),
      req.body as S['InstanceAction'],
    );
    await sendOperation(req, res, driver, caller, op);
  });
}
