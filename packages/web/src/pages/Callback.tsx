/** Where the OpenID provider sends the browser back: finish the sign-in, then go where the person was going. */
import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { completeSignIn } from '../auth/oauth';
import { useSession } from '../auth/SessionProvider';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';

export function Callback() {
  const { setSession } = useSession();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>();
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    completeSignIn(new URL(window.location.href)).then(
      ({ session, returnTo }) => {
        setSession(session);
        navigate(returnTo, { replace: true });
      },
      (e: unknown) => setError(e),
    );
  }, [navigate, setSession]);
  return (
    <main id="main" className="landing">
      {error ? (
        <>
          <h1>Sign-in did not finish</h1>
          <ErrorNotice error={error} />
          <p>
            <Link to="/">Start again</Link>
          </p>
        </>
      ) : (
        <Progress label="Finishing sign-in…" />
      )}
    </main>
  );
}
