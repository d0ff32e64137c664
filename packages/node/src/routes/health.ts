/** /healthz (the process is up), /readyz (database, chain and blob store answer) and /metrics. */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, 'ok' | 'failing'>;
}

export function registerHealthRoutes(
  app: FastifyInstance,
  readiness: () => Promise<Readiness>,
  metrics: Metrics,
) {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const r = await readiness();
    return reply
      .code(r.ready ? 200 : 503)
      .send({ status: r.ready ? 'ready' : 'not ready', checks: r.checks });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
