/**
 * Prometheus metrics at /metrics: request counts and latencies by route and status, plus gauges the node
 * samples on scrape (outbox depth, anchor lag). Route labels are Fastify route patterns (e.g.
 * /fhir/:type/:id), never raw URLs, so no identifier or PHI reaches the metrics.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface LedgerGauges {
  queuedLeaves: number;
  pendingBatches: number;
  anchorLagSeconds: number;
}

export function createMetrics(sample: () => Promise<LedgerGauges>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'medledger_process_' });
  const requests = new Counter({
    name: 'medledger_http_requests_total',
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'medledger_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  let last: LedgerGauges | undefined;
  const refresh = async () => {
    last = await sample().catch(() => last);
  };
  new Gauge({
    name: 'medledger_outbox_queued_leaves',
    help: 'Record commitments written but not yet in an anchor batch',
    registers: [registry],
    async collect() {
      await refresh();
      this.set(last?.queuedLeaves ?? 0);
    },
  });
  new Gauge({
    name: 'medledger_outbox_pending_batches',
    help: 'Anchor batches built but not yet confirmed on the ledger',
    registers: [registry],
    collect() {
      this.set(last?.pendingBatches ?? 0);
    },
  });
  new Gauge({
    name: 'medledger_anchor_lag_seconds',
    help: 'Age of the oldest record commitment not yet anchored (0 when none)',
    registers: [registry],
    collect() {
      this.set(last?.anchorLagSeconds ?? 0);
    },
  });
  return {
    registry,
    observe(route: string, method: string, status: number, seconds: number) {
      requests.inc({ route, method, status: String(status) });
      latency.observe({ route, method }, seconds);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
