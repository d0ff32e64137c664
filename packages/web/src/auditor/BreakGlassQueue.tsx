/**
 * The break-glass review queue: this organisation's emergency-access sessions (GET /admin/break-glass), the
 * reason the practitioner gave, and for each session that is over a review form — justified or not, and the
 * finding in words (POST /admin/break-glass/:id/review, recorded on-chain from the auditor's member key). A
 * running session cannot be reviewed yet (the contract's rule), nor can one's own.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/client';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import { formatWhen } from './auditLog';
import {
  type BreakGlassSession,
  MAX_FINDING,
  patientIdOf,
  type ReviewForm,
  reviewErrors,
  sessionState,
} from './breakGlassReview';

const QUEUE = ['break-glass-queue'] as const;

export function BreakGlassQueue() {
  const [all, setAll] = useState(false);
  const queue = useQuery({
    queryKey: [...QUEUE, all],
    queryFn: ({ signal }) =>
      api<{ sessions: BreakGlassSession[] }>(`/admin/break-glass?unreviewed=${!all}`, { signal }),
  });
  return (
    <section className="page" aria-labelledby="queue-title">
      <h1 id="queue-title">Break-glass review</h1>
      <p className="lead">
        Every emergency access by this organisation’s practitioners is queued here. Review each once it is
        over: was it justified?
      </p>
      <div className="check">
        <input id="show-reviewed" type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} />
        <label htmlFor="show-reviewed">Show reviewed sessions too</label>
      </div>
      {queue.isPending ? <Progress label="Loading the queue…" /> : null}
      {queue.isError ? <ErrorNotice error={queue.error} onRetry={() => void queue.refetch()} /> : null}
      {queue.isSuccess && queue.data.sessions.length === 0 ? (
        <p className="notice notice-ok">Nothing to review: no break-glass session is waiting.</p>
      ) : null}
      {queue.data?.sessions.map((s) => (
        <SessionCard key={s.id} session={s} />
      ))}
    </section>
  );
}

function SessionCard({ session: s }: { session: BreakGlassSession }) {
  const state = sessionState(s);
  const patient = patientIdOf(s.patient);
  const titleId = useId();
  return (
    <article className="card session" aria-labelledby={titleId}>
      <h2 id={titleId}>
        Session {s.id}: {s.practitioner?.displayName ?? 'a member outside this node'}{' '}
        <span className={state === 'to review' ? 'tag tag-alert' : 'tag'}>{state}</span>
      </h2>
      <dl className="facts">
        <dt>Practitioner</dt>
        <dd>
          {s.practitioner ? `${s.practitioner.displayName} (${s.practitioner.role})` : 'unknown at this node'}{' '}
          <span className="hint mono">{s.member}</span>
        </dd>
        <dt>Patient</dt>
        <dd>
          {patient ? (
            <>
              {s.patient} —{' '}
              <Link to={`/app/auditor?patient=${encodeURIComponent(patient)}`}>their access log</Link>
            </>
          ) : (
            'not a patient of this node'
          )}
        </dd>
        <dt>Reason given</dt>
        <dd>{s.reason ?? 'not stored at this node (its hash is on-chain)'}</dd>
        <dt>Opened</dt>
        <dd>{formatWhen(s.openedAt)}</dd>
        <dt>{s.endedEarly ? 'Ended' : 'Ends'}</dt>
        <dd>
          {formatWhen(s.expiresAt)}
          {s.endedEarly ? ' (ended early by the practitioner)' : ''}
        </dd>
        <dt>On-chain</dt>
        <dd className="mono">{s.transaction}</dd>
      </dl>
      {s.review ? (
        <p className={s.review.justified ? 'notice notice-ok' : 'notice notice-warn'}>
          Reviewed {formatWhen(s.review.reviewedAt)}: {s.review.justified ? 'justified' : 'not justified'}.{' '}
          {s.review.finding ?? ''}
        </p>
      ) : state === 'running' ? (
        <p className="notice notice-warn">Still running: review it once it is over.</p>
      ) : (
        <ReviewFormView session={s} />
      )}
    </article>
  );
}

function ReviewFormView({ session }: { session: BreakGlassSession }) {
  const client = useQueryClient();
  const [form, setForm] = useState<ReviewForm>({ outcome: '', finding: '' });
  const [errors, setErrors] = useState<Partial<Record<keyof ReviewForm, string>>>({});
  const review = useMutation({
    mutationFn: () =>
      api(`/admin/break-glass/${session.id}/review`, {
        method: 'POST',
        json: { justified: form.outcome === 'justified', finding: form.finding },
      }),
    onSuccess: () => client.invalidateQueries({ queryKey: QUEUE }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = reviewErrors(form);
    setErrors(found);
    if (Object.keys(found).length === 0) review.mutate();
  };
  const name = `outcome-${session.id}`;
  return (
    <form onSubmit={submit} noValidate aria-label={`Review of session ${session.id}`}>
      <fieldset
        className={errors.outcome ? 'choice field-invalid' : 'choice'}
        aria-describedby={errors.outcome ? `${name}-error` : undefined}
      >
        <legend>Was this access justified?</legend>
        {(
          [
            ['justified', 'Justified: a real emergency, the access fitted it'],
            ['unjustified', 'Not justified: follow up with the practitioner'],
          ] as const
        ).map(([value, label]) => (
          <div className="check" key={value}>
            <input
              type="radio"
              id={`${name}-${value}`}
              name={name}
              value={value}
              checked={form.outcome === value}
              onChange={() => setForm({ ...form, outcome: value })}
            />
            <label htmlFor={`${name}-${value}`}>{label}</label>
          </div>
        ))}
        {errors.outcome ? (
          <p className="field-error" id={`${name}-error`}>
            {errors.outcome}
          </p>
        ) : null}
      </fieldset>
      <Field
        label="Finding"
        hint={`What you checked and concluded (kept sealed at this node; its hash goes on-chain). Up to ${MAX_FINDING.toLocaleString('en')} characters.`}
        error={errors.finding}
      >
        <textarea
          rows={4}
          value={form.finding}
          onChange={(e) => setForm({ ...form, finding: e.target.value })}
        />
      </Field>
      <div className="actions">
        <button type="submit" className="primary" disabled={review.isPending}>
          Record the review
        </button>
      </div>
      {review.isPending ? <Progress label="Recording the review on the ledger…" /> : null}
      {review.isError ? <ErrorNotice error={review.error} /> : null}
    </form>
  );
}
