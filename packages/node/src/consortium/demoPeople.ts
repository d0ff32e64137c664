/**
 * The people of `medledger demo`, as a newcomer needs them to click through the scenario in the web app: for
 * each, the app URL of their node, their username and password and, for accounts with a TOTP second factor,
 * the secret (the otpauth:// URI an authenticator app would scan) and the command that prints the current
 * code. The same text goes on screen and into `<demo dir>/people.txt` (readable by its owner only).
 *
 * The passwords are the demo's published constants for synthetic accounts on a throwaway local consortium:
 * never use them, or this table, for anything real.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoPerson {
  role: 'patient' | 'doctor' | 'auditor' | 'lab' | 'admin';
  /** Who they are in the story, e.g. "the lab technician". */
  who: string;
  /** Their organisation's node (a member name of the consortium). */
  node: string;
  /** The web app at their node: http://127.0.0.1:<port>/ */
  appUrl: string;
  username: string;
  password: string;
  /** Present for accounts with a TOTP second factor. */
  otpauthUri?: string;
}

/** The base32 secret of an otpauth:// URI (what a person types into an authenticator by hand). */
export function secretOfUri(otpauthUri: string): string {
  return new URL(otpauthUri).searchParams.get('secret') ?? '';
}

/** The table printed after the walk-through (and written to people.txt). */
export function formatDemoPeople(people: readonly DemoPerson[]): string {
  const lines = [
    'Sign in to the web app as any of these people (synthetic demo accounts; the passwords are demo-only):',
    '',
  ];
  for (const p of people) {
    lines.push(`  ${p.who} (${p.role}) at the ${p.node}`);
    lines.push(`    open       ${p.appUrl}  → Sign in`);
    lines.push(`    username   ${p.username}`);
    lines.push(`    password   ${p.password}`);
    if (p.otpauthUri) {
      lines.push(`    TOTP       secret ${secretOfUri(p.otpauthUri)}  (add it to an authenticator app, or:)`);
      lines.push(`    code       npm run medledger -- totp '${p.otpauthUri}'`);
    }
    lines.push('');
  }
  lines.push(
    'A one-time code signs in once: if one is refused, wait for the next (the totp command shows the seconds left).',
  );
  return lines.join('\n');
}

/** Writes the table to `<dir>/people.txt`, readable and writable by its owner only; returns the path. */
export function writeDemoPeople(dir: string, people: readonly DemoPerson[]): string {
  const path = join(dir, 'people.txt');
  writeFileSync(path, `${formatDemoPeople(people)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // an older file keeps its mode through writeFileSync
  return path;
}
