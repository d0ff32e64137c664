/**
 * Sharing: who may see which of the patient's records, for what and until when — in plain sentences — and
 * sharing or stopping in a few clicks. Reads the patient's grants (`GET /fhir/Consent?patient=`), grants with
 * `POST /fhir/Consent`, withdraws with `PUT /fhir/Consent/:id` (status inactive); each is signed by the
 * patient and relayed to the ledger by the node. Who signs follows GET /account/keys: a patient who holds
 * their keys signs in this browser with the key file kept here (its passphrase unlocks it, with progress);
 * otherwise the node signs with the key it keeps sealed under the patient's password (ConsentSigner). The
 * list follows the `patient-consent` topic live.
 *
 * Limits: one organisation, one purpose and whole categories per grant (what the ledger's grant expresses);
 * changing a grant is withdrawing it and granting anew.
 */
import { type UseQueryResult, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useCallback, useId, useMemo, useRef, useState } from 'react';
import { flushSync } from 'react-dom';
import { Link } from 'react-router';
import { patientIdOf } from '../api/account';
import { api } from '../api/client';
import { namesOf, useOrganisations } from '../api/directory';
import { search } from '../api/fhir';
import { useSignedIn } from '../auth/SessionProvider';
import type { AccountKeys } from '../keys/consentSigning';
import { useTopic } from '../live/useTopic';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import { type ConsentSigner, consentSigner } from './consentSigner';
import {
  buildConsent,
  CATEGORIES,
  type CategoryKey,
  type ConsentResource,
  checkChoices,
  defaultUntil,
  describeConsent,
  type GrantSummary,
  isGrantRecord,
  PURPOSES,
  type PurposeCode,
  previewSentence,
  withdrawnConsent,
} from './consentWording';

const consentsKey = (patientId: string | undefined) => ['patient', 'consents', patientId] as const;

/**
 * The signer for this patient, from GET /account/keys; for a patient holding their keys, whether this browser
 * keeps the key file (without it nothing can be signed here: the page says how to load it).
 */
function useConsentSigner(): {
  signer: ConsentSigner | undefined;
  custody: UseQueryResult<AccountKeys>;
  keyFileMissing: boolean;
} {
  const account = useSignedIn();
  const custody = useQuery({
    queryKey: ['account', 'keys'],
    queryFn: () => api<AccountKeys>('/account/keys'),
  });
  const selfHeld = custody.data?.custody === 'self';
  const stored = useQuery({
    queryKey: ['keys', account.id],
    queryFn: async () => (await (await import('../keys/keyStorage')).loadKeyFile(account.id)) ?? null,
    enabled: selfHeld,
  });
  const signer = useMemo(
    () => (custody.data ? consentSigner(custody.data, account.id) : undefined),
    [custody.data, account.id],
  );
  return { signer, custody, keyFileMissing: selfHeld && stored.isSuccess && !stored.data };
}

/** What the patient must do before signing here, when signing is not possible yet. */
function SignerState({ state }: { state: ReturnType<typeof useConsentSigner> }) {
  if (state.custody.isError)
    return <ErrorNotice error={state.custody.error} onRetry={() => void state.custody.refetch()} />;
  if (state.custody.isPending) return <Progress label="Finding out who holds your keys…" />;
  if (state.keyFileMissing)
    return (
      <div className="notice notice-warn">
        <p>
          You hold your keys yourself, and this browser does not keep them. To sign here, open{' '}
          <Link to="/app/account">My account</Link> and load the key file you saved when you activated your
          account (medledger-patient-keys.json).
        </p>
      </div>
    );
  return null;
}

/**
 * The share of the key's unlocking done. scrypt yields to the browser with `scheduler.yield()`, whose
 * continuations run before React's own work, so each report (in 2% steps) is committed at once.
 */
