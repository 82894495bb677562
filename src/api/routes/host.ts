// Routes of the `host` tag: the pool's identity and resources (admin only: see auth.ts).
// Must not call XAPI: the driver answers from the mirror.
import type { Router } from 'express';
import type { ServiceDriver } from '../driver-port';

export function hostRoutes(router: Router, driver: ServiceDriver): void {
  router.get('/v1/host', (_req, res) => {
    res.json(driver.host());
  });
}
