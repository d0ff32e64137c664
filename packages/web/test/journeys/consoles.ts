/**
 * The auditor's and the administrator's consoles, end to end: the administrator signs in with TOTP, creates a
 * doctor and enrols their second factor (QR code and key shown), and reads the node status; the new doctor —
 * licensed by the regulator — signs in with that key, breaks the glass for the patient and ends the session
 * (through the API, as the clinician's app would); the auditor signs in, reads the access log and filters it to
 * break-glass access, runs audit verify (✓), and reviews the session in the queue. Accessibility checks and
 * screenshots (admin-accounts, admin-status, auditor-log, auditor-review) at desktop and phone widths, the
 * same page resized (one sign-in per person: a TOTP code is accepted once).
 */
import { randomBytes } from 'node:crypto';
import { type TotpSecret, totpCode } from '@medledger/identity';
import { signInAtNode } from '@medledger/node';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, operatorCall } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot, signIn } from '../support/browser.js';

/** Axe (no serious or critical violation) and a screenshot at desktop and at phone width. */
async function checkBothWidths(page: Page, name: string): Promise<void> {
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, name);
  }
  await page.setViewportSize(DESKTOP);
}

export async function consolesJourney({ app, browser }: { app: AppConsortium; browser: Browser }) {
  const { hospital, regulator, people } = app;
  const username = `dr.console.${randomBytes(3).toString('hex')}`;
  const displayName = 'Dr Casey Console';
  const password = `${randomBytes(12).toString('base64url')} console passphrase`;

  // The administrator creates a doctor and enrols their second factor.
  const admin = await newPage(browser, DESKTOP);
  let page = admin.page;
  await signIn(page, people.admin, '/app/admin');
  await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
  await page.getByRole('cell', { name: /^Alice Admin/ }).waitFor();
  // Validation next to the field before anything is sent.
  await page.getByRole('button', { name: 'Create the account' }).click();
  await page.getByText('Enter the name people will see').waitFor();
  await page.getByLabel('Role').selectOption('doctor');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create the account' }).click();
  await page.getByRole('button', { name: 'Enrol their second factor' }).click();
  await page.getByRole('img', { name: new RegExp(`QR code .* ${username.replace(/\./g, '\\.')}`) }).waitFor();
  const key = ((await page.getByTestId('totp-secret').textContent()) ?? '').replace(/\s/g, '');
  expect(key).toMatch(/^[A-Z2-7]{16,}$/);
  await page.getByRole('cell', { name: new RegExp(`^${displayName}`) }).waitFor();
  await checkBothWidths(page, 'admin-accounts');

  // A patient registered at the desk: an activation code when the node issues them, else an initial password.
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByLabel('Role').selectOption('patient');
  await page.getByLabel('Username').fill(`pat.${username.slice(-6)}`);
  await page.getByLabel('Display name').fill('Robin Console');
  await page.getByLabel('Family name').fill('Console');
  await page.getByLabel('Given names').fill('Robin');
  await page.getByLabel('Date of birth').fill('1980-02-29');
  await page.getByRole('button', { name: 'Create the account' }).click();
  const slip = page.getByRole('heading', { name: 'Activation for Robin Console' });
  const needsPassword = page.getByText('This node does not issue activation codes yet');
  await slip.or(needsPassword).waitFor();
  if (await needsPassword.isVisible()) {
    await page.getByLabel('Initial password').fill(`${randomBytes(12).toString('base64url')} patient phrase`);
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.getByText('Robin Console’s account is ready.').waitFor();
  }
  await page.getByRole('cell', { name: /^Robin Console/ }).waitFor();

  for (const [section, heading, ready] of [
    ['Licences', 'Licences', /^Dr Meredith Grey \(doctor\)/],
    ['Apps', 'Apps and services', /^medledger web app/],
  ] as const) {
    await page.getByRole('link', { name: section, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.getByRole('cell', { name: ready }).first().waitFor();
    await checkBothWidths(page, `admin-${section.toLowerCase()}`);
  }

  await page.getByRole('link', { name: 'Node status' }).click();
  await page.getByText('The node is ready: everything it depends on answers.').waitFor();
  await page.getByText(/Every record version is anchored|waiting for the chain/).waitFor();
  await page.getByText(/Latest anchored on the chain/).waitFor();
  await checkBothWidths(page, 'admin-status');
  expect(admin.errors).toEqual([]);
  await page.context().close();

  // The new doctor, licensed, signs in with the enrolled key, breaks the glass and ends the session.
  const created = await operatorCall(hospital, 'GET', '/admin/accounts?role=doctor');
  const account = (created.accounts as { username: string; memberAddress: string }[]).find(
    (a) => a.username === username,
  )!;
  await operatorCall(regulator, 'POST', '/admin/licences', {
    member: account.memberAddress,
    name: displayName,
    qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code: 'MD' },
    expiresAt: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
  });
  const secret: TotpSecret = { secret: key, algorithm: 'SHA1', digits: 6, period: 30 };
  const token = await signInAtNode({
    origin: hospital.origin,
    clientId: 'medledger-web',
    redirectUri: `${hospital.origin}/app/callback`,
    scope: 'openid fhirUser user/*.cruds',
    username,
    password,
    otp: totpCode(secret, Date.now()),
  });
  const fhir = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${hospital.fhirUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const opened = await fhir('POST', `/Patient/${people.patient.patientId}/$break-glass`, {
    reason: 'Unconscious on arrival; allergies and medication needed',
    minutes: 15,
  });
  expect(opened.status).toBe(201);
  const sessionId = opened.body.sessionId as number;
  expect((await fhir('GET', `/Patient/${people.patient.patientId}`)).status).toBe(200);
  expect((await fhir('POST', `/$break-glass/${sessionId}/end`, {})).status).toBe(200);

  // The auditor reads the log, verifies it and reviews the session.
  const auditor = await newPage(browser, DESKTOP);
  page = auditor.page;
  await signIn(page, people.auditor, '/app/auditor');
  await page.getByRole('heading', { level: 1, name: 'Access log' }).waitFor();
  await page.getByText(/\d+ entries loaded\./).waitFor();
  await page.getByRole('table').getByRole('row').nth(1).waitFor();
  await checkBothWidths(page, 'auditor-log');
  await page.getByLabel('Break-glass access only').check();
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText(/\d+ of \d+ loaded entries match\./).waitFor();
  await page.getByRole('table').getByText('Break-glass').first().waitFor();

  await page.getByRole('link', { name: 'Verify' }).click();
  await page.getByRole('button', { name: 'Verify the audit log' }).click();
  await page.getByText('The audit log is intact.').waitFor();
  expect(await page.locator('.verdict .verified').textContent()).toBe('✓');
  await checkBothWidths(page, 'auditor-verify');

  await page.getByRole('link', { name: 'Break-glass review' }).click();
  const card = page.getByRole('article', { name: new RegExp(`Session ${sessionId}:`) });
  await card.waitFor();
  await card.getByText('Unconscious on arrival').waitFor();
  await card.getByRole('button', { name: 'Record the review' }).click();
  await card.getByText('Choose whether the access was justified.').waitFor();
  await checkBothWidths(page, 'auditor-review');
  await card.getByLabel(/^Justified/).check();
  await card
    .getByLabel('Finding')
    .fill('Emergency confirmed by the ED notes; only the allergy list was read.');
  await card.getByRole('button', { name: 'Record the review' }).click();
  // Reviewed, the session leaves the queue of unreviewed ones; it is shown with the reviewed, with the finding.
  await card.waitFor({ state: 'detached' });
  await page.getByLabel('Show reviewed sessions too').check();
  await page
    .getByRole('article', { name: new RegExp(`Session ${sessionId}:`) })
    .getByText(/: justified\. Emergency confirmed/)
    .waitFor();
  expect(auditor.errors).toEqual([]);
  await page.context().close();
}
