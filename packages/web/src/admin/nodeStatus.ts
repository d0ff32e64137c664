/**
 * The node's health in plain words for its administrators: readiness (GET /readyz: database, chain, blob
 * store), anchoring (GET /fhir/$status: records waiting for the ledger and how long the oldest has waited)
 * and the audit log's checkpoints (GET /audit/checkpoint, latest and latest anchored).
 */

export interface Readiness {
  status: 'ready' | 'not ready';
  checks: Record<string, 'ok' | 'failing'>;
}

export interface NodeStatus {
  records: { resources: number; versions: number };
  anchoring: {
    queuedLeaves: number;
    inFlightLeaves: number;
    pendingBatches: number;
    submittedBatches: number;
    confirmedBatches: number;
    oldestUnanchoredAt?: string | null;
    anchorLagMs: number;
    leavesInConfirmedBatches: number;
    chainAnchorCount: number;
  };
  ledger: { chainId: number; recordRegistry: string; mode: 'embedded' | 'external' };
}

const CHECK_LABELS: Record<string, string> = {
  database: 'Database',
  chain: 'Chain (JSON-RPC)',
  blobs: 'Blob store',
};

export function checkLabel(name: string): string {
  return CHECK_LABELS[name] ?? name;
}

/** A duration as people say it. */
export function duration(ms: number): string {
  if (ms < 1000) return 'less than a second';
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} minutes`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} hours` : `${Math.round(h / 24)} days`;
}

/** Anchoring in one sentence, and whether it needs attention (a lag over five minutes). */
export function anchoringSummary(a: NodeStatus['anchoring']): { ok: boolean; text: string } {
  const waiting = a.queuedLeaves + a.inFlightLeaves;
  if (waiting === 0) {
    return {
      ok: true,
      text: `Every record version is anchored on the chain (${a.leavesInConfirmedBatches.toLocaleString('en')} in ${a.confirmedBatches.toLocaleString('en')} confirmed batches).`,
    };
  }
  const ok = a.anchorLagMs < 5 * 60_000;
  return {
    ok,
    text: `${waiting.toLocaleString('en')} record version${waiting === 1 ? '' : 's'} waiting for the chain; the oldest for ${duration(a.anchorLagMs)}.${ok ? '' : ' Check that the chain is reachable and the node’s account has gas.'}`,
  };
}
