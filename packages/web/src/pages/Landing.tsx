/**
 * The front door at /: what medledger is for patients and for professionals, sign in, and account activation
 * (straight to the person's home when already signed in). Part of the first load: keep it small — no images,
 * no extra modules. Passkey sign-in is offered on the node's login page, after "Sign in".
 */
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
        Patients see their record, decide which organisation may see what and until when, and check a
        verifiable log of every access. Doctors, labs, auditors and administrators of the consortium's
        organisations read and write records under that consent, with emergency access visible to all.
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
