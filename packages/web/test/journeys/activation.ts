/**
 * A patient activates the account their clinic created: the hospital's operator creates it with an
 * activation code (no password), the patient opens the link, chooses a password and to hold their keys
 * themselves — generated in the browser, progress shown — saves the key file (a real download, which opens
 * under their password to the very keys whose pseudonym the node linked), signs in, sees their portal,
 * encrypts and uploads a small document and decrypts it again, shares their vaccinations with the lab and
 * stops — both signed in the browser with their own key, unlocked by its passphrase (the node relays the
 * signature; the chain refuses one that is not the patient's) — and visits their account page. Without the
 * key file in the browser, the Sharing page says how to load it. Accessibility checks and screenshots
 * (`activate`, `documents`, `account`, `consent-self-held`; `signin-passkey` at desktop) at phone and desktop
 * widths.
 */
import { readFile } from 'node:fs/promises';
import { openPatientKeys } from '@medledger/identity';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, operatorCall } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot } from '../support/browser.js';

const PASSWORD = 'quiet harbour lantern maple';

async function checkPage(page: Page, name: string): Promise<void> {
  expect(await accessibilityViolations(page)).toEqual([]);
  await screenshot(page, name);
}

export async function activationJourney({ app, browser }: { app: AppConsortium; browser: Browser }) {
  const created = await operatorCall(app.hospital, 'POST', '/admin/accounts', {
    username: 'robin.activates',
    displayName: 'Robin Activates',
    role: 'patient',
    activation: true,
    demographics: { name: [{ family: 'Activates', given: ['Robin'] }], birthDate: '1988-04-12' },
  });
  const link: string = created.activation.link;
  expect(link).toMatch(/\/app\/activate#code=/);

  // The form at phone width (the code stays unused).
  {
    const { page, errors } = await newPage(browser, PHONE);
    await page.goto(link);
    await expect.poll(() => page.getByLabel('Activation code').inputValue()).toBe(created.activation.code);
    // The code left the address bar.
    expect(new URL(page.url()).hash).toBe('');
    await checkPage(page, 'activate');
    expect(errors).toEqual([]);
    await page.context().close();
  }

  const { page, errors } = await newPage(browser, DESKTOP);
  await page.goto(link);
  await expect.poll(() => page.getByLabel('Activation code').inputValue()).toBe(created.activation.code);
  await page.getByLabel('Choose a password').fill('short');
  await expect.poll(() => page.getByText(/at least 12 characters \(5 so far\)/).count()).toBe(1);
  await page.getByLabel('Choose a password').fill(PASSWORD);
  await page.getByLabel('Type the password again').fill(PASSWORD);
  await page.getByLabel(/Keep my keys on this device/).check();
  await checkPage(page, 'activate');

  const progress = page.getByRole('status').filter({ hasText: /Creating your keys in this browser/ });
  const progressSeen = progress.waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'Activate my account' }).click();
  await progressSeen;
  await page.getByText(/Your account is active/).waitFor();
  expect(await page.getByText('robin.activates').count()).toBeGreaterThan(0);
  await screenshot(page, 'activate-done');

  // The key file is a real download, and holds exactly the keys whose pseudonym the node linked.
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Save a copy of your keys' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('medledger-patient-keys.json');
  const sealed = await readFile((await download.path())!, 'utf8');
  expect(JSON.parse(sealed).format).toBe('medledger-keystore');
  const keys = await openPatientKeys(sealed, PASSWORD);
  const account = await operatorCall(app.hospital, 'GET', `/admin/accounts/${created.account.id}`);
  expect(account.account.patient.pseudonym).toBe(keys.pseudonym);
  keys.destroy();
  // The file is sealed: the password is not in it.
  expect(sealed).not.toContain(PASSWORD);

  // Sign in with the new password; the portal opens.
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/oauth\/interaction\//);
  // The login page links to the app's passkey sign-in for this interaction, which links back.
  await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
  await page.waitForURL(/\/app\/signin\/passkey\?uid=/);
  await page.getByRole('heading', { name: 'Sign in with a passkey' }).waitFor();
  await checkPage(page, 'signin-passkey');
  await page.getByRole('link', { name: 'Sign in with a password and code instead' }).click();
  await page.waitForURL(/\/oauth\/interaction\//);
  await page.getByLabel('Username').fill('robin.activates');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/app/patient'));
  await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toBeTruthy();

  // A document encrypted in the browser, uploaded, listed and decrypted with the keys kept in this browser.
  await page.getByRole('link', { name: 'Documents' }).click();
  await page.getByRole('heading', { name: 'Unlock your keys' }).waitFor();
  await page.getByLabel('Kept in this browser').check();
  await page.getByLabel('Passphrase', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByText('Your keys are unlocked on this page.').waitFor();
  await page.getByLabel('Document or photo', { exact: true }).setInputFiles({
    name: 'allergy-letter.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('Synthetic letter: no known allergies.'),
  });
  await page.getByLabel('Title (optional)').fill('Allergy letter');
  await page.getByRole('button', { name: 'Encrypt and upload' }).click();
  await page.getByText('“Allergy letter” was encrypted and uploaded.').waitFor();
  await page.getByRole('button', { name: 'Decrypt Allergy letter' }).click();
  const decrypted = page.getByRole('link', { name: 'Save the decrypted copy of Allergy letter' });
  await decrypted.waitFor();
  const saving = page.waitForEvent('download');
  await decrypted.click();
  const copy = await saving;
  expect(await readFile((await copy.path())!, 'utf8')).toBe('Synthetic letter: no known allergies.');
  await checkPage(page, 'documents');

  // What the node stored is ciphertext; it knows the keys are the patient's, and the domain they sign for.
  const patientId: string = created.patient.id;
  const asPatient = (path: string) =>
    page.evaluate(async (p) => {
      const session = JSON.parse(sessionStorage.getItem('medledger.session')!);
      const res = await fetch(p, { headers: { Authorization: `Bearer ${session.accessToken}` } });
      return res.text();
    }, path);
  const stored = await asPatient(`/fhir/DocumentReference?patient=${patientId}`);
  expect(stored).toContain('application/vnd.medledger.sealed-record');
  expect(stored).not.toContain(Buffer.from('Synthetic letter').toString('base64').slice(0, 12));
  const custody = JSON.parse(await asPatient('/account/keys'));
  expect(custody).toMatchObject({
    custody: 'self',
    patient: patientId,
    pseudonym: account.account.patient.pseudonym,
  });
  expect(custody.consentManager.verifyingContract).toMatch(/^0x[0-9a-fA-F]{40}$/);

  // Sharing, signed in this browser with the patient's own key: the node relays the signature to the chain,
  // which accepts it only from the patient's key — the grant appears once it is on the ledger.
  const labName = `Lab ${app.lab.organisationId}`;
  const keyPassphrase = 'The passphrase of your keys on this device';
  await page.getByRole('link', { name: 'Sharing', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Sharing your record' }).waitFor();
  await page.getByLabel('Who').selectOption({ label: `${labName} (lab)` });
  await page.getByRole('checkbox', { name: /Your vaccinations/ }).check();
  await page.getByLabel(keyPassphrase).fill(PASSWORD);
  // Every status the page announces is recorded as it appears (the key unlocks in well under a second).
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { statusesSeen: string[] }).statusesSeen = seen;
    new MutationObserver(() => {
      for (const el of Array.from(document.querySelectorAll('[role=status]')))
        seen.push(el.textContent ?? '');
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByRole('button', { name: 'Sign and share' }).click();
  const grant = page.locator('article.grant', { hasText: `${labName} may see your vaccinations` });
  await grant.waitFor({ timeout: 30_000 });
  const statuses = await page.evaluate(() => (window as unknown as { statusesSeen: string[] }).statusesSeen);
  expect(statuses.some((s) => s.includes('Unlocking your keys in this browser'))).toBe(true);
  await checkPage(page, 'consent-self-held');
  await grant.getByRole('button', { name: `Stop sharing with ${labName}` }).click();
  await grant.getByLabel(keyPassphrase).fill(PASSWORD);
  await grant.getByRole('button', { name: 'Stop sharing now' }).click();
  await grant.waitFor({ state: 'detached', timeout: 30_000 });
  await page.getByText(/Sharing that has ended/).click();
  await page.getByText(`${labName} could see your vaccinations`).first().waitFor();

  // My account, at both widths.
  await page.getByRole('link', { name: 'My account' }).click();
  await page.getByRole('heading', { name: 'My account' }).waitFor();
  await page.getByRole('heading', { name: 'API tokens' }).waitFor();
  await page.getByText(/This browser keeps your key file/).waitFor();
  await checkPage(page, 'account');
  await page.setViewportSize(PHONE);
  await checkPage(page, 'account');
  await page.setViewportSize(DESKTOP);
  await page.goto(`${app.hospital.origin}/app/patient/documents`);
  await page.getByRole('heading', { name: 'Unlock your keys' }).waitFor();
  await page.setViewportSize(PHONE);
  await checkPage(page, 'documents');

  // A browser without the key file: the Sharing page says how to load it instead of failing.
  await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const request = indexedDB.deleteDatabase('medledger-keys');
        request.onsuccess = resolve;
        request.onerror = reject;
      }),
  );
  await page.goto(`${app.hospital.origin}/app/patient/consent`);
  await page.getByText(/this browser does not keep them/).waitFor();
  expect(await page.getByRole('button', { name: 'Sign and share' }).isDisabled()).toBe(true);
  await checkPage(page, 'consent-self-held-no-keys');
  expect(errors).toEqual([]);
  await page.context().close();
}
