/**
 * Activate your account: the patient's first visit, from the link or code their clinic handed over. They
 * choose their password, who holds their keys, and optionally an authenticator app — nobody at the clinic
 * learns any of it. Self-held keys are generated here, in the browser (the key derivation's progress shown),
 * kept in this browser (IndexedDB) and offered as a file to save; only their public parts reach the node.
 *
 * APIs: POST /account/activate/totp {code} (start an authenticator enrolment), POST /account/activate
 * {code, password, keys, totpCode?}. Both public; the node throttles guesses.
 */
import { type FormEvent, useEffect, useId, useState } from 'react';
import { Route, Routes } from 'react-router';
import { ApiError, api } from '../api/client';
import { startSignIn } from '../auth/oauth';
import type { PatientKeyFile } from '../keys/patientKeys';
import { NotFound } from '../pages/NotFound';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';
import {
  codeFromFragment,
  confirmationProblem,
  looksLikeCode,
  passwordProblem,
  setupKeyOf,
} from './activationForm';

type Custody = 'self' | 'custodial';

interface Activated {
  account: { id: string; username: string; displayName: string };
  patient: { id: string; pseudonym: string };
  custody: Custody;
}

type Stage =
  | { kind: 'form' }
  | { kind: 'keys'; share: number }
  | { kind: 'sending' }
  | { kind: 'done'; activated: Activated; sealed?: string; stored: boolean };

/** Field-level messages from the node's OperationOutcome (it names the field, never echoes the value). */
function fieldOf(error: unknown): string | undefined {
  return error instanceof ApiError ? error.issues[0]?.expression?.[0] : undefined;
}

function activationMessage(error: unknown): unknown {
  if (error instanceof ApiError && error.status === 404) {
    return new Error(
      'This activation code does not work: it may be mistyped, already used or expired. Check it, or ask your clinic for a new one.',
    );
  }
  return error;
}

function Authenticator({
  code,
  totpCode,
  setTotpCode,
  error,
}: {
  code: string;
  totpCode: string;
  setTotpCode(v: string): void;
  error?: string | undefined;
}) {
  const [uri, setUri] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const begin = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      const answer = await api<{ otpauthUri: string }>('/account/activate/totp', {
        json: { code },
        anonymous: true,
      });
      setUri(answer.otpauthUri);
    } catch (e) {
      setFailure(activationMessage(e));
    } finally {
      setBusy(false);
    }
  };
  if (!uri) {
    return (
      <div>
        {failure ? <ErrorNotice error={failure} /> : null}
        <button type="button" onClick={() => void begin()} disabled={busy || !looksLikeCode(code)}>
          Set up my authenticator app
        </button>
        {!looksLikeCode(code) ? <p className="hint">Enter your activation code first.</p> : null}
      </div>
    );
  }
  return (
    <div className="activate-totp">
      <p>
        In your authenticator app, add an account with this setup key, or{' '}
        <a href={uri}>open the setup link in your authenticator app</a>:
      </p>
      <p className="setup-key">
        <code>{setupKeyOf(uri)}</code>
      </p>
      <Field
        label="Code from your authenticator app"
        hint="6 digits; it changes every 30 seconds."
        error={error}
      >
        <input
          inputMode="numeric"
          autoComplete="one-time-code"
          value={totpCode}
          onChange={(e) => setTotpCode(e.target.value.replace(/\s/g, ''))}
        />
      </Field>
    </div>
  );
}

