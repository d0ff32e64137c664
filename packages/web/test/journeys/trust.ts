/**
 * The patient's trust features end to end: the patient signs in, shares their test results with the lab
 * (chosen by name) and reads the grant in plain words; the lab writes a result for them; the access log shows
 * every entry with its proof checked in the browser (✓), a new access appears live, a clinician's emergency
 * access appears live as a notice and a flagged entry; the same log with one
 * proof byte flipped on the way (the node or the network lying — intercepted in the browser) shows ✗; the
 * patient stops sharing. Accessibility checks and screenshots of both screens at phone and desktop widths.
 */
import { randomBytes } from 'node:crypto';
import { totpCode } from '@medledger/identity';
import { signInAtNode, totpSecretOf } from '@medledger/node';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, operatorCall } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot, signIn } from '../support/browser.js';

const PSEUDONYM_SYSTEM = 'urn:medledger:patient-pseudonym';

/** A last day of sharing no other journey picks: the grant is found by its sentence. */
function untilDay(): { iso: string; words: string } {
  const d = new Date(Date.now() + 400 * 24 * 3600_000);
  const iso = d.toISOString().slice(0, 10);
  const words = new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(d);
  return { iso, words };
}

async function accessible(page: Page, name: string) {
  expect(await accessibilityViolations(page), name).toEqual([]);
  await screenshot(page, name);
}

/** Every proof on the page checked, none failed, the summary saying so. */
async function allChecked(page: Page) {
  await page.getByText(/^All \d+ entries checked\./).waitFor({ timeout: 30_000 });
  expect(await page.getByText('Proof FAILED', { exact: true }).count()).toBe(0);
  expect(await page.getByText('Checking…', { exact: true }).count()).toBe(0);
  expect(await page.getByText('Proof checked', { exact: true }).count()).toBeGreaterThan(0);
}

/**
 * A licensed doctor of this journey's own (the shared doctor's one-time codes stay theirs), signed in at the
 * hospital through the web app's client as a browser would be: their access token.
 */
async function emergencyDoctor(app: AppConsortium): Promise<{ name: string; token: string }> {
  const name = 'Dr Jo Emergency';
  const username = `dr.emergency.${randomBytes(4).toString('hex')}`;
  const password = `${randomBytes(12).toString('base64url')} doctor passphrase`;
  const created = await operatorCall(app.hospital, 'POST', '/admin/accounts', {
    username,
    displayName: name,
    role: 'doctor',
    password,
  });
  const enrolment = await operatorCall(app.hospital, 'POST', `/admin/accounts/${created.account.id}/totp`);
  await operatorCall(app.regulator, 'POST', '/admin/licences', {
    member: created.account.memberAddress,
    name,
    qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code: 'MD' },
    expiresAt: new Date(Date.now() + 30 * 24 * 3600_000).toISOString(),
  });
  const token = await signInAtNode({
    origin: app.hospital.origin,
    clientId: 'medledger-web',
    redirectUri: `${app.hospital.origin}/app/callback`,
    scope: 'openid user/*.cruds',
    username,
    password,
    otp: totpCode(totpSecretOf(enrolment.otpauthUri as string), Date.now()),
  });
  return { name, token };
}

