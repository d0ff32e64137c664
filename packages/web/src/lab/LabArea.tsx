/**
 * The lab: a technician posts results for a patient under the patient's consent — one result through a form,
 * or a batch as a CSV file (columns in labCsv.ts) or a FHIR transaction Bundle, with progress. The lab's node
 * enforces consent: a refused write (404, like a patient who does not exist) is said as "no consent" guidance.
 * Patients are named by their record number at this lab (the Patient id the lab registered them under).
 */
import { useMutation } from '@tanstack/react-query';
import { type ChangeEvent, type FormEvent, useState } from 'react';
import { Route, Routes } from 'react-router';
import { api } from '../api/client';
import { create, type Resource } from '../api/fhir';
import { useSignedIn } from '../auth/SessionProvider';
import { EMPTY_OBSERVATION, observationResource, validateObservation } from '../clinician/clinicalForms';
import { purposeHeaders } from '../clinician/purpose';
import { ObservationFields, refusedWrite, useResourceForm } from '../clinician/WriteForms';
import { NotFound } from '../pages/NotFound';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import { CSV_COLUMNS, type CsvError, type CsvResult, parseLabCsv } from './labCsv';

const RECORD_NUMBER = /^[A-Za-z0-9\-.]{1,64}$/;
export const NO_CONSENT =
  'No consent: the patient has not allowed this lab to add results to their record (or the record number is wrong). Ask the patient to share their results with your lab from their portal (“Sharing”), then post again.';

function PostResults() {
  const account = useSignedIn();
  const headers = purposeHeaders(account.role);
  const [patientId, setPatientId] = useState('');
  const [patientError, setPatientError] = useState<string>();
  const patientField = 'lab-patient';
  const checkPatient = () => {
    const problem = RECORD_NUMBER.test(patientId.trim())
      ? undefined
      : 'Enter the patient’s record number at this lab.';
    setPatientError(problem);
    return !problem;
  };
  const single = useResourceForm({
    type: 'Observation',
    initial: EMPTY_OBSERVATION,
    validate: validateObservation,
    build: (v) => observationResource(patientId.trim(), v, 'laboratory'),
    headers,
    what: 'Result',
  });
  const noConsent = refusedWrite(single.save.error);
  const state = {
    ...single,
    topError: noConsent ? new Error(NO_CONSENT) : single.topError,
    submit: (event: FormEvent) => {
      if (checkPatient()) return single.submit(event);
      event.preventDefault();
      document.querySelector<HTMLElement>(`[data-field="${patientField}"]`)?.focus();
    },
  };

  return (
    <section className="page lab">
      <h1>Post results</h1>
      <Field
        label="Patient record number"
        hint="The patient’s record number at this lab (from the request form or the sample label)."
        error={patientError}
      >
        <input
          data-field={patientField}
          value={patientId}
          onChange={(e) => setPatientId(e.target.value)}
          autoComplete="off"
        />
      </Field>
      <section className="card" aria-labelledby="single-heading">
        <h2 id="single-heading">One result</h2>
        <ObservationFields state={state} submitLabel="Post result" />
      </section>
      <Upload patientId={patientId.trim()} headers={headers} />
    </section>
  );
}

interface Progressed {
  done: number;
  total: number;
  posted: string[];
  refused: { line: number; message: string }[];
}

