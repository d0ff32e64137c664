/**
 * My account: who I am (name, role, organisation), my sign-in methods — a passkey (WebAuthn, registered
 * through the browser's own dialog) and an authenticator app — and my API tokens (list, revoke). Patients who
 * hold their keys see where they are kept and can save another copy or load a key file into this browser.
 *
 * APIs: GET /account, POST /account/webauthn/options + POST /account/webauthn, POST /account/totp +
 * POST /account/totp/confirm, GET /account/tokens, DELETE /account/tokens/:id. Minting tokens stays with the
 * API (it needs a fresh sign-in; docs/administration.md).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { Route, Routes } from 'react-router';
import { setupKeyOf } from '../activate/activationForm';
import { ACCOUNT_QUERY } from '../api/account';
import { api } from '../api/client';
import { useOrganisations } from '../api/directory';
import { useSignedIn } from '../auth/SessionProvider';
import { NotFound } from '../pages/NotFound';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';

interface ApiToken {
  id: string;
  label: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** The account as GET /account answers it (secondFactors is an object there). */
interface OwnAccount {
  secondFactors: { totp: boolean; webauthn: number };
}

const when = (iso: string | null) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—';

function useOwnAccount() {
  return useQuery({
    queryKey: [...ACCOUNT_QUERY, 'factors'],
    queryFn: async () => (await api<{ account: OwnAccount }>('/account')).account,
  });
}

function passkeyCount(n: number): string {
  if (n === 0) return 'You have no passkey yet.';
  return n === 1 ? 'You have 1 passkey.' : `You have ${n} passkeys.`;
}

function Passkey({ factors }: { factors: OwnAccount['secondFactors'] | undefined }) {
  const client = useQueryClient();
  const register = useMutation({
    mutationFn: async () => {
      const { startRegistration } = await import('@simplewebauthn/browser');
      const optionsJSON = await api<Parameters<typeof startRegistration>[0]['optionsJSON']>(
        '/account/webauthn/options',
        { method: 'POST', json: {} },
      );
      let response: Awaited<ReturnType<typeof startRegistration>>;
      try {
        response = await startRegistration({ optionsJSON });
      } catch (error) {
        throw new Error(
          (error as Error).name === 'NotAllowedError'
            ? 'The passkey was not created (cancelled or timed out). Try again when you are ready.'
            : 'This browser or device could not create a passkey here. Try another browser, or a security key.',
        );
      }
      return api('/account/webauthn', { json: response });
    },
    onSuccess: () => client.invalidateQueries({ queryKey: ACCOUNT_QUERY }),
  });
  return (
    <section className="card" aria-labelledby="passkey-heading">
      <h2 id="passkey-heading">Passkeys</h2>
      <p>
        A passkey lets you sign in with your fingerprint, face or device PIN (or a security key) instead of a
        code — and cannot be phished. {factors ? passkeyCount(factors.webauthn) : ''}
      </p>
      {register.isError ? <ErrorNotice error={register.error} /> : null}
      {register.isSuccess ? (
        <div className="notice notice-ok" role="status">
          <p>Passkey added. Next time, choose “Sign in with a passkey” on the sign-in page.</p>
        </div>
      ) : null}
      {register.isPending ? <Progress label="Waiting for your device…" /> : null}
      <button type="button" onClick={() => register.mutate()} disabled={register.isPending}>
        Add a passkey
      </button>
    </section>
  );
}

function AuthenticatorApp({ factors }: { factors: OwnAccount['secondFactors'] | undefined }) {
  const client = useQueryClient();
  const [uri, setUri] = useState<string>();
  const [code, setCode] = useState('');
  const begin = useMutation({
    mutationFn: () => api<{ otpauthUri: string }>('/account/totp', { method: 'POST', json: {} }),
    onSuccess: (answer) => setUri(answer.otpauthUri),
  });
  const confirm = useMutation({
    mutationFn: () => api('/account/totp/confirm', { json: { code } }),
    onSuccess: () => {
      setUri(undefined);
      void client.invalidateQueries({ queryKey: ACCOUNT_QUERY });
    },
  });
  if (!factors) return null;
  return (
    <section className="card" aria-labelledby="totp-heading">
      <h2 id="totp-heading">Authenticator app</h2>
      {factors.totp ? (
        <p>
          Your sign-in asks for a code from your authenticator app. To replace it, ask your administrator.
        </p>
      ) : uri ? (
        <form
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            confirm.mutate();
          }}
        >
          <p>
            Add this setup key to your authenticator app, or <a href={uri}>open the setup link</a>:{' '}
            <code>{setupKeyOf(uri)}</code>
          </p>
          {confirm.isError ? <ErrorNotice error={confirm.error} /> : null}
          <Field label="Code from your authenticator app" hint="6 digits.">
            <input
              inputMode="numeric"
              autoComplete="one-time-code"
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </Field>
          <button type="submit" className="primary" disabled={confirm.isPending}>
            Confirm
          </button>
        </form>
      ) : (
        <>
          <p>Ask for a code from an authenticator app at each sign-in.</p>
          {begin.isError ? <ErrorNotice error={begin.error} /> : null}
          <button type="button" onClick={() => begin.mutate()} disabled={begin.isPending}>
            Set up an authenticator app
          </button>
        </>
      )}
    </section>
  );
}

