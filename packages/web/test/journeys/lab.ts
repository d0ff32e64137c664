/**
 * The lab's journey: a patient of the hospital shares their results with the lab (read and write, for
 * treatment — signed with their custodial key, as docs/consent.md describes); the lab has filed the patient
 * under their consortium identity. The technician signs in (password and TOTP), posts one result, uploads a
 * CSV (a wrong line is reported by number, nothing is sent; corrected, both results are posted with progress),
 * and is refused for a patient who shared nothing with the lab — said as "no consent". axe and screenshots at
 * phone and desktop widths. The patient is this journey's own.
 */
import { signInAtNode } from '@medledger/node';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, operatorCall } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot, signIn } from '../support/browser.js';

/** The resource types of the Observations category (a grant must list a whole category). */
const OBSERVATION_TYPES = [
  'BodyStructure',
  'DiagnosticReport',
  'MolecularSequence',
  'Observation',
  'Specimen',
];
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function checkScreen(page: Page, name: string): Promise<void> {
  for (const viewport of [PHONE, DESKTOP]) {
    await page.setViewportSize(viewport);
    expect({ screen: name, width: viewport.width, violations: await accessibilityViolations(page) }).toEqual({
      screen: name,
      width: viewport.width,
      violations: [],
    });
    await screenshot(page, name);
  }
}

/** A patient of the hospital who grants the lab their results; the lab's record numbers for them and for one who did not. */
async function sharedPatient(app: AppConsortium): Promise<{ shared: string; unshared: string }> {
  const password = 'a synthetic patient for the lab journey 1';
  const registered = await operatorCall(app.hospital, 'POST', '/admin/accounts', {
    username: 'pat.lindqvist',
    displayName: 'Lin Lindqvist',
    role: 'patient',
    password,
    demographics: {
      name: [{ family: 'Lindqvist', given: ['Lin'] }],
      gender: 'male',
      birthDate: '1971-11-02',
    },
  });
  const origin = app.hospital.origin;
  const token = await signInAtNode({
    origin,
    clientId: 'medledger-web',
    redirectUri: `${origin}/app/callback`,
    scope: 'openid fhirUser patient/*.cruds',
    username: 'pat.lindqvist',
    password,
  });
  const consent = await fetch(`${origin}/fhir/Consent`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/fhir+json',
      'x-medledger-key-passphrase': password,
    },
    body: JSON.stringify({
      resourceType: 'Consent',
      status: 'active',
      scope: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
      },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${registered.patient.id}` },
      provision: {
        type: 'permit',
        period: { start: seconds(Date.now() - 60_000), end: seconds(Date.now() + 24 * 3600_000) },
        actor: [
          {
            role: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' },
              ],
            },
            reference: {
              identifier: { system: 'urn:medledger:organisation', value: app.lab.organisationId },
            },
          },
        ],
        action: ['access', 'correct'].map((code) => ({
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }],
        })),
        purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }],
        class: OBSERVATION_TYPES.map((code) => ({ system: 'http://hl7.org/fhir/resource-types', code })),
      },
    }),
  });
  expect(consent.status, await consent.clone().text()).toBe(201);
  const shared = await operatorCall(app.lab, 'POST', '/fhir/Patient', {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:medledger:patient-pseudonym', value: registered.patient.pseudonym }],
  });
  const unshared = await operatorCall(app.lab, 'POST', '/fhir/Patient', {
    resourceType: 'Patient',
    name: [{ family: 'Unshared' }],
  });
  return { shared: shared.id as string, unshared: unshared.id as string };
}

export async function labJourney({ app, browser }: { app: AppConsortium; browser: Browser }) {
  const { shared, unshared } = await sharedPatient(app);
  const { page, errors } = await newPage(browser, DESKTOP);
  await signIn(page, app.people.labTech, '/app/lab');

  // One result.
  await page.getByLabel('Patient record number').fill(shared);
  await page.getByLabel('LOINC code').fill('4548-4');
  await page.getByLabel('Test name').fill('Hemoglobin A1c');
  await page.getByLabel('Value', { exact: true }).fill('6.1');
  await page.getByLabel('Unit', { exact: true }).fill('%');
  await page.getByLabel('Reference range: low').fill('4');
  await page.getByLabel('Reference range: high').fill('5.6');
  await page.getByRole('button', { name: 'Post result' }).click();
  await page.getByText(/^Result saved \(Observation\/[^)]+\)\.$/).waitFor({ timeout: 30_000 });

  // A batch: a wrong line is reported by its number and nothing is sent; corrected, both are posted.
  const csv = (value: string) =>
    Buffer.from(
      `loinc,display,value,unit,low,high\n2345-7,"Glucose, fasting",5.4,mmol/L,3.9,5.5\n2093-3,Cholesterol,${value},mmol/L,,5.2\n`,
    );
  const file = page.getByLabel('File');
  await file.setInputFiles({ name: 'results.csv', mimeType: 'text/csv', buffer: csv('high') });
  await page.getByRole('button', { name: 'Check and post' }).click();
  await page.getByText('Line 3: Enter the result as a number, e.g. 6.1.').waitFor();
  await file.setInputFiles({ name: 'results.csv', mimeType: 'text/csv', buffer: csv('4.9') });
  await page.getByRole('button', { name: 'Check and post' }).click();
  await page.getByText('Posted 2 of 2.').waitFor({ timeout: 30_000 });
  await checkScreen(page, 'lab-post');

  // A patient who shared nothing with the lab: refused, said as "no consent".
  await page.getByLabel('Patient record number').fill(unshared);
  await page.getByLabel('LOINC code').fill('4548-4');
  await page.getByLabel('Test name').fill('Hemoglobin A1c');
  await page.getByLabel('Value', { exact: true }).fill('5.2');
  await page.getByLabel('Unit', { exact: true }).fill('%');
  await page.getByRole('button', { name: 'Post result' }).click();
  await page.getByText(/^No consent: the patient has not allowed this lab/).waitFor({ timeout: 30_000 });
  await checkScreen(page, 'lab-no-consent');
  expect(errors).toEqual([]);
  await page.context().close();
}
