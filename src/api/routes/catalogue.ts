// Routes of the `catalogue` tag: templates, networks and SRs a spawn can name. Any role reads
// them. Must not call XAPI: the driver answers from the mirror.
import type { Router } from 'express';
import type { ServiceDriver } from '../driver-port';

export function catalogueRoutes(router: Router, driver: ServiceDriver): void {
  router.get('/v1/templates', (_req, res) => {
    res.json({ items: driver.templates() });
  });
  router.get('/v1/networks', (_req, res) => {
    res.json({ items: driver.networks() });
  });
  router.get('/v1/srs', (_req, res) => {
    res.json({ items: driver.srs() });
  });
}
