/**
 * The patient's "My record" page: any break-glass notice first, their whole record as a timeline (with
 * trends and live results), and the way to export it.
 */
import { Link } from 'react-router';
import { patientIdOf } from '../api/account';
import { useSignedIn } from '../auth/SessionProvider';
import { Timeline } from '../record/Timeline';
import { BreakGlassNotices } from './BreakGlassNotices';

export function RecordPage() {
  const patientId = patientIdOf(useSignedIn());
  return (
    <section className="page record-page">
      <div className="record-head">
        <h1>My record</h1>
        <Link className="button" to="/app/patient/export">
          Export my record
        </Link>
      </div>
      {patientId ? (
        <>
          <BreakGlassNotices patientId={patientId} />
          <Timeline patientId={patientId} />
        </>
      ) : (
        <div className="notice notice-warn">
          <p>Your account is not linked to a patient record yet. Ask the organisation that registered you.</p>
        </div>
      )}
    </section>
  );
}