function Done({ stage }: { stage: Extract<Stage, { kind: 'done' }> }) {
  const { activated, sealed, stored } = stage;
  const [saved, setSaved] = useState(false);
  const save = async () => {
    const { downloadKeyFile } = await import('../keys/keyStorage');
    downloadKeyFile(sealed!);
    setSaved(true);
  };
  return (
    <>
      <div className="notice notice-ok" role="status">
        <p>
          Your account is active, {activated.account.displayName}. Your username is{' '}
          <strong>{activated.account.username}</strong>.
        </p>
      </div>
      {activated.custody === 'self' ? (
        <section aria-labelledby="keys-heading">
          <h2 id="keys-heading">Your keys</h2>
          <p>
            {stored
              ? 'Your keys are kept in this browser, locked with your passphrase.'
              : 'This browser could not keep your keys (a private window?): save a copy now, or you will lose them.'}{' '}
            Save a copy somewhere safe: if this browser’s data is cleared, the copy is the only way to sign
            your consents and read your encrypted documents. The clinic cannot recover it.
          </p>
          <p>
            <button type="button" className={saved ? undefined : 'primary'} onClick={() => void save()}>
              Save a copy of your keys
            </button>
          </p>
          {saved ? <p className="hint">Saved as medledger-patient-keys.json in your downloads.</p> : null}
        </section>
      ) : (
        <p>Your clinic keeps your keys, locked with your password: only you can unlock them.</p>
      )}
      <p>You can add a passkey for signing in under “My account” once you are signed in.</p>
      <p>
        <button
          type="button"
          className={activated.custody === 'self' && !saved ? undefined : 'primary'}
          onClick={() => void startSignIn('/app/patient')}
        >
          Sign in
        </button>
      </p>
    </>
  );
}

