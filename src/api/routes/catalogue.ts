// Routes of the `catalogue` tag: templates, networks and SRs a spawn can name (any role reads
// them; the driver answers from the mirror), and the VLAN networks an admin makes and removes. Must not call
// XAPI.
import { callerOf } from '../auth';
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';
import type { components } from '../../contract/openapi.generated';

export function catalogueRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.get('/v1/templates', (_req, res) => {
    res.json({ items: driver.templates() });
  });
  router.get('/v1/networks', (_req, res) => {
    res.json({ items: driver.networks() });
  });
  router.put('/v1/networks/:name', async (req, res) => {
    const body = req.body as components['schemas']['NetworkCreateRequest'];
    const made = await driver.createNetwork(callerOf(req), String(req.params.name), body);
    res.status(made.created ? 201 : 200).json(made.network);
  });
  router.delete('/v1/networks/:name', async (req, res) => {
    await driver.deleteNetwork(callerOf(req), String(req.params.name));
    res.status(204).end();
  });
  router.get('/v1/srs', (_req, res) => {
    res.json({ items: driver.srs() });
  });
}