function useUnlockShare(): [number | undefined, (share: number | undefined) => void] {
  const [share, setShare] = useState<number>();
  const last = useRef<number | undefined>(undefined);
  const report = useCallback((next: number | undefined) => {
    const previous = last.current;
    if (next !== undefined && previous !== undefined && next < 1 && next - previous < 0.02) return;
    last.current = next;
    if (next === undefined) setShare(undefined);
    else flushSync(() => setShare(next));
  }, []);
  return [share, report];
}

/** Progress while signing: the key being unlocked (a share, determinate), then the ledger. */
function signingLabel(share: number | undefined, what: string): { label: string; value?: number } {
  return share !== undefined && share < 1
    ? { label: 'Unlocking your keys in this browser…', value: share }
    : { label: what };
}

export default function ConsentPage() {
  const account = useSignedIn();
  const patientId = patientIdOf(account);
  const queryClient = useQueryClient();
  const organisations = useOrganisations();
  const consents = useQuery({
    queryKey: consentsKey(patientId),
    queryFn: () => search<ConsentResource>('Consent', { patient: `Patient/${patientId}`, _count: '100' }),
    enabled: patientId !== undefined,
  });
  const live = useTopic('patient-consent', patientId, () => {
    void queryClient.invalidateQueries({ queryKey: consentsKey(patientId) });
  });

  if (!patientId) {
    return (
      <section className="page">
        <h1>Sharing your record</h1>
        <p>This account has no patient record to share.</p>
      </section>
    );
  }
  const names = namesOf(organisations.data);
  const grants = (consents.data ?? [])
    .filter(isGrantRecord)
    .map((c) => ({ stored: c, summary: describeConsent(c, names) }));
  const active = grants.filter((g) => g.summary.state === 'active');
  const past = grants.filter((g) => g.summary.state !== 'active');

  return (
    <section className="page trust-consent" aria-labelledby="consent-title">
      <h1 id="consent-title">Sharing your record</h1>
      <p className="lead">
        Nobody outside your own organisation sees your records unless you share them here. Each grant is
        signed by you and recorded on the consortium’s ledger; stopping it takes effect at once.
      </p>
      <p className="hint" aria-live="polite">
        {live === 'live'
          ? 'Updates appear here as they happen.'
          : live === 'offline'
            ? 'Live updates paused; reconnecting…'
            : ''}
      </p>

      <h2>Who can see your records now</h2>
      {consents.isPending ? <Progress label="Loading what you share…" /> : null}
      {consents.isError ? (
        <ErrorNotice error={consents.error} onRetry={() => void consents.refetch()} />
      ) : null}
      {consents.isSuccess && active.length === 0 ? (
        <p>You are not sharing your records with anyone.</p>
      ) : null}
      <ul className="grant-list">
        {active.map((g) => (
          <li key={g.stored.id}>
            <ActiveGrant stored={g.stored} summary={g.summary} patientId={patientId} />
          </li>
        ))}
      </ul>

      <GrantForm patientId={patientId} names={names} organisations={organisations} />

      {past.length > 0 ? (
        <details className="past-grants">
          <summary>Sharing that has ended ({past.length})</summary>
          <ul className="grant-list">
            {past.map((g) => (
              <li key={g.stored.id} className="grant grant-ended">
                <p>{g.summary.sentence}.</p>
                <p className="hint">
                  {g.summary.state === 'withdrawn' ? 'You stopped this.' : 'This has ended.'}
                </p>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </section>
  );
}

function ActiveGrant({
  stored,
  summary,
  patientId,
}: {
  stored: ConsentResource;
  summary: GrantSummary;
  patientId: string;
}) {
  const queryClient = useQueryClient();
  const signing = useConsentSigner();
  const signer = signing.signer;
  const [confirming, setConfirming] = useState(false);
  const [secret, setSecret] = useState('');
  const [secretError, setSecretError] = useState<string>();
  const [share, setShare] = useUnlockShare();
  const headingId = useId();
  const revoke = useMutation({
    mutationFn: async () => {
      if (!signer) throw new Error('Your keys are not ready yet. Wait a moment and try again.');
      setShare(undefined);
      const signed = await signer.signRevocation(withdrawnConsent(stored), secret, setShare);
      return api(`/fhir/Consent/${encodeURIComponent(stored.id ?? '')}`, {
        method: 'PUT',
        json: signed.consent,
        headers: signed.headers,
        stepUp: true,
      });
    },
    onSuccess: () => {
      setSecret('');
      setConfirming(false);
      void queryClient.invalidateQueries({ queryKey: consentsKey(patientId) });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!signer || signing.keyFileMissing) return;
    if (signer.secretLabel && secret.length === 0) {
      setSecretError(`Type ${signer.secretLabel.toLowerCase()} to sign.`);
      return;
    }
    setSecretError(undefined);
    revoke.mutate();
  };
  return (
    <article className="grant" aria-labelledby={headingId}>
      <p id={headingId} className="grant-sentence">
        {summary.sentence}.
      </p>
      {!confirming ? (
        <button type="button" onClick={() => setConfirming(true)}>
          Stop sharing<span className="visually-hidden"> with {summary.who}</span>
        </button>
      ) : (
        <form onSubmit={submit} className="grant-confirm" aria-label={`Stop sharing with ${summary.who}`}>
          <p>
            {summary.who} will no longer see these records. What they already received stays with them; new
            records are locked with a key they do not get.
          </p>
          <SignerState state={signing} />
          {signer?.secretLabel ? (
            <Field label={signer.secretLabel} hint={signer.secretHint} error={secretError}>
              <input
                type="password"
                autoComplete="current-password"
                value={secret}
                onChange={(e) => setSecret(e.target.value)}
              />
            </Field>
          ) : null}
          {revoke.isPending ? (
            <Progress {...signingLabel(share, 'Signing and recording on the ledger…')} />
          ) : null}
          {revoke.isError ? <ErrorNotice error={revoke.error} /> : null}
          <div className="button-row">
            <button
              type="submit"
              className="danger"
              disabled={revoke.isPending || !signer || signing.keyFileMissing}
            >
              Stop sharing now
            </button>
            <button
              type="button"
              onClick={() => {
                setConfirming(false);
                setSecret('');
              }}
              disabled={revoke.isPending}
            >
              Keep sharing
            </button>
          </div>
        </form>
      )}
    </article>
  );
}

function GrantForm({
  patientId,
  names,
  organisations,
}: {
  patientId: string;
  names: Map<string, string>;
  organisations: ReturnType<typeof useOrganisations>;
}) {
  const queryClient = useQueryClient();
  const signing = useConsentSigner();
  const signer = signing.signer;
  const [share, setShare] = useUnlockShare();
  const [organisationId, setOrganisationId] = useState('');
  const [categories, setCategories] = useState<CategoryKey[]>([]);
  const [write, setWrite] = useState(false);
  const [purpose, setPurpose] = useState<PurposeCode>('TREAT');
  const [until, setUntil] = useState(() => defaultUntil());
  const [secret, setSecret] = useState('');
  const [problems, setProblems] = useState<ReturnType<typeof checkChoices> & { secret?: string }>({});
  const [done, setDone] = useState<string>();
  const categoriesHint = useId();
  const categoriesError = useId();
  const choices = { organisationId, categories, write, purpose, until };
  const grant = useMutation({
    mutationFn: async () => {
      if (!signer) throw new Error('Your keys are not ready yet. Wait a moment and try again.');
      setShare(undefined);
      const signed = await signer.signGrant(buildConsent({ patientId, ...choices }), secret, setShare);
      return api<ConsentResource>('/fhir/Consent', {
        method: 'POST',
        json: signed.consent,
        headers: { Prefer: 'return=representation', ...signed.headers },
        stepUp: true,
      });
    },
    onSuccess: (created) => {
      setDone(describeConsent(created, names).sentence);
      setSecret('');
      setCategories([]);
      void queryClient.invalidateQueries({ queryKey: consentsKey(patientId) });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(undefined);
    if (!signer || signing.keyFileMissing) return;
    const found: typeof problems = checkChoices(choices);
    if (signer.secretLabel && secret.length === 0)
      found.secret = `Type ${signer.secretLabel.toLowerCase()} to sign.`;
    setProblems(found);
    if (Object.keys(found).length === 0) grant.mutate();
  };
  const toggle = (key: CategoryKey, on: boolean) =>
    setCategories((current) => (on ? [...current, key] : current.filter((c) => c !== key)));
  const chosenName = names.get(organisationId);
  const choosable = (organisations.data ?? []).filter((o) => o.kind !== 'regulator');

  return (
    <form className="card grant-form" onSubmit={submit} noValidate aria-labelledby="grant-title">
      <h2 id="grant-title">Share with an organisation</h2>
      {organisations.isError ? (
        <ErrorNotice error={organisations.error} onRetry={() => void organisations.refetch()} />
      ) : null}
      <Field label="Who" hint="Organisations of the consortium, by name." error={problems.organisation}>
        <select value={organisationId} onChange={(e) => setOrganisationId(e.target.value)}>
          <option value="">
            {organisations.isPending ? 'Loading organisations…' : 'Choose an organisation'}
          </option>
          {choosable.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name} ({o.kind})
            </option>
          ))}
        </select>
      </Field>

      <fieldset
        className={problems.categories ? 'field field-invalid choice-group' : 'field choice-group'}
        aria-describedby={`${categoriesHint}${problems.categories ? ` ${categoriesError}` : ''}`}
      >
        <legend>Which records</legend>
        <p className="hint" id={categoriesHint}>
          Each kind covers everything of that kind, past and future.
        </p>
        <div className="choice-grid">
          {CATEGORIES.map((c) => (
            <label key={c.key} className="choice">
              <input
                type="checkbox"
                checked={categories.includes(c.key)}
                onChange={(e) => toggle(c.key, e.target.checked)}
              />
              <span>
                <span className="choice-label">Your {c.words}</span>
                <span className="hint">{c.hint}</span>
              </span>
            </label>
          ))}
        </div>
        {problems.categories ? (
          <p className="field-error" id={categoriesError}>
            {problems.categories}
          </p>
        ) : null}
      </fieldset>

      <fieldset className="field choice-group">
        <legend>What they may do</legend>
        <label className="choice">
          <input type="radio" name="grant-actions" checked={!write} onChange={() => setWrite(false)} />
          <span className="choice-label">See these records</span>
        </label>
        <label className="choice">
          <input type="radio" name="grant-actions" checked={write} onChange={() => setWrite(true)} />
          <span className="choice-label">See and add to them (for example, a lab posting your results)</span>
        </label>
      </fieldset>

      <Field label="For what">
        <select value={purpose} onChange={(e) => setPurpose(e.target.value as PurposeCode)}>
          {PURPOSES.map((p) => (
            <option key={p.code} value={p.code}>
              {p.words.charAt(0).toUpperCase() + p.words.slice(1)}
            </option>
          ))}
        </select>
      </Field>

      <Field label="Until" hint="The last day they may use it." error={problems.until}>
        <input type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
      </Field>

      {chosenName && categories.length > 0 ? (
        <p className="grant-preview" aria-live="polite">
          {previewSentence(choices, chosenName)}
        </p>
      ) : null}

      <SignerState state={signing} />
      {signer?.secretLabel ? (
        <Field label={signer.secretLabel} hint={signer.secretHint} error={problems.secret}>
          <input
            type="password"
            autoComplete="current-password"
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
        </Field>
      ) : null}

      {grant.isPending ? (
        <Progress {...signingLabel(share, 'Signing and recording your consent on the ledger…')} />
      ) : null}
      {grant.isError ? <ErrorNotice error={grant.error} /> : null}
      <div role="status">{done ? <p className="notice notice-ok">Shared. {done}.</p> : null}</div>
      <button
        type="submit"
        className="primary"
        disabled={grant.isPending || !signer || signing.keyFileMissing}
      >
        Sign and share
      </button>
    </form>
  );
}
