/**
 * The patient's medication list (GET /prescriptions): each prescription with its status, fills and quantity
 * left and validity, as the ledger holds them. For an active one the patient chooses a pharmacy by name from
 * the consortium's directory (`$route`: that pharmacy may then fetch it), or gets a one-time prescription token
 * (`$token`) to hand to any pharmacy, shown as text and as a QR code, with what it allows said plainly.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { QrCode } from '../admin/QrCode';
import { namesOf, useOrganisations } from '../api/directory';
import {
  type MyPrescription,
  myPrescriptions,
  prescriptionToken,
  recordIdOf,
  routePrescription,
} from '../api/prescriptions';
import { fillsWords, STATUS_WORDS, validUntilWords } from '../prescriptions/rxWords';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';

const QUERY = ['patient', 'prescriptions'] as const;

function ChoosePharmacy({ rx }: { rx: MyPrescription }) {
  const client = useQueryClient();
  const organisations = useOrganisations();
  const pharmacies = (organisations.data ?? []).filter((o) => o.kind.toLowerCase() === 'pharmacy');
  const [choice, setChoice] = useState('');
  const [problem, setProblem] = useState<string>();
  const route = useMutation({
    mutationFn: (pharmacy: number) => routePrescription(recordIdOf(rx.medicationRequest), pharmacy),
    onSuccess: () => client.invalidateQueries({ queryKey: QUERY }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!choice) {
      setProblem('Choose the pharmacy that should prepare this prescription.');
      return;
    }
    setProblem(undefined);
    route.mutate(Number(choice));
  };
  if (organisations.isPending) return <Progress label="Reading the list of pharmacies…" />;
  if (organisations.error)
    return <ErrorNotice error={organisations.error} onRetry={() => organisations.refetch()} />;
  if (pharmacies.length === 0) {
    return <p className="hint">No pharmacy is in the consortium yet: use a prescription token instead.</p>;
  }
  return (
    <form onSubmit={submit} noValidate className="rx-route">
      <Field
        label="Pharmacy"
        hint="The pharmacy you choose may fetch this prescription from your hospital and prepare it."
        error={problem}
      >
        <select value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value="">Choose a pharmacy…</option>
          {pharmacies.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </Field>
      <div className="actions">
        <button type="submit" disabled={route.isPending}>
          Send to this pharmacy
        </button>
        {route.isPending ? <Progress label="Recording your choice on the ledger…" /> : null}
      </div>
      {route.error ? <ErrorNotice error={route.error} /> : null}
      {route.isSuccess ? (
        <p className="notice notice-ok" role="status">
          Sent. The pharmacy sees it in its queue.
        </p>
      ) : null}
    </form>
  );
}

function TokenPanel({ rx }: { rx: MyPrescription }) {
  const token = useMutation({ mutationFn: () => prescriptionToken(recordIdOf(rx.medicationRequest)) });
  return (
    <div className="rx-token">
      <button type="button" onClick={() => token.mutate()} disabled={token.isPending}>
        Get a prescription token
      </button>
      {token.isPending ? <Progress label="Creating a token…" /> : null}
      {token.error ? <ErrorNotice error={token.error} /> : null}
      {token.data ? (
        <div className="card token-card">
          <p>
            Show this to one pharmacy of your choice. It lets that pharmacy fetch this prescription{' '}
            <strong>once</strong>; nobody else can use it after that. Keep it private until then.
          </p>
          <QrCode value={token.data.token} label="Your prescription token as a QR code" />
          <p>
            Token: <code className="mono token-text">{token.data.token}</code>
          </p>
        </div>
      ) : null}
    </div>
  );
}

export function MedicationsPage() {
  const list = useQuery({ queryKey: QUERY, queryFn: myPrescriptions });
  const names = namesOf(useOrganisations().data);
  return (
    <section className="page medications">
      <h1>My medications</h1>
      <p className="lead">Your prescriptions, as the ledger holds them, and where to have them prepared.</p>
      {list.isPending ? <Progress label="Reading your prescriptions…" /> : null}
      {list.error ? <ErrorNotice error={list.error} onRetry={() => list.refetch()} /> : null}
      {list.data && list.data.length === 0 ? <p>You have no prescription from this organisation.</p> : null}
      {list.data && list.data.length > 0 ? (
        <ul className="rx-list">
          {list.data.map((rx) => (
            <li key={rx.prescription} className="rx-item card">
              <h2>{rx.medication ?? 'Prescription'}</h2>
              <dl className="facts">
                <div>
                  <dt>Status</dt>
                  <dd>{STATUS_WORDS[rx.status]}</dd>
                </div>
                <div>
                  <dt>Fills</dt>
                  <dd>{fillsWords(rx.fillsRemaining, rx.fillsAllowed)}</dd>
                </div>
                <div>
                  <dt>Quantity left</dt>
                  <dd>{rx.quantityRemaining}</dd>
                </div>
                <div>
                  <dt>Validity</dt>
                  <dd>{validUntilWords(rx.validUntil)}</dd>
                </div>
                {rx.routedTo !== undefined ? (
                  <div>
                    <dt>Pharmacy</dt>
                    <dd>{names.get(String(rx.routedTo)) ?? `Pharmacy ${rx.routedTo}`}</dd>
                  </div>
                ) : null}
              </dl>
              {rx.status === 'active' && rx.fillsRemaining > 0 ? (
                <>
                  <ChoosePharmacy rx={rx} />
                  <TokenPanel rx={rx} />
                </>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
