/**
 * The clinician's list of the patient's prescriptions (the MedicationRequests of the chart the clinician may
 * see, newest first) with Cancel for active ones: the node cancels on the ledger first (only a practitioner of
 * the prescribing organisation may), then marks the record cancelled; pharmacies can no longer dispense it.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { type Resource, search } from '../api/fhir';
import { cancelPrescription } from '../api/prescriptions';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import { CONTROLLED_SCHEDULE_EXTENSION } from './rxOrder';
import { medicationWords, validityWords } from './rxWords';

/**
 * Whether the record went through $prescribe (and so is on the ledger): the node stores every prescription
 * with its controlled schedule, declared or derived. Other MedicationRequests of the chart (imported, written
 * as plain FHIR) cannot be cancelled on the ledger.
 */
export const isLedgerPrescription = (r: Resource) =>
  Array.isArray(r.extension) &&
  (r.extension as { url?: string }[]).some((e) => e.url === CONTROLLED_SCHEDULE_EXTENSION);

export function ChartPrescriptions({
  patientId,
  headers,
}: {
  patientId: string;
  headers: Record<string, string>;
}) {
  const client = useQueryClient();
  const [confirming, setConfirming] = useState<string>();
  const list = useQuery({
    queryKey: ['prescriptions', 'patient', patientId],
    queryFn: async () =>
      (
        await search<Resource>(
          'MedicationRequest',
          { patient: patientId, _count: '100' },
          { headers, maxPages: 1 },
        )
      ).sort((a, b) => String(b.authoredOn ?? '').localeCompare(String(a.authoredOn ?? ''))),
  });
  const cancel = useMutation({
    mutationFn: (recordId: string) => cancelPrescription(recordId, 'cancelled by the prescriber', headers),
    onSuccess: () => {
      setConfirming(undefined);
      void client.invalidateQueries({ queryKey: ['prescriptions', 'patient', patientId] });
    },
  });

  return (
    <section aria-labelledby="rx-list-heading" className="chart-section">
      <h2 id="rx-list-heading">Prescriptions</h2>
      {list.isPending ? <Progress label="Reading prescriptions…" /> : null}
      {list.error ? <ErrorNotice error={list.error} onRetry={() => list.refetch()} /> : null}
      {list.data && list.data.length === 0 ? <p>No prescription you may see.</p> : null}
      {list.data && list.data.length > 0 ? (
        <ul className="rx-list">
          {list.data.map((r) => (
            <li key={r.id} className="rx-item">
              <p>
                <strong>{medicationWords(r)}</strong> — <span className="tag">{String(r.status)}</span>
              </p>
              <p className="hint">{validityWords(r)}</p>
              {!isLedgerPrescription(r) ? (
                <p className="hint">Recorded in the chart only: not a prescription on the ledger.</p>
              ) : null}
              {r.status === 'active' && r.id && isLedgerPrescription(r) ? (
                confirming === r.id ? (
                  <div className="actions">
                    <span>Cancel this prescription? Pharmacies will no longer dispense it.</span>
                    <button
                      type="button"
                      className="danger"
                      disabled={cancel.isPending}
                      onClick={() => cancel.mutate(r.id!)}
                    >
                      Yes, cancel it
                    </button>
                    <button type="button" onClick={() => setConfirming(undefined)}>
                      Keep it
                    </button>
                  </div>
                ) : (
                  <div className="actions">
                    <button
                      type="button"
                      onClick={() => {
                        cancel.reset();
                        setConfirming(r.id);
                      }}
                    >
                      Cancel prescription
                    </button>
                  </div>
                )
              ) : null}
              {cancel.error && confirming === r.id ? <ErrorNotice error={cancel.error} /> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
