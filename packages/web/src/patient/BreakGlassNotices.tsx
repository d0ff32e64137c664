/**
 * Break-glass notices: when a practitioner used emergency access to the patient's record, the node writes a
 * FHIR Communication to the patient (who, when, why, until when; features/breakGlassNotices.ts). Shown
 * prominently wherever this is placed, newest first, following the `patient-break-glass` topic live.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { search } from '../api/fhir';
import { useTopic } from '../live/useTopic';
import { ErrorNotice } from '../ui/ErrorNotice';
import { type Communication, noticesOf, whenWords } from './accessWording';

export const noticesKey = (patientId: string | undefined) => ['patient', 'break-glass', patientId] as const;

export function BreakGlassNotices({ patientId }: { patientId: string }) {
  const queryClient = useQueryClient();
  const notices = useQuery({
    queryKey: noticesKey(patientId),
    queryFn: async () =>
      noticesOf(
        await search<Communication>('Communication', { patient: `Patient/${patientId}`, _count: '50' }),
      ),
  });
  useTopic('patient-break-glass', patientId, () => {
    void queryClient.invalidateQueries({ queryKey: noticesKey(patientId) });
  });
  if (notices.isError) return <ErrorNotice error={notices.error} onRetry={() => void notices.refetch()} />;
  const list = notices.data ?? [];
  return (
    <section aria-labelledby="break-glass-title" className="break-glass-notices" aria-live="polite">
      {list.length > 0 ? (
        <>
          <h2 id="break-glass-title">
            <span className="tag tag-alert">Emergency access</span> Someone used emergency access to your
            record
          </h2>
          <ul>
            {list.map((n) => (
              <li key={n.id} className="notice notice-warn break-glass-notice">
                <p>
                  <strong>{n.who}</strong> opened your record in an emergency on {whenWords(n.from)}
                  {n.until ? `, with access until ${whenWords(n.until)}` : ''}.
                </p>
                <p>Reason given: {n.reason}</p>
                <p className="hint">An auditor of the organisation reviews every emergency access.</p>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <h2 id="break-glass-title" className="visually-hidden">
          Emergency access notices: none
        </h2>
      )}
    </section>
  );
}
