// Routes of the `host` tag: the pool's identity and resources (admin only: see auth.ts).
// Must not call XAPI: the driver answers from the mirror.
import type { ServiceDriver } from '../driver-port';
import type { ApiRouter } from '../endpoints';

export function hostRoutes(router: ApiRouter, driver: ServiceDriver): void {
  router.get('/v1/host', (_req, res) => {
    res.json(driver.host());
  });
}
