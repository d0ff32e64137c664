/**
 * A patient's chart: who they are, what the clinician may see and until when ("What you may see", from the
 * node's `$access` operation), emergency access (break-glass) with its countdown and end, the record's
 * timeline, writing (note, condition, order, observation) and requesting the patient's records from another
 * organisation. A patient the clinician may not see answers 404 like one that does not exist: the page then
 * says what to do (consent, emergency access), never that something is hidden.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError, api } from '../api/client';
import { type Resource, read } from '../api/fhir';
import { useSignedIn } from '../auth/SessionProvider';
import { ChartPrescriptions } from '../prescriptions/ChartPrescriptions';
import { PrescribePanel } from '../prescriptions/PrescribePanel';
import { Timeline } from '../record/Timeline';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import { AccessPanel } from './AccessPanel';
import { summariseAccess } from './accessSummary';
import { BreakGlass, type Ended } from './BreakGlass';
import { ExchangeRequest } from './ExchangeRequest';
import { patientName } from './patientWords';
import { purposeHeaders } from './purpose';
import { WriteForms } from './WriteForms';

const notFound = (e: unknown) => e instanceof ApiError && e.status === 404;

export function Chart() {
  const { id = '' } = useParams();
  const account = useSignedIn();
  const headers = purposeHeaders(account.role);
  const client = useQueryClient();
  const [ended, setEnded] = useState<Ended>();
  const patient = useQuery({
    queryKey: ['clinician', 'patient', id],
    queryFn: () => read<Resource>('Patient', id, headers),
  });
  const access = useQuery({
    queryKey: ['clinician', 'access', id],
    queryFn: () => api<Resource>(`/fhir/Patient/${encodeURIComponent(id)}/$access`, { headers }),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['clinician'] });
  const summary = access.data ? summariseAccess(access.data) : undefined;
  const mayBreakGlass = account.role === 'doctor' || account.role === 'nurse';
  // Prescribing is a doctor's or a nurse's act (the node and the ledger decide, licence included).
  const mayPrescribe = mayBreakGlass;

  if (patient.isPending || access.isPending) return <Progress label="Opening the record…" />;

  const breakGlass = (
    <BreakGlass
      patientId={id}
      active={summary?.breakGlass}
      allowed={mayBreakGlass}
      ended={ended}
      onOpened={() => {
        setEnded(undefined);
        void refresh();
      }}
      onEnded={(e) => {
        setEnded(e);
        void refresh();
      }}
    />
  );

  if (notFound(patient.error) && notFound(access.error)) {
    return (
      <section className="page clinician">
        <h1>No access to this record</h1>
        {ended ? null : (
          <div className="notice notice-warn">
            <p>
              No patient you may see has record number <strong>{id}</strong>. If the patient is in your care
              but has not shared their record, ask for consent or use emergency access.
            </p>
            <p>
              Consent: the patient shares their record with your organisation from their portal (“Sharing”),
              for treatment; the chart opens as soon as they have.
            </p>
          </div>
        )}
        {breakGlass}
        <p>
          <Link to="/app/clinician">Back to the patient search</Link>
        </p>
      </section>
    );
  }
  if (patient.error && !notFound(patient.error)) {
    return <ErrorNotice error={patient.error} onRetry={() => patient.refetch()} />;
  }

  // Demographics may be closed while other categories are shared: the chart then goes by record number.
  const p = patient.data;
  return (
    <article className="page clinician chart">
      <header className="chart-header">
        <h1>{p ? patientName(p) : `Record number ${id}`}</h1>
        {p ? null : <p className="hint">The patient’s name and details are not shared with you.</p>}
        <dl className="facts">
          <div>
            <dt>Birth date</dt>
            <dd>{(p?.birthDate as string | undefined) ?? 'not recorded'}</dd>
          </div>
          <div>
            <dt>Gender</dt>
            <dd>{(p?.gender as string | undefined) ?? 'not recorded'}</dd>
          </div>
          <div>
            <dt>Record number</dt>
            <dd>{id}</dd>
          </div>
        </dl>
      </header>
      {access.error && !notFound(access.error) ? <ErrorNotice error={access.error} /> : null}
      <AccessPanel summary={summary} />
      {breakGlass}
      <section aria-labelledby="record-heading" className="chart-section">
        <h2 id="record-heading">Record</h2>
        <Timeline patientId={id} headers={headers} />
      </section>
      <WriteForms patientId={id} headers={headers} author={account.displayName} />
      {mayPrescribe ? (
        <>
          <PrescribePanel patientId={id} headers={headers} />
          <ChartPrescriptions patientId={id} headers={headers} />
        </>
      ) : null}
      <ExchangeRequest patient={p} breakGlassSession={summary?.breakGlass?.session} />
    </article>
  );
}
