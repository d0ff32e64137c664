/** `medledger admin create`: an administrator account with a one-time initial password and a TOTP enrolment. */
import { randomBytes } from 'node:crypto';
import { secretOfUri } from '../consortium/demoPeople.js';
import { client } from './client.js';
import { CLIENT_OPTIONS, CliError, type Command } from './command.js';

/** A first password the command generates (never sent anywhere but the node, which keeps only its hash). */
function initialPassword(): string {
  return `${randomBytes(15).toString('base64url')}-${randomBytes(6).toString('hex')}`;
}

export const adminCommand: Command = {
  name: 'admin',
  summary: 'create an administrator account at a running node (with the operator’s token)',
  usage: ['admin create --username <name> [--display-name <name>] [options]'],
  description: `Prints the account's one-time initial password and TOTP enrolment, to sign in to the web app with
(the node keeps only the password's hash; the first sign-in with a code completes the enrolment).`,
  options: {
    username: { value: 'name', help: 'the administrator’s username' },
    'display-name': { value: 'name', help: 'the name people read (default: the username)' },
    ...CLIENT_OPTIONS,
  },
  positionals: [1, 1],
  async run({ values, positionals }) {
    if (positionals[0] !== 'create' || !values.username) {
      throw new CliError('usage: medledger admin create --username <name> [--display-name <name>]');
    }
    const { call, publicUrl } = client(values);
    const username = values.username;
    const password = initialPassword();
    // The admin API sits beside the FHIR base (…/fhir → …/admin).
    const created = (await call('POST', '/../admin/accounts', {
      username,
      displayName: values['display-name'] ?? username,
      role: 'admin',
      password,
    })) as { account: { id: string } };
    const enrolment = (await call('POST', `/../admin/accounts/${created.account.id}/totp`)) as {
      otpauthUri: string;
    };
    const appUrl = `${new URL(publicUrl).origin}/`;
    console.log(`administrator account created
  open               ${appUrl}  → Sign in
  username           ${username}
  initial password   ${password}
                     (shown once: the node keeps only its hash — keep it safe)
  TOTP secret        ${secretOfUri(enrolment.otpauthUri)}
  otpauth URI        ${enrolment.otpauthUri}
add the secret (or the URI, as a QR code) to an authenticator app, or print the current code with:
  npm run medledger -- totp '${enrolment.otpauthUri}'
The first sign-in with a code completes the enrolment.`);
  },
};
