/**
 * The node's status for its administrators, each part shown plainly: readiness (GET /readyz — database,
 * chain, blob store), records and their anchoring on the chain (GET /fhir/$status), the chain, and the audit
 * log's checkpoints (GET /audit/checkpoint, latest and latest anchored). Refreshes every 10 seconds.
 */
import { useQuery } from '@tanstack/react-query';
import { ApiError, api, request } from '../api/client';
import type { Checkpoint } from '../auditor/auditLog';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import { anchoringSummary, checkLabel, duration, type NodeStatus, type Readiness } from './nodeStatus';

const EVERY = 10_000;

async function readiness(signal: AbortSignal): Promise<Readiness> {
  try {
    return (await (await request('/readyz', { signal, anonymous: true })).json()) as Readiness;
  } catch (error) {
    // 503: not ready (which check fails is in the node's log and its /readyz answer).
    if (error instanceof ApiError && error.status === 503) return { status: 'not ready', checks: {} };
    throw error;
  }
}

async function checkpoint(anchored: boolean, signal: AbortSignal): Promise<Checkpoint | null> {
  try {
    return await api<Checkpoint>(`/audit/checkpoint${anchored ? '?anchored=true' : ''}`, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function NodeStatusPage() {
  const ready = useQuery({
    queryKey: ['readyz'],
    queryFn: ({ signal }) => readiness(signal),
    refetchInterval: EVERY,
  });
  const status = useQuery({
    queryKey: ['node-status'],
    queryFn: ({ signal }) => api<NodeStatus>('/fhir/$status', { signal }),
    refetchInterval: EVERY,
  });
  const latest = useQuery({
    queryKey: ['checkpoint', 'latest'],
    queryFn: ({ signal }) => checkpoint(false, signal),
    refetchInterval: EVERY,
  });
  const anchored = useQuery({
    queryKey: ['checkpoint', 'anchored'],
    queryFn: ({ signal }) => checkpoint(true, signal),
    refetchInterval: EVERY,
  });

  return (
    <section className="page" aria-labelledby="status-title">
      <h1 id="status-title">Node status</h1>
      <section className="card" aria-labelledby="ready-title">
        <h2 id="ready-title">Readiness</h2>
        {ready.isPending ? <Progress label="Checking…" /> : null}
        {ready.isError ? <ErrorNotice error={ready.error} /> : null}
        {ready.data ? (
          <>
            <p className={ready.data.status === 'ready' ? 'notice notice-ok' : 'notice notice-error'}>
              {ready.data.status === 'ready'
                ? 'The node is ready: everything it depends on answers.'
                : 'The node is not ready: the failing part below needs attention.'}
            </p>
            <ul className="checks">
              {Object.entries(ready.data.checks).map(([name, state]) => (
                <li key={name}>
                  <span className={state === 'ok' ? 'verified' : 'unverified'} aria-hidden="true">
                    {state === 'ok' ? '✓' : '✗'}
                  </span>{' '}
                  {checkLabel(name)}: {state === 'ok' ? 'answers' : 'failing'}
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </section>

      <section className="card" aria-labelledby="anchoring-title">
        <h2 id="anchoring-title">Records and anchoring</h2>
        {status.isPending ? <Progress label="Reading the node’s status…" /> : null}
        {status.isError ? <ErrorNotice error={status.error} /> : null}
        {status.data ? <StatusFacts status={status.data} /> : null}
      </section>

      <section className="card" aria-labelledby="checkpoints-title">
        <h2 id="checkpoints-title">Audit log checkpoints</h2>
        {latest.isError ? <ErrorNotice error={latest.error} /> : null}
        <dl className="facts">
          <dt>Latest signed</dt>
          <dd>
            {latest.data
              ? `${latest.data.size.toLocaleString('en')} entries, signed ${duration(Date.now() - latest.data.timestamp)} ago`
              : latest.isPending
                ? '…'
                : 'none yet'}
          </dd>
          <dt>Latest anchored on the chain</dt>
          <dd>
            {anchored.data
              ? `${anchored.data.size.toLocaleString('en')} entries${anchored.data.anchor?.blockNumber !== undefined ? `, block ${anchored.data.anchor.blockNumber}` : ''}`
              : anchored.isPending
                ? '…'
                : 'none yet'}
          </dd>
          {latest.data && anchored.data ? (
            <>
              <dt>Waiting for the chain</dt>
              <dd>
                {latest.data.size - anchored.data.size <= 0
                  ? 'nothing: the latest checkpoint is anchored'
                  : `${(latest.data.size - anchored.data.size).toLocaleString('en')} entries (the next anchor covers them)`}
              </dd>
            </>
          ) : null}
        </dl>
      </section>
    </section>
  );
}

function StatusFacts({ status }: { status: NodeStatus }) {
  const summary = anchoringSummary(status.anchoring);
  return (
    <>
      <p className={summary.ok ? 'notice notice-ok' : 'notice notice-warn'}>{summary.text}</p>
      <dl className="facts">
        <dt>Records</dt>
        <dd>
          {status.records.resources.toLocaleString('en')} resources,{' '}
          {status.records.versions.toLocaleString('en')} versions
        </dd>
        <dt>Batches</dt>
        <dd>
          {status.anchoring.confirmedBatches.toLocaleString('en')} confirmed,{' '}
          {status.anchoring.pendingBatches + status.anchoring.submittedBatches} in flight
        </dd>
        <dt>Anchors on the chain</dt>
        <dd>{status.anchoring.chainAnchorCount.toLocaleString('en')}</dd>
        <dt>Chain</dt>
        <dd>
          id {status.ledger.chainId},{' '}
          {status.ledger.mode === 'embedded' ? 'embedded (anvil, this node starts it)' : 'external JSON-RPC'}
          <br />
          <span className="hint mono">RecordRegistry {status.ledger.recordRegistry}</span>
        </dd>
      </dl>
    </>
  );
}
