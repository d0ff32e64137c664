/**
 * Writing to the chart: a clinical note, a condition, an order and an observation, each a disclosure with its
 * form. Input is checked before sending (clinicalForms.ts) with the message next to the field; the node's
 * OperationOutcome is mapped back to the field its `expression` names, else shown above the form. A write the
 * patient's consent does not allow answers 404, said here as "no consent to add this".
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { create, type Resource } from '../api/fhir';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import {
  CLINICAL_STATUSES,
  conditionResource,
  EMPTY_OBSERVATION,
  type Errors,
  fieldOfExpression,
  noteResource,
  OBSERVATION_STATUSES,
  observationResource,
  orderResource,
  PRIORITIES,
  valid,
  validateCondition,
  validateNote,
  validateObservation,
  validateOrder,
} from './clinicalForms';

export const NO_CONSENT_TO_WRITE =
  'The patient’s consent does not let your organisation add this to their record (or the record number is wrong). Ask the patient to share this kind of data with you for writing, then try again.';

/**
 * Whether the node refused a write for want of consent: a create the decision refuses answers 403 (it says
 * nothing about any record: the target is named by the writer), an update of a record the writer may not see
 * answers 404.
 */
export function refusedWrite(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 403 || error.status === 404);
}

/** A form's state: values, per-field errors, the node's answer. */
function useResourceForm<F extends string>(options: {
  type: string;
  initial: Record<F, string>;
  validate: (v: Record<F, string>) => Errors<F>;
  build: (v: Record<F, string>) => Resource;
  headers: Record<string, string>;
  what: string;
}) {
  const client = useQueryClient();
  const form = useRef<HTMLFormElement>(null);
  const [values, setValues] = useState(options.initial);
  const [errors, setErrors] = useState<Errors<F>>({});
  const [saved, setSaved] = useState<string>();
  const save = useMutation({
    mutationFn: (resource: Resource) => create(resource, options.headers),
    onSuccess: (r) => {
      setSaved(`${options.what} saved${r.id ? ` (${r.resourceType}/${r.id})` : ''}.`);
      setValues(options.initial);
      void client.invalidateQueries();
    },
    onError: (error) => {
      if (!(error instanceof ApiError)) return;
      const next: Errors<F> = {};
      for (const issue of error.issues) {
        const field = fieldOfExpression(options.type, issue.expression) as F | undefined;
        if (field && !next[field]) next[field] = issue.diagnostics ?? 'Check this field.';
      }
      setErrors(next);
    },
  });
  const set = (field: F) => (event: { target: { value: string } }) =>
    setValues((v) => ({ ...v, [field]: event.target.value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(undefined);
    save.reset();
    const problems = options.validate(values);
    setErrors(problems);
    if (!valid(problems)) {
      form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    save.mutate(options.build(values));
  };
  const topError = refusedWrite(save.error)
    ? new Error(NO_CONSENT_TO_WRITE)
    : save.error && valid(errors)
      ? save.error
      : undefined;
  return { form, values, errors, set, submit, save, saved, topError };
}

function Outcome({ state }: { state: { save: { isPending: boolean }; saved?: string; topError?: unknown } }) {
  return (
    <>
      {state.save.isPending ? <Progress label="Saving…" /> : null}
      {state.topError ? <ErrorNotice error={state.topError} /> : null}
      {state.saved ? (
        <p className="notice notice-ok" role="status">
          {state.saved}
        </p>
      ) : null}
    </>
  );
}

function Disclosure({ title, children }: { title: string; children: ReactNode }) {
  return (
    <details className="write-form">
      <summary>{title}</summary>
      {children}
    </details>
  );
}

export function WriteForms({
  patientId,
  headers,
  author,
}: {
  patientId: string;
  headers: Record<string, string>;
  author: string;
}) {
  const note = useResourceForm({
    type: 'DocumentReference',
    initial: { title: '', text: '' },
    validate: validateNote,
    build: (v) => noteResource(patientId, v, author),
    headers,
    what: 'Note',
  });
  const condition = useResourceForm({
    type: 'Condition',
    initial: { text: '', code: '', clinicalStatus: 'active', onset: '' },
    validate: validateCondition,
    build: (v) => conditionResource(patientId, v),
    headers,
    what: 'Condition',
  });
  const order = useResourceForm({
    type: 'ServiceRequest',
    initial: { text: '', code: '', priority: 'routine', note: '' },
    validate: validateOrder,
    build: (v) => orderResource(patientId, v),
    headers,
    what: 'Order',
  });
  const obs = useResourceForm({
    type: 'Observation',
    initial: EMPTY_OBSERVATION,
    validate: validateObservation,
    build: (v) => observationResource(patientId, v, 'exam'),
    headers,
    what: 'Observation',
  });
  return (
    <section aria-labelledby="write-heading" className="chart-section">
      <h2 id="write-heading">Write</h2>
      <Disclosure title="Clinical note">
        <form ref={note.form} onSubmit={note.submit} noValidate>
          <Field label="Title" hint="Optional, e.g. “Follow-up visit”." error={note.errors.title}>
            <input value={note.values.title} onChange={note.set('title')} />
          </Field>
          <Field label="Note" error={note.errors.text}>
            <textarea rows={6} value={note.values.text} onChange={note.set('text')} />
          </Field>
          <Outcome state={note} />
          <button type="submit" className="primary" disabled={note.save.isPending}>
            Save note
          </button>
        </form>
      </Disclosure>
      <Disclosure title="Condition">
        <form ref={condition.form} onSubmit={condition.submit} noValidate>
          <Field label="Condition" error={condition.errors.text}>
            <input value={condition.values.text} onChange={condition.set('text')} />
          </Field>
          <Field
            label="Code"
            hint="Optional: ICD-10 (e.g. E11.9) or SNOMED CT."
            error={condition.errors.code}
          >
            <input value={condition.values.code} onChange={condition.set('code')} autoComplete="off" />
          </Field>
          <Field label="Status" error={condition.errors.clinicalStatus}>
            <select value={condition.values.clinicalStatus} onChange={condition.set('clinicalStatus')}>
              {CLINICAL_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Onset" hint="Optional." error={condition.errors.onset}>
            <input type="date" value={condition.values.onset} onChange={condition.set('onset')} />
          </Field>
          <Outcome state={condition} />
          <button type="submit" className="primary" disabled={condition.save.isPending}>
            Save condition
          </button>
        </form>
      </Disclosure>
      <Disclosure title="Order">
        <form ref={order.form} onSubmit={order.submit} noValidate>
          <Field label="What is ordered" error={order.errors.text}>
            <input value={order.values.text} onChange={order.set('text')} />
          </Field>
          <Field label="LOINC code" hint="Optional, e.g. 4548-4." error={order.errors.code}>
            <input value={order.values.code} onChange={order.set('code')} autoComplete="off" />
          </Field>
          <Field label="Priority" error={order.errors.priority}>
            <select value={order.values.priority} onChange={order.set('priority')}>
              {PRIORITIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Note for the performer" hint="Optional." error={order.errors.note}>
            <textarea rows={3} value={order.values.note} onChange={order.set('note')} />
          </Field>
          <Outcome state={order} />
          <button type="submit" className="primary" disabled={order.save.isPending}>
            Save order
          </button>
        </form>
      </Disclosure>
      <Disclosure title="Observation">
        <ObservationFields state={obs} />
      </Disclosure>
    </section>
  );
}

type ObservationState = ReturnType<
  typeof useResourceForm<'code' | 'display' | 'value' | 'unit' | 'low' | 'high' | 'status' | 'effective'>
>;

/** The observation form: also the lab's single-result form. */
export function ObservationFields({
  state,
  submitLabel = 'Save observation',
}: {
  state: ObservationState;
  submitLabel?: string;
}) {
  const { values, errors, set } = state;
  return (
    <form ref={state.form} onSubmit={state.submit} noValidate>
      <Field label="LOINC code" hint="e.g. 4548-4" error={errors.code}>
        <input value={values.code} onChange={set('code')} autoComplete="off" />
      </Field>
      <Field label="Test name" hint="e.g. Hemoglobin A1c" error={errors.display}>
        <input value={values.display} onChange={set('display')} />
      </Field>
      <div className="field-row">
        <Field label="Value" error={errors.value}>
          <input inputMode="decimal" value={values.value} onChange={set('value')} autoComplete="off" />
        </Field>
        <Field label="Unit" hint="e.g. % or mmol/L" error={errors.unit}>
          <input value={values.unit} onChange={set('unit')} autoComplete="off" />
        </Field>
      </div>
      <div className="field-row">
        <Field label="Reference range: low" hint="Optional." error={errors.low}>
          <input inputMode="decimal" value={values.low} onChange={set('low')} autoComplete="off" />
        </Field>
        <Field label="Reference range: high" hint="Optional." error={errors.high}>
          <input inputMode="decimal" value={values.high} onChange={set('high')} autoComplete="off" />
        </Field>
      </div>
      <Field label="Status" error={errors.status}>
        <select value={values.status} onChange={set('status')}>
          {OBSERVATION_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Taken at" hint="Optional: now when empty." error={errors.effective}>
        <input type="datetime-local" value={values.effective} onChange={set('effective')} />
      </Field>
      <Outcome state={state} />
      <button type="submit" className="primary" disabled={state.save.isPending}>
        {submitLabel}
      </button>
    </form>
  );
}

export { useResourceForm };
