/** The front door at /: what this is, and sign in (or straight to the person's home when signed in). */
import { useEffect } from 'react';
import { Link, useNavigate } from 'react-router';
import { startSignIn } from '../auth/oauth';
import { useSession } from '../auth/SessionProvider';

export function Landing() {
  const { session } = useSession();
  const navigate = useNavigate();
  useEffect(() => {
    if (session) navigate('/app', { replace: true });
  }, [session, navigate]);
  useEffect(() => {
    document.title = 'medledger';
  }, []);
  return (
    <main id="main" className="landing">
      <h1>medledger</h1>
      <p className="lead">
        Your health records, shared only with whom you choose — and proof of everyone who looked.
      </p>
      <p>
        <button type="button" className="primary" onClick={() => void startSignIn('/app')}>
          Sign in
        </button>
      </p>
      <p>
        Got an activation code from your clinic? <Link to="/app/activate">Activate your account</Link>.
      </p>
    </main>
  );
}
