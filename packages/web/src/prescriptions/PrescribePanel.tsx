/**
 * The prescriber's order screen, in the chart of the patient the clinician has open: drug (pick-list or typed
 * RxNorm code and name), dose, times a day, quantity, repeats, validity and controlled schedule. While the
 * order changes it is checked (debounced) by the node's CDS Hooks order-sign service and the cards are shown
 * before signing; a suggestion can change the draft. "Sign and send" calls $prescribe: a 409 lists the alerts
 * still standing, and the prescriber either changes the order or overrides each with a reason and sends again;
 * success shows the prescription's on-chain id. The node decides everything (licence, consent, interactions).
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError } from '../api/client';
import {
  type CdsCard,
  type CdsSuggestion,
  checkInteractions,
  type Prescribed,
  prescribe,
} from '../api/prescriptions';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import { InteractionCards } from './InteractionCards';
import {
  alertsOf,
  applySuggestion,
  COMMON_DRUGS,
  DRAFT_ID,
  drugOf,
  EMPTY_ORDER,
  type OrderDraft,
  type OrderErrors,
  orderResource,
  type RefusedAlert,
  SCHEDULES,
  validateOrder,
} from './rxOrder';

const DEFAULT_REASONS = [
  'Benefit outweighs risk',
  'Patient will be monitored',
  'Patient is no longer taking the other medication',
];
const CHECK_DELAY_MS = 500;

const SCHEDULE_WORDS: Record<string, string> = {
  auto: 'As the drug’s ingredients require (the node decides)',
  none: 'Not controlled',
  II: 'Schedule II',
  III: 'Schedule III',
  IV: 'Schedule IV',
  V: 'Schedule V',
};

function useInteractionCheck(patientId: string, draft: OrderDraft, headers: Record<string, string>) {
  const [state, setState] = useState<{ cards?: CdsCard[]; checking: boolean; error?: unknown }>({
    checking: false,
  });
  const drug = drugOf(draft);
  const complete = drug !== undefined && Object.keys(validateOrder(draft)).length === 0;
  const key = complete ? JSON.stringify(orderResource(patientId, draft, { now: new Date(0) })) : '';
  // biome-ignore lint/correctness/useExhaustiveDependencies: the serialised order is the dependency
  useEffect(() => {
    if (!key) {
      setState({ checking: false });
      return;
    }
    const abort = new AbortController();
    setState((s) => ({ ...s, checking: true }));
    const timer = setTimeout(() => {
      const resource = orderResource(patientId, draft, { now: new Date(), id: DRAFT_ID });
      checkInteractions(patientId, resource, headers, abort.signal).then(
        (cards) => setState({ cards, checking: false }),
        (error: unknown) => {
          if ((error as Error).name !== 'AbortError') setState({ checking: false, error });
        },
      );
    }, CHECK_DELAY_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [key, patientId]);
  return state;
}

export function PrescribePanel({
  patientId,
  headers,
}: {
  patientId: string;
  headers: Record<string, string>;
}) {
  const client = useQueryClient();
  const [draft, setDraft] = useState<OrderDraft>(EMPTY_ORDER);
  const [errors, setErrors] = useState<OrderErrors>({});
  const [changed, setChanged] = useState<string>();
  const [refused, setRefused] = useState<RefusedAlert[]>([]);
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const [reasonErrors, setReasonErrors] = useState<Record<string, string>>({});
  const [done, setDone] = useState<Prescribed>();
  const check = useInteractionCheck(patientId, draft, headers);

  const sign = useMutation({
    mutationFn: (overrides: ReadonlyMap<string, string>) =>
      prescribe(orderResource(patientId, draft, { now: new Date(), overrides }), headers),
    onSuccess: (result) => {
      setDone(result);
      setRefused([]);
      setReasons({});
      void client.invalidateQueries({ queryKey: ['prescriptions', 'patient', patientId] });
    },
    onError: (error) => {
      const alerts = error instanceof ApiError && error.status === 409 ? alertsOf(error.issues) : [];
      setRefused(alerts);
    },
  });

  const set = (field: keyof OrderDraft) => (event: { target: { value: string } }) => {
    setDraft((d) => ({ ...d, [field]: event.target.value }));
    setErrors((e) => ({ ...e, [field]: undefined }));
    setRefused([]);
    setChanged(undefined);
    setDone(undefined);
    sign.reset();
  };

  const onSuggestion = (_card: CdsCard, suggestion: CdsSuggestion) => {
    const applied = applySuggestion(draft, suggestion);
    if (!applied) return;
    setDraft(applied.draft);
    setRefused([]);
    sign.reset();
    const now = drugOf(applied.draft);
    setChanged(
      applied.change === 'replaced' && now
        ? `The order now names ${now.display}. It is being checked again.`
        : 'The drug was removed from the order. Choose another drug or leave the order.',
    );
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validateOrder(draft);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      const first = Object.keys(found)[0];
      document.querySelector<HTMLElement>(`[data-rx-field="${first}"]`)?.focus();
      return;
    }
    const overrides = new Map<string, string>();
    if (refused.length > 0) {
      const missing: Record<string, string> = {};
      for (const alert of refused) {
        const reason = reasons[alert.card]?.trim();
        if (reason) overrides.set(alert.card, reason);
        else missing[alert.card] = 'Choose or type why you override this alert, or change the order.';
      }
      setReasonErrors(missing);
      if (Object.keys(missing).length > 0) return;
    }
    sign.mutate(overrides);
  };

  const reasonsFor = (card: string) =>
    check.cards?.find((c) => c.uuid === card)?.overrideReasons?.map((r) => r.display ?? r.code) ??
    DEFAULT_REASONS;

  return (
    <section aria-labelledby="prescribe-heading" className="chart-section prescribe">
      <h2 id="prescribe-heading">Prescribe</h2>
      <form onSubmit={submit} noValidate>
        <Field label="Drug" error={errors.pick}>
          <select value={draft.pick} onChange={set('pick')} data-rx-field="pick">
            <option value="">Choose a drug…</option>
            {COMMON_DRUGS.map((d) => (
              <option key={d.code} value={d.code}>
                {d.display} (RxNorm {d.code})
              </option>
            ))}
            <option value="other">Another drug (type its RxNorm code)</option>
          </select>
        </Field>
        {draft.pick === 'other' ? (
          <div className="field-row">
            <Field label="RxNorm code" error={errors.code}>
              <input value={draft.code} onChange={set('code')} inputMode="numeric" data-rx-field="code" />
            </Field>
            <Field label="Drug name" error={errors.display}>
              <input value={draft.display} onChange={set('display')} data-rx-field="display" />
            </Field>
          </div>
        ) : null}
        <div className="field-row">
          <Field label="Dose" error={errors.dose}>
            <input value={draft.dose} onChange={set('dose')} inputMode="decimal" data-rx-field="dose" />
          </Field>
          <Field label="Dose unit" error={errors.doseUnit}>
            <input value={draft.doseUnit} onChange={set('doseUnit')} data-rx-field="doseUnit" />
          </Field>
          <Field label="Times a day" error={errors.timesPerDay}>
            <input
              value={draft.timesPerDay}
              onChange={set('timesPerDay')}
              inputMode="numeric"
              data-rx-field="timesPerDay"
            />
          </Field>
        </div>
        <div className="field-row">
          <Field label="Quantity to dispense" error={errors.quantity}>
            <input
              value={draft.quantity}
              onChange={set('quantity')}
              inputMode="numeric"
              data-rx-field="quantity"
            />
          </Field>
          <Field label="Repeats" hint="Fills after the first one." error={errors.repeats}>
            <input
              value={draft.repeats}
              onChange={set('repeats')}
              inputMode="numeric"
              data-rx-field="repeats"
            />
          </Field>
          <Field label="Valid for (days)" error={errors.validDays}>
            <input
              value={draft.validDays}
              onChange={set('validDays')}
              inputMode="numeric"
              data-rx-field="validDays"
            />
          </Field>
        </div>
        <Field label="Controlled schedule" error={errors.schedule}>
          <select value={draft.schedule} onChange={set('schedule')} data-rx-field="schedule">
            {SCHEDULES.map((s) => (
              <option key={s} value={s}>
                {SCHEDULE_WORDS[s]}
              </option>
            ))}
          </select>
        </Field>

        <div className="cds" aria-live="polite">
          {check.checking ? <Progress label="Checking interactions…" /> : null}
          {check.error ? (
            <div className="notice notice-warn" role="alert">
              <p>
                The interaction check could not run ({(check.error as Error).message}) You may still sign: the
                node checks interactions again when you do.
              </p>
            </div>
          ) : null}
          {!check.checking && check.cards && check.cards.length === 0 ? (
            <p className="notice notice-ok">
              No interaction found with the patient’s medications you may see.
            </p>
          ) : null}
          {changed ? <p className="notice notice-ok">{changed}</p> : null}
        </div>
        {check.cards && check.cards.length > 0 ? (
          <InteractionCards cards={check.cards} onSuggestion={onSuggestion} />
        ) : null}

        {refused.length > 0 ? (
          <fieldset className="overrides">
            <legend>Not sent: {refused.length} interaction alert(s) must be resolved</legend>
            <p>
              Change the order (for example with a suggestion above), or override each alert with a reason.
            </p>
            {refused.map((alert) => (
              <div key={alert.card} className="override">
                <p>
                  <strong className={`tag cds-indicator cds-indicator-${alert.severity}`}>
                    {alert.severity === 'critical' ? 'Critical' : 'Warning'}
                  </strong>{' '}
                  {alert.summary}
                </p>
                <Field label="Reason for overriding" error={reasonErrors[alert.card]}>
                  <input
                    list={`reasons-${alert.card}`}
                    value={reasons[alert.card] ?? ''}
                    onChange={(e) => {
                      const value = e.target.value;
                      setReasons((r) => ({ ...r, [alert.card]: value }));
                      setReasonErrors((r) => ({ ...r, [alert.card]: '' }));
                    }}
                  />
                </Field>
                <datalist id={`reasons-${alert.card}`}>
                  {reasonsFor(alert.card).map((r) => (
                    <option key={r} value={r} />
                  ))}
                </datalist>
              </div>
            ))}
          </fieldset>
        ) : null}

        {sign.error && refused.length === 0 ? <ErrorNotice error={sign.error} /> : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={sign.isPending}>
            {refused.length > 0 ? 'Override and send' : 'Sign and send'}
          </button>
          {sign.isPending ? <Progress label="Signing and recording on the ledger…" /> : null}
        </div>
        {done ? (
          <div className="notice notice-ok" role="status">
            <p>
              Prescription signed and recorded on the ledger. Its id:{' '}
              <code className="mono">{done.prescription}</code>
            </p>
            <p>The patient can now choose a pharmacy or get a one-time token from their portal.</p>
          </div>
        ) : null}
      </form>
    </section>
  );
}