function Tokens() {
  const client = useQueryClient();
  const tokens = useQuery({
    queryKey: ['account', 'tokens'],
    queryFn: async () => (await api<{ tokens: ApiToken[] }>('/account/tokens')).tokens,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/account/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['account', 'tokens'] }),
  });
  const live = (tokens.data ?? []).filter(
    (t) => !t.revokedAt && (!t.expiresAt || Date.parse(t.expiresAt) > Date.now()),
  );
  return (
    <section className="card" aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">API tokens</h2>
      <p>Tokens your scripts and tools use to act as you. Revoke any you no longer use.</p>
      {tokens.isPending ? <Progress label="Loading your tokens…" /> : null}
      {tokens.isError ? <ErrorNotice error={tokens.error} onRetry={() => void tokens.refetch()} /> : null}
      {revoke.isError ? <ErrorNotice error={revoke.error} /> : null}
      {tokens.isSuccess && live.length === 0 ? <p>You have no live API tokens.</p> : null}
      {live.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Your live API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {live.map((t) => (
                <tr key={t.id}>
                  <td>{t.label}</td>
                  <td>{when(t.createdAt)}</td>
                  <td>{when(t.expiresAt)}</td>
                  <td>
                    <button
                      type="button"
                      className="danger"
                      onClick={() => revoke.mutate(t.id)}
                      disabled={revoke.isPending}
                      aria-label={`Revoke ${t.label}`}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function PatientKeys({ accountId }: { accountId: string }) {
  const stored = useQuery({
    queryKey: ['keys', accountId],
    queryFn: async () => (await (await import('../keys/keyStorage')).loadKeyFile(accountId)) ?? null,
  });
  const [loaded, setLoaded] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const load = async (file: File | undefined) => {
    setFailure(undefined);
    if (!file) return;
    try {
      const text = await file.text();
      const parsed = JSON.parse(text) as { format?: string };
      if (parsed.format !== 'medledger-keystore') throw new Error('not a key file');
      const { saveKeyFile } = await import('../keys/keyStorage');
      await saveKeyFile(accountId, text, '');
      setLoaded(file.name);
      void stored.refetch();
    } catch {
      setFailure(
        new Error('That file is not a medledger key file. Choose the file you saved when activating.'),
      );
    }
  };
  return (
    <section className="card" aria-labelledby="keys-heading">
      <h2 id="keys-heading">My keys</h2>
      {stored.isPending ? <Progress label="Looking for your keys in this browser…" /> : null}
      {stored.data ? (
        <>
          <p>This browser keeps your key file (locked with your passphrase).</p>
          <p>
            <button
              type="button"
              onClick={() =>
                void import('../keys/keyStorage').then((k) => k.downloadKeyFile(stored.data!.sealed))
              }
            >
              Save a copy of your keys
            </button>
          </p>
        </>
      ) : stored.isSuccess ? (
        <p>
          This browser does not keep your keys. If you hold them yourself, load your saved key file here; if
          your clinic keeps them, the Documents page fetches them when needed.
        </p>
      ) : null}
      {failure ? <ErrorNotice error={failure} /> : null}
      {loaded ? (
        <div className="notice notice-ok" role="status">
          <p>Loaded {loaded} into this browser.</p>
        </div>
      ) : null}
      <Field label="Load a key file into this browser" hint="The medledger-patient-keys.json you saved.">
        <input type="file" accept="application/json,.json" onChange={(e) => void load(e.target.files?.[0])} />
      </Field>
    </section>
  );
}

function Home() {
  const account = useSignedIn();
  const own = useOwnAccount();
  const organisation = useOrganisations().data?.find((o) => o.self)?.name;
  useEffect(() => {
    document.title = 'My account — medledger';
  }, []);
  return (
    <section className="page account">
      <h1>My account</h1>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{account.displayName}</dd>
        <dt>Username</dt>
        <dd>{account.username}</dd>
        <dt>Role</dt>
        <dd>{account.role}</dd>
        <dt>Organisation</dt>
        <dd>{organisation ?? (account.organisation ? `Organisation ${account.organisation}` : '—')}</dd>
      </dl>
      {own.isError ? <ErrorNotice error={own.error} onRetry={() => void own.refetch()} /> : null}
      <Passkey factors={own.data?.secondFactors} />
      <AuthenticatorApp factors={own.data?.secondFactors} />
      {account.role === 'patient' ? <PatientKeys accountId={account.id} /> : null}
      <Tokens />
    </section>
  );
}

export default function Area() {
  return (
    <Routes>
      <Route index element={<Home />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
