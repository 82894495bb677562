// Routes of the `system` tag (no authentication): liveness, readiness (XAPI session up and
// mirror synced), Prometheus metrics, the OpenAPI document and human docs at /docs rendered
// from the same document. Must not expose anything namespaced.
import express, { type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { ServiceDriver } from '../driver-port';
import type { Metrics } from '../metrics';
import { sendProblem, completeProblem } from '../problem';
import type { OpenApiDocument } from '../spec';

export interface SystemDeps {
  driver: Pick<ServiceDriver, 'ready'>;
  metrics: Metrics;
  spec: OpenApiDocument;
  xapiUrl?: string;
  version?: string;
}

export function systemRoutes(router: Router, deps: SystemDeps): void {
  const info = {
    ...(deps.xapiUrl ? { xapi: deps.xapiUrl } : {}),
    ...(deps.version ? { version: deps.version } : {}),
  };
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', ...info });
  });
  router.get('/readyz', (req, res) => {
    if (deps.driver.ready()) {
      res.json({ status: 'ok', ...info });
      return;
    }
    sendProblem(
      res,
      completeProblem(
        {
          status: 503,
          code: 'xapi_unavailable',
          detail: 'the XAPI session is not up or the mirror is not synced yet',
        },
        req.originalUrl,
      ),
    );
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
