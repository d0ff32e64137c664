/**
 * Patient search: name, birth date, identifier (FHIR search on Patient, with the role's purpose of use). The
 * node lists only patients the clinician may see, so zero results is guidance — ask for consent or use
 * emergency access — never a hint that anything is hidden. A patient who has not shared their record yet is
 * opened by their record number (the Patient id the registration desk gives them, on their card), which is
 * what emergency access and consent requests start from.
 */
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { type Resource, search } from '../api/fhir';
import { useSignedIn } from '../auth/SessionProvider';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import { patientName } from './patientWords';
import { purposeHeaders } from './purpose';

const RECORD_NUMBER = /^[A-Za-z0-9\-.]{1,64}$/;

export function PatientSearch() {
  const account = useSignedIn();
  const headers = purposeHeaders(account.role);
  const [params, setParams] = useSearchParams();
  const [name, setName] = useState(params.get('name') ?? '');
  const [birthdate, setBirthdate] = useState(params.get('birthdate') ?? '');
  const [identifier, setIdentifier] = useState(params.get('identifier') ?? '');
  const [formError, setFormError] = useState<string>();
  const asked = {
    name: params.get('name') || undefined,
    birthdate: params.get('birthdate') || undefined,
    identifier: params.get('identifier') || undefined,
  };
  const searched = Boolean(asked.name || asked.birthdate || asked.identifier);
  const results = useQuery({
    queryKey: ['clinician', 'patient-search', asked, headers['X-Purpose-Of-Use']],
    queryFn: ({ signal }) =>
      search<Resource>('Patient', { ...asked, _count: '20' }, { maxPages: 1, signal, headers }),
    enabled: searched,
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim() && !birthdate && !identifier.trim()) {
      setFormError('Enter a name, a birth date or an identifier.');
      return;
    }
    setFormError(undefined);
    const next = new URLSearchParams();
    if (name.trim()) next.set('name', name.trim());
    if (birthdate) next.set('birthdate', birthdate);
    if (identifier.trim()) next.set('identifier', identifier.trim());
    setParams(next);
  };

  return (
    <section className="page clinician">
      <h1>Find a patient</h1>
      <form onSubmit={submit} noValidate aria-label="Patient search" className="search-form">
        <Field label="Name" hint="Family or given name, or the start of one." error={formError}>
          <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <Field label="Birth date">
          <input type="date" value={birthdate} onChange={(e) => setBirthdate(e.target.value)} />
        </Field>
        <Field
          label="Identifier"
          hint="An identifier on the patient’s record, e.g. a national number (system|value also works)."
        >
          <input value={identifier} onChange={(e) => setIdentifier(e.target.value)} autoComplete="off" />
        </Field>
        <button type="submit" className="primary">
          Search
        </button>
      </form>

      {results.isFetching ? <Progress label="Searching…" /> : null}
      {results.error ? <ErrorNotice error={results.error} onRetry={() => results.refetch()} /> : null}
      {results.data && results.data.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption>Patients you may see that match</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Birth date</th>
                <th scope="col">Gender</th>
                <th scope="col">Record number</th>
              </tr>
            </thead>
            <tbody>
              {results.data.map((p) => (
                <tr key={p.id}>
                  <td>
                    <Link to={`patients/${encodeURIComponent(p.id ?? '')}`}>{patientName(p)}</Link>
                  </td>
                  <td>{(p.birthDate as string | undefined) ?? '—'}</td>
                  <td>{(p.gender as string | undefined) ?? '—'}</td>
                  <td>{p.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {results.data && results.data.length === 0 ? <NoMatch /> : null}
      {!searched ? <OpenByNumber /> : null}
    </section>
  );
}

function NoMatch() {
  return (
    <div className="notice notice-warn" role="status">
      <h2>No patient you may see matches</h2>
      <p>
        No patient you may see matches. If the patient is in your care but has not shared their record, ask
        for consent or use emergency access.
      </p>
      <p>
        To ask for consent, the patient shares their record with your organisation from their portal
        (“Sharing”). For emergency access, open the record by the patient’s record number below.
      </p>
      <OpenByNumber />
    </div>
  );
}

/** Opens a chart by record number (the Patient id from the registration desk or the patient’s card). */
function OpenByNumber() {
  const navigate = useNavigate();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const id = value.trim();
    if (!RECORD_NUMBER.test(id)) {
      setError('Enter the record number as printed on the patient’s card (letters, digits, - and .).');
      return;
    }
    navigate(`/app/clinician/patients/${encodeURIComponent(id)}`);
  };
  return (
    <form onSubmit={submit} noValidate aria-label="Open a record by number" className="open-by-number">
      <Field
        label="Record number"
        hint="The patient’s record number at this organisation, from their card or the registration desk."
        error={error}
      >
        <input value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" />
      </Field>
      <button type="submit">Open record</button>
    </form>
  );
}
