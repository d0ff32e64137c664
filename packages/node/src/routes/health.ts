/**
 * /healthz (the process is up), /readyz (database, chain and blob store answer) and /metrics. The first two are
 * public (load balancers, orchestrators); /metrics is for the organisation's operators only — the node's own API
 * tokens and admin accounts — since request counts per route and anchoring lag describe the organisation's
 * activity (403 for anyone else: it says nothing about a patient).
 */
import type { FastifyInstance } from 'fastify';
import { requireAdministrator } from '../features/careRequests.js';
import type { Metrics } from '../metrics.js';
import { healthzSchema, metricsSchema, readyzSchema } from '../openapi/routeSchemas.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, 'ok' | 'failing'>;
}

export function registerHealthRoutes(
  app: FastifyInstance,
  readiness: () => Promise<Readiness>,
  metrics: Metrics,
) {
  app.get('/healthz', { schema: healthzSchema }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: readyzSchema }, async (_request, reply) => {
    const r = await readiness();
    return reply
      .code(r.ready ? 200 : 503)
      .send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', { schema: metricsSchema }, async (request, reply) => {
    requireAdministrator(request);
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
