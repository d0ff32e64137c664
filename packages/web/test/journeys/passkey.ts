/**
 * Passkeys: a doctor adds one on My account, signs out (of the provider too), and signs in again with username, password and the
 * passkey instead of a TOTP code; a wrong password is refused even with the passkey. The authenticator is
 * Chromium's own virtual one (DevTools protocol WebAuthn domain): real ceremonies, real signatures, checked by
 * the node — only the fingerprint reader is simulated.
 */
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, createPerson } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, screenshot, signIn } from '../support/browser.js';

async function addVirtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

/** From the front page to the passkey form of a fresh OpenID interaction. */
async function openPasskeySignIn(page: Page, origin: string) {
  await page.goto(`${origin}/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/oauth\/interaction\//);
  await page.getByRole('link', { name: /Sign in with a passkey/ }).click();
  await page.waitForURL(/\/app\/signin\/passkey\?uid=/);
}

export async function passkeyJourney(ctx: { app: AppConsortium; browser: Browser }): Promise<void> {
  const person = await createPerson(ctx.app.hospital, 'dr.kim', 'doctor', { displayName: 'Dr Kim Park' });
  const { page, errors } = await newPage(ctx.browser, DESKTOP);
  const authenticator = await addVirtualAuthenticator(page);

  await signIn(page, person, '/app');
  await page.getByRole('link', { name: 'My account' }).click();
  await page.getByRole('heading', { name: 'Passkeys' }).waitFor();
  await page.getByText('You have no passkey yet.').waitFor();
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByText('Passkey added.').waitFor();
  await page.getByText('You have 1 passkey.').waitFor();
  const [credential] = await authenticator.credentials();
  // Bound to the node's host name (the node names the account first, so it need not be discoverable).
  expect(credential?.rpId).toBe('localhost');
  expect(await accessibilityViolations(page)).toEqual([]);
  await screenshot(page, 'account-passkey');

  // Signing out ends the provider's session too: the next sign-in meets the form again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign out?' }).waitFor();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/');

  // The password alone, with the passkey, is not enough when the password is wrong.
  await openPasskeySignIn(page, person.origin);
  await page.getByLabel('Username').fill(person.username);
  await page.getByLabel('Password').fill(`${person.password}x`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.getByText('Username, password or passkey not accepted.').waitFor();

  await openPasskeySignIn(page, person.origin);
  await page.getByLabel('Username').fill(person.username);
  await page.getByLabel('Password').fill(person.password);
  expect(await accessibilityViolations(page)).toEqual([]);
  await screenshot(page, 'signin-passkey');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.waitForURL(
    (url) => url.pathname.startsWith('/app') && !url.pathname.startsWith('/app/callback'),
  );
  await page.getByText(person.displayName).first().waitFor();
  expect(errors).toEqual([]);
  await page.context().close();
}
