/**
 * Sign in with a passkey, at /app/signin/passkey?uid=<interaction>: the node's server-rendered login page
 * (script-free) links here, because the WebAuthn ceremony needs script. Username and password, then the
 * browser's passkey dialog; the node checks all three (throttled like every login) and finishes the OpenID
 * interaction, whose redirect this page follows — back to the app's callback with the code, as after the
 * ordinary form.
 *
 * APIs: POST /oauth/interaction/:uid/passkey/options {username}, POST /oauth/interaction/:uid/passkey
 * {username, password, assertion} (packages/node/src/features/passkeyFeature.ts, docs/oidc.md).
 */
import { type FormEvent, useEffect, useState } from 'react';
import { Route, Routes, useSearchParams } from 'react-router';
import { ApiError, api, messageForStatus } from '../api/client';
import { NotFound } from '../pages/NotFound';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Field } from '../ui/Field';
import { Progress } from '../ui/Progress';

const REFUSED = 'Username, password or passkey not accepted. Check them and try again.';
const EXPIRED = 'This sign-in has expired. Go back to the app and choose “Sign in” again.';

function Passkey() {
  const [params] = useSearchParams();
  const uid = params.get('uid') ?? '';
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    document.title = 'Sign in with a passkey — medledger';
  }, []);
  const base = `/oauth/interaction/${encodeURIComponent(uid)}/passkey`;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    if (!username || !password) {
      setError(new Error('Type your username and password, then use your passkey.'));
      return;
    }
    try {
      setBusy('Asking your device for your passkey…');
      const { startAuthentication } = await import('@simplewebauthn/browser');
      const optionsJSON = await api<Parameters<typeof startAuthentication>[0]['optionsJSON']>(
        `${base}/options`,
        {
          json: { username },
          anonymous: true,
        },
      );
      let assertion: Awaited<ReturnType<typeof startAuthentication>>;
      try {
        assertion = await startAuthentication({ optionsJSON });
      } catch (e) {
        throw new Error(
          (e as Error).name === 'NotAllowedError'
            ? 'No passkey was used (cancelled, timed out, or none for this account on this device). Try again, or sign in with your password and code.'
            : 'This browser could not use a passkey here. Sign in with your password and code instead.',
        );
      }
      setBusy('Signing you in…');
      const response = await fetch(base, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ username, password, assertion }),
      });
      // The node finishes the interaction with a redirect; fetch followed it to where the browser must go.
      if (response.redirected) {
        window.location.assign(response.url);
        return;
      }
      if (response.status === 401) throw new Error(REFUSED);
      if (response.status === 404) throw new Error(EXPIRED);
      const retry = Number(response.headers.get('Retry-After') ?? '') || undefined;
      throw new ApiError(messageForStatus(response.status, undefined, retry), response.status);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? new Error(REFUSED) : e);
      setBusy(undefined);
    }
  };

  return (
    <main id="main" className="landing">
      <h1>Sign in with a passkey</h1>
      {!uid ? (
        <div className="notice notice-error" role="alert">
          <p>{EXPIRED}</p>
        </div>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <p>
            Your username and password, then your device asks for your fingerprint, face, PIN or security key.
          </p>
          {error ? <ErrorNotice error={error} /> : null}
          <Field label="Username">
            <input
              autoComplete="username webauthn"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </Field>
          <Field label="Password">
            <input
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          {busy ? <Progress label={busy} /> : null}
          <p>
            <button type="submit" className="primary" disabled={busy !== undefined}>
              Sign in with a passkey
            </button>
          </p>
          <p>
            <a href={`/oauth/interaction/${encodeURIComponent(uid)}`}>
              Sign in with a password and code instead
            </a>
          </p>
        </form>
      )}
    </main>
  );
}

export default function Area() {
  return (
    <Routes>
      <Route path="passkey" element={<Passkey />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