export async function trustJourney({
  app,
  browser,
}: {
  app: AppConsortium;
  browser: Browser;
}): Promise<void> {
  const patient = app.people.patient;
  const patientId = patient.patientId!;
  const labName = `Lab ${app.lab.organisationId}`;
  const until = untilDay();
  const sentence = `${labName} may see and add to your test results, for your treatment, until ${until.words}`;

  const { page, errors } = await newPage(browser, DESKTOP);
  await signIn(page, patient, '/app/patient');

  // Share test results with the lab, chosen by name.
  await page.goto(`${patient.origin}/app/patient/consent`);
  await page.getByRole('heading', { level: 1, name: 'Sharing your record' }).waitFor();
  await page.getByLabel('Who').selectOption({ label: `${labName} (lab)` });
  await page.getByRole('checkbox', { name: /Your test results/ }).check();
  await page.getByRole('radio', { name: /See and add to them/ }).check();
  await page.getByLabel('Until').fill(until.iso);
  await page.getByText(`${labName} will be able to see and add to your test results`).waitFor();
  await page.getByLabel('Your password').fill(patient.password);
  await page.getByRole('button', { name: 'Sign and share' }).click();
  const grant = page.locator('article.grant', { hasText: sentence });
  await grant.waitFor({ timeout: 30_000 });
  await accessible(page, 'patient-consent');

  // The lab files the patient (by their on-chain pseudonym) and writes a result under the grant.
  const registered = await operatorCall(app.hospital, 'GET', `/fhir/Patient/${patientId}`);
  const pseudonym = (registered.identifier as { system: string; value: string }[]).find(
    (i) => i.system === PSEUDONYM_SYSTEM,
  )!.value;
  const filed = await operatorCall(
    app.lab,
    'GET',
    `/fhir/Patient?identifier=${encodeURIComponent(`${PSEUDONYM_SYSTEM}|${pseudonym}`)}`,
  );
  const labPatient =
    filed.entry?.[0]?.resource?.id ??
    (
      await operatorCall(app.lab, 'POST', '/fhir/Patient', {
        resourceType: 'Patient',
        identifier: [{ system: PSEUDONYM_SYSTEM, value: pseudonym }],
      })
    ).id;
  await operatorCall(app.lab, 'POST', '/fhir/Observation', {
    resourceType: 'Observation',
    status: 'final',
    code: {
      coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }],
      text: 'HbA1c',
    },
    valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
    subject: { reference: `Patient/${labPatient}` },
  });

  // The access log: every proof checked in the browser; a new access appears live.
  await page.goto(`${patient.origin}/app/patient/access-log`);
  await page.getByRole('heading', { level: 1, name: 'Who saw my data' }).waitFor();
  await allChecked(page);
  await page.getByText('New accesses appear here as they happen.').waitFor({ timeout: 30_000 });
  const rows = page.locator('table.access-table tbody tr');
  const before = await rows.count();
  await operatorCall(app.hospital, 'GET', `/fhir/Patient/${patientId}`);
  await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThan(before);
  await allChecked(page);

  // Emergency access: the notice and the flagged entry appear live, highlighted by a tag and words.
  const doctor = await emergencyDoctor(app);
  const reason = 'Unconscious in the emergency department (trust journey)';
  const opened = await fetch(`${app.hospital.fhirUrl}/Patient/${patientId}/$break-glass`, {
    method: 'POST',
    headers: { authorization: `Bearer ${doctor.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason, minutes: 5 }),
  });
  expect(opened.status).toBe(201);
  const session = (await opened.json()) as { sessionId: number };
  const notice = page.locator('.break-glass-notice', { hasText: reason });
  await notice.waitFor({ timeout: 15_000 });
  expect(await notice.textContent()).toContain(doctor.name);
  const flagged = page.locator('tr.access-break-glass', { hasText: doctor.name });
  await flagged.first().waitFor({ timeout: 15_000 });
  expect(await flagged.first().getByText('Emergency access', { exact: true }).count()).toBe(1);
  await allChecked(page);
  await accessible(page, 'patient-access-log');
  const ended = await fetch(`${app.hospital.fhirUrl}/$break-glass/${session.sessionId}/end`, {
    method: 'POST',
    headers: { authorization: `Bearer ${doctor.token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(ended.status).toBe(200);

  // The node (or the network) lies: one byte of one entry's proof flipped on the way to the browser.
  let tampered = false;
  await page.route('**/audit/patients/**', async (route) => {
    const response = await route.fetch().catch(() => undefined);
    if (!response) return; // the page went away meanwhile
    const body = (await response.json()) as { entries: { proof: string[]; commitment: string }[] };
    const victim = tampered ? undefined : body.entries.find((e) => e.proof.length > 0);
    if (victim) {
      tampered = true;
      const bytes = Buffer.from(victim.proof[0]!, 'base64url');
      bytes[0]! ^= 0x01;
      victim.proof[0] = bytes.toString('base64url');
    }
    await route.fulfill({ response, json: body }).catch(() => undefined);
  });
  await page.reload();
  await page.getByText(/entries FAILED their proof/).waitFor({ timeout: 30_000 });
  expect(await page.getByText('Proof FAILED', { exact: true }).count()).toBe(1);
  expect(await page.getByText('Proof checked', { exact: true }).count()).toBeGreaterThan(0);
  await screenshot(page, 'patient-access-log-tampered');
  await page.unrouteAll({ behavior: 'ignoreErrors' });

  // Stop sharing.
  await page.goto(`${patient.origin}/app/patient/consent`);
  await grant.waitFor({ timeout: 30_000 });
  await grant.getByRole('button', { name: `Stop sharing with ${labName}` }).click();
  await grant.getByLabel('Your password').fill(patient.password);
  await grant.getByRole('button', { name: 'Stop sharing now' }).click();
  await grant.waitFor({ state: 'detached', timeout: 30_000 });
  await page.getByText(/Sharing that has ended/).click();
  await page.getByText(sentence.replace(' may ', ' could ')).first().waitFor();
  expect(errors).toEqual([]);
  await page.context().close();

  // Both screens at phone width.
  const phone = await newPage(browser, PHONE);
  await signIn(phone.page, patient, '/app/patient');
  await phone.page.goto(`${patient.origin}/app/patient/consent`);
  await phone.page.getByRole('heading', { level: 2, name: 'Share with an organisation' }).waitFor();
  await phone.page.getByLabel('Who').locator('option', { hasText: labName }).waitFor({ state: 'attached' });
  await accessible(phone.page, 'patient-consent');
  await phone.page.goto(`${patient.origin}/app/patient/access-log`);
  await allChecked(phone.page);
  await accessible(phone.page, 'patient-access-log');
  expect(phone.errors).toEqual([]);
  await phone.page.context().close();
}
