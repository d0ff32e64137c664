/**
 * The signed-in person, for every screen: the session (token) and their account. A screen that needs a
 * sign-in is wrapped in <RequireAccount>, which starts the sign-in when there is no session and shows
 * progress while the account loads.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { useLocation } from 'react-router';
import { type Account, useAccount } from '../api/account';
import { ErrorNotice } from '../ui/ErrorNotice';
import { Progress } from '../ui/Progress';
import { endProviderSession, forgetSession, type Session, startSignIn, storedSession } from './oauth';

interface SessionState {
  session: Session | undefined;
  setSession(session: Session | undefined): void;
  signOut(): void;
}

const SessionContext = createContext<SessionState | undefined>(undefined);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | undefined>(() => storedSession());
  const signOut = useCallback(() => {
    const idToken = storedSession()?.idToken;
    forgetSession();
    // The page is left for the provider's sign-out: the state keeps the session until then, so that no
    // screen starts a new sign-in meanwhile.
    void endProviderSession(idToken);
  }, []);
  const value = useMemo(() => ({ session, setSession, signOut }), [session, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}

const AccountContext = createContext<Account | undefined>(undefined);

/** The signed-in person's account (inside <RequireAccount>). */
export function useSignedIn(): Account {
  const account = useContext(AccountContext);
  if (!account) throw new Error('useSignedIn outside RequireAccount');
  return account;
}

export function RequireAccount({ children }: { children: ReactNode }) {
  const { session } = useSession();
  const location = useLocation();
  const account = useAccount(session !== undefined);
  useEffect(() => {
    if (!session) void startSignIn(`${location.pathname}${location.search}`);
  }, [session, location.pathname, location.search]);
  if (!session) return <Progress label="Signing you in…" />;
  if (account.isPending) return <Progress label="Loading your account…" />;
  if (account.isError) return <ErrorNotice error={account.error} />;
  return <AccountContext.Provider value={account.data}>{children}</AccountContext.Provider>;
}
