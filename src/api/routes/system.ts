// Routes of the `system` tag (no authentication): liveness, readiness (the driver's ready()),
// Prometheus metrics, the OpenAPI document and human docs at /docs rendered from the same
// document. Must not expose anything namespaced, nor where XAPI is or how the service logs in.
import express, { type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { ServiceDriver } from '../driver-port';
import type { Metrics } from '../metrics';
import type { components } from '../../contract/openapi.generated';
import { sendProblem, toProblem } from '../problem';
import { notReady } from '../readiness';
import type { OpenApiDocument } from '../spec';

export interface SystemDeps {
  driver: Pick<ServiceDriver, 'ready'>;
  metrics: Metrics;
  spec: OpenApiDocument;
}

/** All a health answer carries: these routes need no token. */
const OK: components['schemas']['Health'] = { status: 'ok' };

export function systemRoutes(router: Router, deps: SystemDeps): void {
  router.get('/healthz', (_req, res) => {
    res.json(OK);
  });
  router.get('/readyz', (req, res) => {
    if (deps.driver.ready()) {
      res.json(OK);
      return;
    }
    sendProblem(res, toProblem(notReady(res), req));
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  const specJson = JSON.stringify(deps.spec);
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(specJson);
  });
  const docs = express.Router();
  docs.use(swaggerUi.serve);
  docs.get(
    '/',
    swaggerUi.setup(deps.spec as swaggerUi.JsonObject, {
      customSiteTitle: 'xen-compute-driver API',
    }),
  );
  router.use('/docs', docs);
}
