/**
 * The pharmacist's area: the queue of prescriptions routed to this pharmacy or fetched with a patient's token
 * (GET /pharmacy/queue) with the ledger's status, the verification and the fills left; "Fetch and verify"
 * (POST /pharmacy/prescriptions/$fetch by id, or by the token the patient shows); "Dispense" with a quantity
 * ($dispense — the ledger first, so a refusal records nothing). Refusals are said as what happened and what to
 * do (rxWords.ts). The node decides every call: only pharmacists of a pharmacy's node get answers.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Route, Routes } from 'react-router';
import { namesOf, useOrganisations } from '../api/directory';
import type { Resource } from '../api/fhir';
import {
  dispensePrescription,
  type Fetched,
  fetchPrescription,
  pharmacyQueue,
  type QueueEntry,
} from '../api/prescriptions';
import { NotFound } from '../pages/NotFound';
import {
  fillsWords,
  medicationWords,
  pharmacyRefusalWords,
  STATUS_WORDS,
  validityWords,
  verificationWords,
} from '../prescriptions/rxWords';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';

const QUEUE = ['pharmacy', 'queue'] as const;

function Refusal({ error, what }: { error: unknown; what: 'fetch' | 'dispense' }) {
  const words = pharmacyRefusalWords(error, what);
  return words ? (
    <div className="notice notice-error" role="alert">
      <p>{words}</p>
    </div>
  ) : (
    <ErrorNotice error={error} />
  );
}

function dosageWords(r: Resource): string | undefined {
  const d = (r.dosageInstruction as { text?: string }[] | undefined)?.[0]?.text;
  return d;
}

function Dispense({ entry, onDone }: { entry: QueueEntry; onDone: () => void }) {
  const [quantity, setQuantity] = useState('');
  const [problem, setProblem] = useState<string>();
  const dispense = useMutation({
    mutationFn: (q: number) => dispensePrescription(entry.prescription, q),
    onSuccess: () => {
      setQuantity('');
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!/^\d+$/.test(quantity.trim()) || Number(quantity) < 1) {
      setProblem('Enter the quantity you hand over, as a whole number.');
      return;
    }
    setProblem(undefined);
    dispense.mutate(Number(quantity));
  };
  return (
    <form onSubmit={submit} noValidate className="rx-dispense">
      <Field label="Quantity to dispense" error={problem}>
        <input value={quantity} onChange={(e) => setQuantity(e.target.value)} inputMode="numeric" />
      </Field>
      <div className="actions">
        <button type="submit" className="primary" disabled={dispense.isPending}>
          Dispense
        </button>
        {dispense.isPending ? <Progress label="Recording the dispense on the ledger…" /> : null}
      </div>
      {dispense.error ? <Refusal error={dispense.error} what="dispense" /> : null}
      {dispense.isSuccess ? (
        <p className="notice notice-ok" role="status">
          Dispensed and recorded on the ledger.
        </p>
      ) : null}
    </form>
  );
}

function QueueItem({
  entry,
  fetched,
  custodian,
  onFetched,
  onChanged,
}: {
  entry: QueueEntry;
  fetched: Fetched | undefined;
  custodian: string;
  onFetched: (f: Fetched) => void;
  onChanged: () => void;
}) {
  const fetch = useMutation({
    mutationFn: () => fetchPrescription({ prescription: entry.prescription }),
    onSuccess: (f) => {
      onFetched(f);
      onChanged();
    },
  });
  const verification = fetched?.verification ?? entry.verification;
  const dispensable = entry.status === 'active' && entry.fillsRemaining > 0 && fetched !== undefined;
  return (
    <li className="rx-item card">
      <h2>{fetched ? medicationWords(fetched.medicationRequest) : 'Prescription'}</h2>
      <dl className="facts">
        <div>
          <dt>From</dt>
          <dd>{custodian}</dd>
        </div>
        <div>
          <dt>How it came</dt>
          <dd>
            {entry.routed ? 'Sent to this pharmacy by the patient' : 'Fetched with the patient’s token'}
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{STATUS_WORDS[entry.status]}</dd>
        </div>
        <div>
          <dt>Fills</dt>
          <dd>{fillsWords(entry.fillsRemaining)}</dd>
        </div>
        {fetched ? (
          <div>
            <dt>Quantity left</dt>
            <dd>{fetched.verification.quantityRemaining}</dd>
          </div>
        ) : null}
      </dl>
      <p>{verificationWords(verification)}</p>
      {fetched ? (
        <p className="hint">
          {[dosageWords(fetched.medicationRequest), validityWords(fetched.medicationRequest)]
            .filter(Boolean)
            .join(' · ')}
        </p>
      ) : null}
      <p className="hint">
        Id: <code className="mono">{entry.prescription}</code>
      </p>
      <div className="actions">
        <button type="button" onClick={() => fetch.mutate()} disabled={fetch.isPending}>
          {fetched ? 'Fetch and verify again' : 'Fetch and verify'}
        </button>
        {fetch.isPending ? <Progress label="Fetching from the prescriber’s node…" /> : null}
      </div>
      {fetch.error ? <Refusal error={fetch.error} what="fetch" /> : null}
      {dispensable ? <Dispense entry={entry} onDone={onChanged} /> : null}
    </li>
  );
}

function PharmacyQueue() {
  const client = useQueryClient();
  const queue = useQuery({ queryKey: QUEUE, queryFn: pharmacyQueue });
  const names = namesOf(useOrganisations().data);
  const [fetched, setFetched] = useState<Record<string, Fetched>>({});
  const [token, setToken] = useState('');
  const [tokenProblem, setTokenProblem] = useState<string>();
  const refresh = () => void client.invalidateQueries({ queryKey: QUEUE });
  const remember = (f: Fetched) => setFetched((all) => ({ ...all, [f.prescription]: f }));
  const byToken = useMutation({
    mutationFn: (t: string) => fetchPrescription({ token: t }),
    onSuccess: (f) => {
      remember(f);
      setToken('');
      refresh();
    },
  });
  const submitToken = (event: FormEvent) => {
    event.preventDefault();
    if (!token.trim()) {
      setTokenProblem('Type or paste the token the patient shows you.');
      return;
    }
    setTokenProblem(undefined);
    byToken.mutate(token.trim());
  };

  return (
    <section className="page pharmacy">
      <h1>Prescriptions</h1>
      <form onSubmit={submitToken} noValidate className="card">
        <h2>Fetch by token</h2>
        <Field
          label="Prescription token"
          hint="The patient shows it in their portal (text or QR code). It works once, for one pharmacy."
          error={tokenProblem}
        >
          <input
            value={token}
            onChange={(e) => setToken(e.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
        </Field>
        <div className="actions">
          <button type="submit" disabled={byToken.isPending}>
            Fetch and verify
          </button>
          {byToken.isPending ? <Progress label="Fetching from the prescriber’s node…" /> : null}
        </div>
        {byToken.error ? <Refusal error={byToken.error} what="fetch" /> : null}
      </form>

      <h2>Queue</h2>
      {queue.isPending ? <Progress label="Reading the queue…" /> : null}
      {queue.error ? <ErrorNotice error={queue.error} onRetry={() => queue.refetch()} /> : null}
      {queue.data && queue.data.length === 0 ? (
        <p>
          No prescription yet. Patients send theirs to your pharmacy from their portal, or show you a token.
        </p>
      ) : null}
      {queue.data && queue.data.length > 0 ? (
        <ul className="rx-list" aria-label="Prescription queue">
          {queue.data.map((entry) => (
            <QueueItem
              key={entry.prescription}
              entry={entry}
              fetched={fetched[entry.prescription]}
              custodian={names.get(String(entry.custodian)) ?? `Organisation ${entry.custodian}`}
              onFetched={remember}
              onChanged={refresh}
            />
          ))}
        </ul>
      ) : null}
      <div className="actions">
        <button type="button" onClick={refresh}>
          Refresh the queue
        </button>
      </div>
    </section>
  );
}

export default function PharmacyArea() {
  return (
    <Routes>
      <Route index element={<PharmacyQueue />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
