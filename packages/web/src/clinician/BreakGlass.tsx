/**
 * Emergency access (break-glass): a button opening a native `<dialog>` that asks for the mandatory reason
 * (checked next to the field), `POST /fhir/Patient/:id/$break-glass`, then — while the session lasts — a
 * visible countdown (role=timer; a polite live region says the time left at sensible intervals, countdown.ts)
 * and "End emergency access" (`POST /fhir/$break-glass/:sessionId/end`), after which the end is shown.
 * The session comes back from the node's `$access` answer, so a reload keeps the countdown.
 */
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import { clockTime } from './accessSummary';
import { validateBreakGlassReason } from './clinicalForms';
import { announcement, formatLeft, secondsLeft } from './countdown';

export interface Ended {
  at: string;
}

interface Opened {
  sessionId: number;
  openedAt: string;
  expiresAt: string;
}

export function BreakGlass({
  patientId,
  active,
  allowed,
  ended,
  onOpened,
  onEnded,
}: {
  patientId: string;
  active: { session: string; expires: string } | undefined;
  allowed: boolean;
  ended: Ended | undefined;
  onOpened: () => void;
  onEnded: (ended: Ended) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string>();
  const [opened, setOpened] = useState<Opened>();
  const open = useMutation({
    mutationFn: (why: string) =>
      api<Opened>(`/fhir/Patient/${encodeURIComponent(patientId)}/$break-glass`, {
        method: 'POST',
        json: { reason: why },
      }),
    onSuccess: (answer) => {
      setOpened(answer);
      setReason('');
      dialog.current?.close();
      onOpened();
    },
  });
  const session = active
    ? { id: active.session, expires: active.expires }
    : opened && !ended
      ? { id: String(opened.sessionId), expires: opened.expiresAt }
      : undefined;
  const end = useMutation({
    mutationFn: (id: string) =>
      api<{ endedAt: string }>(`/fhir/$break-glass/${encodeURIComponent(id)}/end`, { method: 'POST' }),
    onSuccess: (answer) => {
      setOpened(undefined);
      onEnded({ at: answer.endedAt });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problem = validateBreakGlassReason(reason);
    setReasonError(problem);
    if (problem) {
      dialog.current?.querySelector('textarea')?.focus();
      return;
    }
    open.mutate(reason.trim());
  };

  if (session && !ended) {
    return (
      <section className="card notice-warn break-glass-active" aria-labelledby="bg-heading">
        <h2 id="bg-heading">Emergency access until {clockTime(session.expires)}</h2>
        <Countdown
          expires={session.expires}
          onOver={() => {
            setOpened(undefined);
            onEnded({ at: session.expires });
          }}
        />
        <p className="hint">
          The patient has been told, and your organisation’s auditors will review this access.
        </p>
        {end.error ? <ErrorNotice error={end.error} /> : null}
        {end.isPending ? <Progress label="Ending emergency access…" /> : null}
        <button
          type="button"
          className="danger"
          disabled={end.isPending}
          onClick={() => end.mutate(session.id)}
        >
          End emergency access
        </button>
      </section>
    );
  }

  return (
    <section className="card break-glass" aria-labelledby="bg-heading">
      <h2 id="bg-heading">Emergency access</h2>
      {ended ? (
        <p className="notice notice-ok" role="status">
          Emergency access ended at {clockTime(ended.at)}.
        </p>
      ) : null}
      {allowed ? (
        <>
          <p>
            In an emergency, you may open this patient’s record without their consent, for a limited time. You
            must say why; the patient is told and your organisation’s auditors review it.
          </p>
          <button
            type="button"
            className="danger"
            onClick={() => {
              open.reset();
              dialog.current?.showModal();
            }}
          >
            Use emergency access
          </button>
        </>
      ) : (
        <p>Your role cannot use emergency access. Ask the patient for consent.</p>
      )}
      <dialog ref={dialog} aria-labelledby="bg-dialog-heading" className="break-glass-dialog">
        <form onSubmit={submit} noValidate>
          <h2 id="bg-dialog-heading">Use emergency access</h2>
          <p>
            The record opens to you for up to an hour. The patient is told who opened it and why, and your
            organisation’s auditors review it.
          </p>
          <Field
            label="Reason (required)"
            hint="Why you need the record now, in a few words."
            error={reasonError}
          >
            <textarea rows={4} value={reason} required onChange={(e) => setReason(e.target.value)} />
          </Field>
          {open.error ? <ErrorNotice error={open.error} /> : null}
          {open.isPending ? (
            <Progress label="Opening emergency access (recording it on the ledger)…" />
          ) : null}
          <div className="actions">
            <button type="submit" className="danger" disabled={open.isPending}>
              Open emergency access
            </button>
            <button type="button" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </section>
  );
}

/** The time left, every second on screen; said aloud only at the intervals countdown.ts chooses. */
function Countdown({ expires, onOver }: { expires: string; onOver: () => void }) {
  const [now, setNow] = useState(() => Date.now());
  const [said, setSaid] = useState<string>();
  const over = useRef(onOver);
  over.current = onOver;
  const left = secondsLeft(expires, now);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  useEffect(() => {
    const words = announcement(left);
    if (words) setSaid(words);
    if (left === 0) over.current();
  }, [left]);
  return (
    <>
      <p className="countdown" role="timer" aria-label="Emergency access time left">
        {formatLeft(left)} left
      </p>
      <p className="visually-hidden" aria-live="polite">
        {said}
      </p>
    </>
  );
}
