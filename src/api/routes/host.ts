// Routes of the `host` tag: the pool's identity and resources. Admin only (pool-wide data).
// Must not call XAPI: the driver answers from the mirror.
import type { Router } from 'express';
import { requireRole } from '../auth';
import type { ServiceDriver } from '../driver-port';

export function hostRoutes(router: Router, driver: ServiceDriver): void {
  router.get('/v1/host', requireRole('admin'), (_req, res) => {
    res.json(driver.host());
  });
}
