/**
 * Requesting the patient's records from another organisation of the consortium (`POST /fhir/$exchange-request`,
 * docs/exchange.md): the organisation is chosen by name from the registry (GET /directory/organisations), the
 * kinds of data by name; the patient is named by their ledger pseudonym (the identifier on their record here).
 * Under an active emergency session the request says so (purpose ETREAT with the session). The answer is the
 * released records, listed in words; a refusal is the custodian's 404, said as "not shared with you".
 *
 * Limits: the received records are shown here, not merged into the chart's timeline.
 */
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, api } from '../api/client';
import { useOrganisations } from '../api/directory';
import type { Bundle, CodeableConcept, Resource } from '../api/fhir';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import { exchangeParameters } from './exchangeParameters';
import { pseudonymOf } from './patientWords';

const KINDS: { type: string; label: string }[] = [
  { type: 'Observation', label: 'Results and observations' },
  { type: 'Condition', label: 'Conditions' },
  { type: 'MedicationRequest', label: 'Medications' },
  { type: 'AllergyIntolerance', label: 'Allergies' },
  { type: 'Immunization', label: 'Immunisations' },
  { type: 'Encounter', label: 'Encounters' },
  { type: 'Procedure', label: 'Procedures' },
  { type: 'DocumentReference', label: 'Documents' },
];

const NOT_SHARED =
  'That organisation has nothing of this patient shared with yours for this purpose. The patient can share it with your organisation from their portal.';

function describe(r: Resource): string {
  const code = (r.code ?? r.vaccineCode ?? r.medicationCodeableConcept ?? r.type) as
    | CodeableConcept
    | undefined;
  const text = code?.text ?? code?.coding?.find((c) => c.display)?.display ?? r.resourceType;
  const q = r.valueQuantity as { value?: number; unit?: string } | undefined;
  return q?.value !== undefined ? `${text}: ${q.value}${q.unit ? ` ${q.unit}` : ''}` : text;
}

export function ExchangeRequest({
  patient,
  breakGlassSession,
}: {
  patient: Resource | undefined;
  breakGlassSession: string | undefined;
}) {
  const organisations = useOrganisations();
  const pseudonym = pseudonymOf(patient);
  const [custodian, setCustodian] = useState('');
  const [kinds, setKinds] = useState<string[]>(['Observation']);
  const [errors, setErrors] = useState<{ custodian?: string; kinds?: string }>({});
  const ask = useMutation({
    mutationFn: () =>
      api<Bundle>('/fhir/$exchange-request', {
        method: 'POST',
        json: exchangeParameters({
          custodian: Number(custodian),
          pseudonym: pseudonym ?? '',
          resourceTypes: kinds,
          breakGlassSession,
        }),
      }),
  });
  // The directory lists active organisations only.
  const others = (organisations.data ?? []).filter((o) => !o.self);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = {
      ...(custodian ? {} : { custodian: 'Choose the organisation to ask.' }),
      ...(kinds.length ? {} : { kinds: 'Choose at least one kind of record.' }),
    };
    setErrors(next);
    if (Object.keys(next).length === 0) ask.mutate();
  };

  const received = ask.data?.entry?.map((e) => e.resource).filter((r): r is Resource => Boolean(r)) ?? [];
  return (
    <section aria-labelledby="exchange-heading" className="chart-section">
      <h2 id="exchange-heading">Records held elsewhere</h2>
      {!pseudonym ? (
        <p>
          This record has no consortium identity yet, so other organisations cannot be asked for it. The
          registration desk links it when the patient activates their account.
        </p>
      ) : (
        <details className="write-form">
          <summary>Request records from another organisation</summary>
          <form onSubmit={submit} noValidate>
            {organisations.error ? <ErrorNotice error={organisations.error} /> : null}
            <Field label="Organisation" error={errors.custodian}>
              <select value={custodian} onChange={(e) => setCustodian(e.target.value)}>
                <option value="">Choose…</option>
                {others.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name} ({o.kind})
                  </option>
                ))}
              </select>
            </Field>
            <fieldset className={errors.kinds ? 'field field-invalid' : 'field'}>
              <legend>Kinds of record</legend>
              {KINDS.map((k) => (
                <label key={k.type} className="check">
                  <input
                    type="checkbox"
                    checked={kinds.includes(k.type)}
                    onChange={(e) =>
                      setKinds((list) =>
                        e.target.checked ? [...list, k.type] : list.filter((t) => t !== k.type),
                      )
                    }
                  />{' '}
                  {k.label}
                </label>
              ))}
              {errors.kinds ? <p className="field-error">{errors.kinds}</p> : null}
            </fieldset>
            {ask.isPending ? <Progress label="Asking the other organisation’s node…" /> : null}
            {ask.error ? (
              <ErrorNotice
                error={
                  ask.error instanceof ApiError && ask.error.status === 404
                    ? new Error(NOT_SHARED)
                    : ask.error
                }
              />
            ) : null}
            <button type="submit" className="primary" disabled={ask.isPending}>
              Request records
            </button>
          </form>
          {ask.data ? (
            <div role="status">
              <h3>Received {received.length === 1 ? 'one record' : `${received.length} records`}</h3>
              <ul>
                {received.map((r, i) => (
                  <li key={`${r.resourceType}/${r.id ?? i}`}>{describe(r)}</li>
                ))}
              </ul>
            </div>
          ) : null}
        </details>
      )}
    </section>
  );
}