function Activate() {
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [custody, setCustody] = useState<Custody>('self');
  const [keyPassphrase, setKeyPassphrase] = useState('');
  const [withApp, setWithApp] = useState(false);
  const [totpCode, setTotpCode] = useState('');
  const [touched, setTouched] = useState(false);
  const [stage, setStage] = useState<Stage>({ kind: 'form' });
  const [error, setError] = useState<unknown>();
  const custodyName = useId();

  useEffect(() => {
    document.title = 'Activate your account — medledger';
    const fromLink = codeFromFragment(window.location.hash);
    if (fromLink) {
      setCode(fromLink);
      // The code leaves the address bar and the history: it is a credential until used.
      window.history.replaceState(null, '', window.location.pathname);
    }
  }, []);

  const failedField = fieldOf(error);
  const codeError =
    touched && !looksLikeCode(code)
      ? 'Type the 26-character code from your clinic (dashes and spaces do not matter).'
      : undefined;
  const passwordError =
    (password || touched ? passwordProblem(password) : undefined) ??
    (failedField === 'password' ? 'The node refused this password: see the message above.' : undefined);
  const confirmationError =
    confirmationProblem(password, confirmation) ??
    (touched && !confirmation ? 'Type your password again.' : undefined);
  const passphraseError =
    custody === 'self' && keyPassphrase && [...keyPassphrase].length < 12
      ? 'Use at least 12 characters, or leave it empty to use your password.'
      : undefined;
  const totpError =
    failedField === 'totpCode'
      ? 'That code did not match: type the code your app shows now.'
      : touched && withApp && !/^\d{6,8}$/.test(totpCode)
        ? 'Type the 6-digit code your app shows, or untick the authenticator option.'
        : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    setError(undefined);
    if (
      !looksLikeCode(code) ||
      passwordProblem(password) ||
      confirmationProblem(password, confirmation) ||
      !confirmation ||
      passphraseError ||
      (withApp && !/^\d{6,8}$/.test(totpCode))
    ) {
      return;
    }
    let keys: PatientKeyFile | undefined;
    try {
      let body: Record<string, unknown> = { code, password, keys: { custody: 'custodial' } };
      if (custody === 'self') {
        setStage({ kind: 'keys', share: 0 });
        const { PatientKeyFile } = await import('../keys/patientKeys');
        keys = await PatientKeyFile.create(keyPassphrase || password, {
          onProgress: (share) => setStage({ kind: 'keys', share }),
        });
        body = {
          ...body,
          keys: { custody: 'self', consentAddress: keys.address, publicBundle: keys.publicBundle },
        };
      }
      setStage({ kind: 'sending' });
      const activated = await api<Activated>('/account/activate', {
        json: withApp ? { ...body, totpCode } : body,
        anonymous: true,
      });
      let stored = false;
      if (keys) {
        try {
          const { saveKeyFile } = await import('../keys/keyStorage');
          await saveKeyFile(activated.account.id, keys.sealed, keys.address);
          stored = true;
        } catch {
          stored = false;
        }
      }
      setStage({ kind: 'done', activated, ...(keys ? { sealed: keys.sealed } : {}), stored });
    } catch (e) {
      setError(activationMessage(e));
      setStage({ kind: 'form' });
    } finally {
      keys?.destroy();
    }
  };

  return (
    <main id="main" className="landing activate">
      <h1>Activate your account</h1>
      {stage.kind === 'done' ? (
        <Done stage={stage} />
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <p>
            Your clinic checked who you are and gave you an activation code. Choose your password and how your
            keys are kept — nobody at the clinic will know them.
          </p>
          {error ? <ErrorNotice error={error} /> : null}
          <Field
            label="Activation code"
            hint="From the letter or link your clinic gave you, e.g. ABCD-EFGH-…"
            error={codeError}
          >
            <input
              value={code}
              onChange={(e) => setCode(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              autoCapitalize="characters"
            />
          </Field>
          <Field
            label="Choose a password"
            hint="At least 12 characters; several unrelated words are easy to remember and hard to guess."
            error={passwordError}
          >
            <input
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <Field label="Type the password again" error={confirmationError}>
            <input
              type="password"
              autoComplete="new-password"
              value={confirmation}
              onChange={(e) => setConfirmation(e.target.value)}
            />
          </Field>

          <fieldset className="choices">
            <legend>Who keeps your keys?</legend>
            <p className="hint">
              Your keys sign your consents (who may see your records) and unlock your encrypted documents.
            </p>
            <label className="choice">
              <input
                type="radio"
                name={custodyName}
                value="self"
                checked={custody === 'self'}
                onChange={() => setCustody('self')}
              />
              <span>
                <strong>Keep my keys on this device</strong> (I hold them; the clinic cannot sign for me). You
                save a copy as a file; if you lose every copy and forget the passphrase, nobody can recover
                them.
              </span>
            </label>
            <label className="choice">
              <input
                type="radio"
                name={custodyName}
                value="custodial"
                checked={custody === 'custodial'}
                onChange={() => setCustody('custodial')}
              />
              <span>
                <strong>Let my clinic keep my keys, locked with my password</strong>. They open only when you
                type your password; you can download them later.
              </span>
            </label>
          </fieldset>
          {custody === 'self' ? (
            <Field
              label="Passphrase for your keys (optional)"
              hint="Leave empty to lock your keys with your password. A separate passphrase means two things to remember."
              error={passphraseError}
            >
              <input
                type="password"
                autoComplete="new-password"
                value={keyPassphrase}
                onChange={(e) => setKeyPassphrase(e.target.value)}
              />
            </Field>
          ) : null}

          <fieldset className="choices">
            <legend>Second step at sign-in (recommended)</legend>
            <label className="choice">
              <input type="checkbox" checked={withApp} onChange={(e) => setWithApp(e.target.checked)} />
              <span>Also ask for a code from an authenticator app when I sign in</span>
            </label>
            {withApp ? (
              <Authenticator code={code} totpCode={totpCode} setTotpCode={setTotpCode} error={totpError} />
            ) : null}
          </fieldset>

          {stage.kind === 'keys' ? (
            <Progress
              label={`Creating your keys in this browser… ${Math.floor(stage.share * 10) * 10}%`}
              value={stage.share}
            />
          ) : stage.kind === 'sending' ? (
            <Progress label="Activating your account…" />
          ) : null}
          <p>
            <button type="submit" className="primary" disabled={stage.kind !== 'form'}>
              Activate my account
            </button>
          </p>
        </form>
      )}
    </main>
  );
}

export default function Area() {
  return (
    <Routes>
      <Route index element={<Activate />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
