/**
 * "Verify the audit log" for auditors: GET /audit/$verify recomputes the whole log on the node — every
 * sealed event against its commitment, every checkpoint's signature and consistency, every root anchored
 * on-chain — and this page says what that means. The check runs on the node (it needs the sealed events);
 * the patient-side, in-browser proof checks are in the patient's portal.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import { type Checkpoint, explainVerification, formatWhen, type VerifyReport } from './auditLog';

export function VerifyLog() {
  const checkpoint = useQuery({
    queryKey: ['audit-checkpoint', 'anchored'],
    queryFn: ({ signal }) => api<Checkpoint>('/audit/checkpoint?anchored=true', { signal }),
    retry: false,
  });
  const verify = useMutation({ mutationFn: () => api<VerifyReport>('/audit/$verify') });
  const result = verify.data ? explainVerification(verify.data) : undefined;
  return (
    <section className="page" aria-labelledby="verify-title">
      <h1 id="verify-title">Verify the audit log</h1>
      <p className="lead">
        Recomputes the whole log from its entries and checks it against every signed checkpoint and every root
        anchored on the chain — a log edited, truncated or rewritten after the fact does not pass.
      </p>
      {checkpoint.data ? (
        <p>
          Latest anchored checkpoint: {checkpoint.data.size.toLocaleString('en')} entries, signed{' '}
          {formatWhen(new Date(checkpoint.data.timestamp).toISOString())}
          {checkpoint.data.anchor?.blockNumber !== undefined
            ? `, anchored in block ${checkpoint.data.anchor.blockNumber}`
            : ''}
          .
        </p>
      ) : null}
      <div className="actions">
        <button type="button" className="primary" onClick={() => verify.mutate()} disabled={verify.isPending}>
          Verify the audit log
        </button>
      </div>
      {verify.isPending ? (
        <Progress label="Verifying: recomputing every entry, checkpoint and on-chain anchor…" />
      ) : null}
      {verify.isError ? <ErrorNotice error={verify.error} onRetry={() => verify.mutate()} /> : null}
      {result ? (
        <div className={result.ok ? 'notice notice-ok' : 'notice notice-error'} role="status">
          <p className="verdict">
            <span className={result.ok ? 'verified' : 'unverified'} aria-hidden="true">
              {result.ok ? '✓' : '✗'}
            </span>{' '}
            <strong>{result.headline}</strong>
          </p>
          <ul>
            {result.details.map((d) => (
              <li key={d}>{d}</li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}