/** A CSV or FHIR Bundle file: checked first (errors per line), then posted with progress. */
function Upload({ patientId, headers }: { patientId: string; headers: Record<string, string> }) {
  const [file, setFile] = useState<File>();
  const [fileError, setFileError] = useState<string>();
  const [lineErrors, setLineErrors] = useState<CsvError[]>([]);
  const [progress, setProgress] = useState<Progressed>();
  const post = useMutation({
    mutationFn: async (
      input: { kind: 'csv'; results: CsvResult[] } | { kind: 'bundle'; bundle: Resource },
    ) => {
      if (input.kind === 'bundle') {
        setProgress({ done: 0, total: 1, posted: [], refused: [] });
        const answer = await api<Resource>('/fhir', { method: 'POST', json: input.bundle, headers });
        const count = ((answer.entry as unknown[]) ?? []).length;
        setProgress({ done: 1, total: 1, posted: [`${count} entries`], refused: [] });
        return;
      }
      const state: Progressed = { done: 0, total: input.results.length, posted: [], refused: [] };
      setProgress({ ...state });
      for (const r of input.results) {
        try {
          const saved = await create(r.resource, headers);
          state.posted.push(saved.id ?? '');
        } catch (error) {
          const message = refusedWrite(error) ? NO_CONSENT : (error as Error).message;
          state.refused.push({ line: r.line, message });
        }
        state.done++;
        setProgress({ ...state, posted: [...state.posted], refused: [...state.refused] });
      }
    },
  });

  const choose = (event: ChangeEvent<HTMLInputElement>) => {
    setFile(event.target.files?.[0]);
    setFileError(undefined);
    setLineErrors([]);
    setProgress(undefined);
    post.reset();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) {
      setFileError('Choose a CSV file or a FHIR Bundle (JSON) file.');
      return;
    }
    const text = await file.text();
    if (/\.json$/i.test(file.name) || text.trimStart().startsWith('{')) {
      let bundle: Resource;
      try {
        bundle = JSON.parse(text) as Resource;
      } catch {
        setFileError('This file is not valid JSON. Export the results again as a FHIR Bundle.');
        return;
      }
      if (bundle.resourceType !== 'Bundle' || (bundle.type !== 'transaction' && bundle.type !== 'batch')) {
        setFileError('The JSON file must be a FHIR Bundle of type transaction (or batch).');
        return;
      }
      post.mutate({ kind: 'bundle', bundle });
      return;
    }
    const { results, errors } = parseLabCsv(text, patientId);
    setLineErrors(errors);
    if (errors.length) {
      setFileError(
        `Nothing was posted: correct the ${errors.length === 1 ? 'line' : `${errors.length} lines`} below.`,
      );
      return;
    }
    post.mutate({ kind: 'csv', results });
  };

  return (
    <section className="card" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload a batch</h2>
      <p className="hint">
        A CSV file with a header row — columns {CSV_COLUMNS.join(', ')} (loinc, display and value required;
        patient defaults to the record number above) — or a FHIR transaction Bundle (JSON).
      </p>
      <form onSubmit={submit} noValidate>
        <Field label="File" error={fileError}>
          <input
            type="file"
            accept=".csv,.json,text/csv,application/json,application/fhir+json"
            onChange={choose}
          />
        </Field>
        {lineErrors.length ? (
          <ul className="line-errors" aria-label="Lines to correct">
            {lineErrors.map((e) => (
              <li key={e.line}>
                Line {e.line}: {e.message}
              </li>
            ))}
          </ul>
        ) : null}
        {progress && post.isPending ? (
          <Progress
            label={`Posting ${progress.done} of ${progress.total}…`}
            value={progress.total ? progress.done / progress.total : 0}
          />
        ) : null}
        {post.error ? (
          <ErrorNotice error={refusedWrite(post.error) ? new Error(NO_CONSENT) : post.error} />
        ) : null}
        {progress && !post.isPending && post.isSuccess ? (
          <div role="status" className={progress.refused.length ? 'notice notice-warn' : 'notice notice-ok'}>
            <p>
              Posted {progress.posted.length} of {progress.total}.
            </p>
            {progress.refused.length ? (
              <ul>
                {progress.refused.map((r) => (
                  <li key={r.line}>
                    Line {r.line}: {r.message}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : null}
        <button type="submit" className="primary" disabled={post.isPending}>
          Check and post
        </button>
      </form>
    </section>
  );
}

export default function LabArea() {
  return (
    <Routes>
      <Route index element={<PostResults />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
