/**
 * The frame of every signed-in screen: a skip link, the header (who is signed in, sign out), the role's
 * navigation and the main landmark. Phone widths stack the navigation under the header.
 */
import { NavLink, Outlet } from 'react-router';
import { useSession, useSignedIn } from '../auth/SessionProvider';
import { sectionsFor } from './navigation';

export function Layout() {
  const account = useSignedIn();
  const { signOut } = useSession();
  const sections = sectionsFor(account.role);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href="/app">
          medledger
        </a>
        <nav aria-label="Sections" className="sections">
          <ul>
            {sections.map((s) => (
              <li key={s.to}>
                <NavLink to={s.to} end>
                  {s.label}
                </NavLink>
              </li>
            ))}
            <li>
              <NavLink to="/app/account">My account</NavLink>
            </li>
          </ul>
        </nav>
        <div className="who">
          <span>
            {account.displayName} <span className="role">({account.role})</span>
          </span>
          <button type="button" className="link-button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
