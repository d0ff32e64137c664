/**
 * Prescriptions end to end, across the hospital, the pharmacy and the chain. The journey has its own licensed
 * doctor and its own patient (born 1948, on warfarin — the HL7 PDDI-CDS warfarin–NSAID scenario, with the
 * example's warfarin coding from shared/data). The patient shares their medicines and personal details with
 * the hospital from the portal; the doctor drafts ibuprofen and sees the interaction card before signing, is
 * refused when signing anyway (the alert listed, an override asked for), takes the card's suggestion
 * (acetaminophen) and signs: the on-chain id is shown; a second ibuprofen order is signed over the alert with
 * a reason. The patient sees the prescription with its fills,
 * sends it to the pharmacy and gets a one-time token (text and QR code). The pharmacist finds it in the
 * queue, fetches and verifies it with the token (a second use is refused in words) and by the route, is
 * told why a too-large quantity is refused, dispenses, and the fills left
 * go down — in the pharmacist's queue and in the patient's list. The doctor then cancels it and the patient
 * sees it cancelled. axe and screenshots at 390 and 1280 px.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, createPerson, operatorCall } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot, signIn } from '../support/browser.js';

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** The warfarin coding of the PDDI-CDS warfarin–NSAID example request. */
function warfarinCoding(): { system: string; code: string; display?: string } {
  const text = readFileSync(
    new URL(
      '../../../../../shared/data/drugs/pddi-cds/cds-hooks-requests/request-warfarin-nsaid-scenario-02.json',
      import.meta.url,
    ),
    'utf8',
  );
  let found: { system: string; code: string; display?: string } | undefined;
  JSON.parse(text, (_key, value) => {
    if (!found && value && value.system === RXNORM && value.code === '855295') found = value;
    return value;
  });
  if (!found) throw new Error('the PDDI-CDS example lost its warfarin coding');
  return found;
}

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

export async function prescriptionsJourney({ app, browser }: { app: AppConsortium; browser: Browser }) {
  // The journey's own doctor, licensed by the regulator, and its own patient.
  const doctor = await createPerson(app.hospital, 'dr.rx', 'doctor', { displayName: 'Dr Rosa Xu' });
  await operatorCall(app.regulator, 'POST', '/admin/licences', {
    member: doctor.memberAddress,
    name: doctor.displayName,
    qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code: 'MD' },
    expiresAt: new Date(Date.now() + 365 * 24 * 3600_000).toISOString(),
  });
  const patient = await createPerson(app.hospital, 'pat.rx', 'patient', {
    displayName: 'Wen Halloran',
    demographics: { name: [{ family: 'Halloran', given: ['Wen'] }], gender: 'male', birthDate: '1948-05-02' },
  });
  const patientId = patient.patientId!;
  await operatorCall(app.hospital, 'POST', '/fhir/MedicationRequest', {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    medicationCodeableConcept: { coding: [warfarinCoding()] },
    authoredOn: new Date(Date.now() - 30 * 24 * 3600_000).toISOString(),
    dosageInstruction: [{ text: 'One tablet daily' }],
  });

  // The patient shares their medicines and personal details with the hospital, for treatment.
  const p = await newPage(browser, DESKTOP);
  await signIn(p.page, patient, '/app/patient');
  await p.page.goto(`${patient.origin}/app/patient/consent`);
  await p.page.getByRole('heading', { level: 1, name: 'Sharing your record' }).waitFor();
  await p.page.getByLabel('Who').selectOption(app.hospital.organisationId);
  await p.page.getByRole('checkbox', { name: /Your medicines/ }).check();
  await p.page.getByRole('checkbox', { name: /Your personal details/ }).check();
  await p.page.getByRole('radio', { name: /See and add to them/ }).check();
  await p.page.getByLabel('Until').fill(new Date(Date.now() + 90 * 24 * 3600_000).toISOString().slice(0, 10));
  await p.page.getByLabel('Your password').fill(patient.password);
  await p.page.getByRole('button', { name: 'Sign and share' }).click();
  await p.page.locator('article.grant', { hasText: 'medicines' }).waitFor({ timeout: 60_000 });

  // The doctor drafts ibuprofen: the interaction card is shown before signing.
  const d = await newPage(browser, DESKTOP);
  await signIn(d.page, doctor, '/app/clinician');
  await d.page.goto(`${doctor.origin}/app/clinician/patients/${patientId}`);
  await d.page.getByRole('heading', { level: 1, name: 'Wen Halloran' }).waitFor({ timeout: 30_000 });
  const prescribe = d.page.locator('section.prescribe');
  await prescribe.getByLabel('Drug').selectOption('197805');
  await prescribe.getByLabel('Quantity to dispense').fill('20');
  await prescribe.getByLabel('Repeats').fill('1');
  const card = prescribe.locator('.cds-card', { hasText: /warfarin/i });
  await card.waitFor({ timeout: 30_000 });
  expect(await card.locator('.cds-indicator').textContent()).toMatch(/^(Critical|Warning)$/);
  await checkScreen(d.page, 'prescribe-card');

  // Signing anyway is refused: the alert is listed and a reason is asked for; nothing is recorded.
  await prescribe.getByRole('button', { name: 'Sign and send' }).click();
  await prescribe
    .getByText(/^Not sent: 1 interaction alert\(s\) must be resolved$/)
    .waitFor({ timeout: 60_000 });
  await prescribe.getByRole('button', { name: 'Override and send' }).click();
  await prescribe.getByText('Choose or type why you override this alert, or change the order.').waitFor();
  await checkScreen(d.page, 'prescribe-refused');

  // The card's suggestion changes the draft to acetaminophen; no card remains; signed.
  await card.getByRole('button', { name: /acetaminophen/i }).click();
  await prescribe.getByText(/^The order now names Acetaminophen 500 MG Oral Tablet\./).waitFor();
  await prescribe
    .getByText('No interaction found with the patient’s medications you may see.')
    .waitFor({ timeout: 30_000 });
  await prescribe.getByRole('button', { name: 'Sign and send' }).click();
  const signed = prescribe.getByText(/^Prescription signed and recorded on the ledger\./);
  await signed.waitFor({ timeout: 60_000 });
  const prescriptionId = (await prescribe.locator('.notice-ok code').textContent())!;
  expect(prescriptionId).toMatch(/^0x[0-9a-f]{64}$/);
  const list = d.page.locator('.rx-item', { hasText: 'Acetaminophen 500 MG Oral Tablet' });
  await list.getByRole('button', { name: 'Cancel prescription' }).waitFor({ timeout: 30_000 });
  // The warfarin written as plain FHIR is in the list too, but not cancellable on the ledger.
  const warfarin = d.page.locator('.rx-item', { hasText: 'Warfarin' });
  await warfarin.getByText('Recorded in the chart only: not a prescription on the ledger.').waitFor();
  expect(await warfarin.getByRole('button', { name: 'Cancel prescription' }).count()).toBe(0);
  await checkScreen(d.page, 'prescribe-signed');

  // A second order, ibuprofen again, signed over the alert with a reason: the override is what the node reads.
  await prescribe.getByLabel('Drug').selectOption('197805');
  await card.waitFor({ timeout: 30_000 });
  await prescribe.getByRole('button', { name: 'Sign and send' }).click();
  await prescribe
    .getByText(/^Not sent: 1 interaction alert\(s\) must be resolved$/)
    .waitFor({ timeout: 60_000 });
  await prescribe.getByLabel('Reason for overriding').fill('Patient will be monitored');
  await prescribe.getByRole('button', { name: 'Override and send' }).click();
  await signed.waitFor({ timeout: 60_000 });
  const overridden = (await prescribe.locator('.notice-ok code').textContent())!;
  expect(overridden).toMatch(/^0x[0-9a-f]{64}$/);
  expect(overridden).not.toBe(prescriptionId);
  await d.page.locator('.rx-item', { hasText: 'Ibuprofen 400 MG Oral Tablet' }).waitFor({ timeout: 30_000 });

  // The patient sees it with its fills, sends it to the pharmacy and gets a one-time token.
  await p.page.getByRole('link', { name: 'Medications' }).click();
  const mine = p.page.locator('.rx-item', { hasText: 'Acetaminophen 500 MG Oral Tablet' });
  await mine.waitFor({ timeout: 30_000 });
  await mine.getByText('2 fills left of 2').waitFor();
  await mine.getByLabel('Pharmacy').selectOption(app.pharmacy.organisationId);
  await mine.getByRole('button', { name: 'Send to this pharmacy' }).click();
  await mine.getByText('Sent. The pharmacy sees it in its queue.').waitFor({ timeout: 60_000 });
  await mine.getByRole('button', { name: 'Get a prescription token' }).click();
  await mine.getByRole('img', { name: 'Your prescription token as a QR code' }).waitFor({ timeout: 30_000 });
  const token = (await mine.locator('.token-text').textContent())!;
  expect(token).toBeTruthy();
  await mine.getByText(/fetch this prescription once/).waitFor();
  await checkScreen(p.page, 'patient-medications');

  // The pharmacist: in the queue, fetched and verified; a too-large quantity refused in words; dispensed.
  const ph = await newPage(browser, DESKTOP);
  await signIn(ph.page, app.people.pharmacist, '/app/pharmacy');
  const entry = ph.page.locator('.rx-item', { hasText: prescriptionId });
  await expect
    .poll(
      async () => {
        if ((await entry.count()) === 0)
          await ph.page.getByRole('button', { name: 'Refresh the queue' }).click();
        return entry.count();
      },
      { timeout: 60_000, interval: 1_000 },
    )
    .toBe(1);
  // The token the patient shows works once: fetched and verified, then refused with what to ask for.
  const byToken = ph.page.locator('form', { hasText: 'Fetch by token' });
  await byToken.getByLabel('Prescription token').fill(token);
  await byToken.getByRole('button', { name: 'Fetch and verify' }).click();
  await entry.getByText(/^Verified: matches the ledger/).waitFor({ timeout: 60_000 });
  await byToken.getByLabel('Prescription token').fill(token);
  await byToken.getByRole('button', { name: 'Fetch and verify' }).click();
  await byToken
    .getByText(/^No such prescription is available to your pharmacy: .* or for a new token\.$/)
    .waitFor({
      timeout: 60_000,
    });
  // By the route, as often as needed.
  await entry.getByRole('button', { name: 'Fetch and verify again' }).click();
  await entry.getByText(/^Verified: matches the ledger/).waitFor({ timeout: 60_000 });
  await entry.getByRole('heading', { name: 'Acetaminophen 500 MG Oral Tablet' }).waitFor();
  await entry.getByLabel('Quantity to dispense').fill('500');
  await entry.getByRole('button', { name: 'Dispense' }).click();
  await entry
    .getByText(
      /^The ledger refused: a quantity of 500 exceeds the 20 .* Dispense at most the quantity that is left\.$/,
    )
    .waitFor({ timeout: 60_000 });
  await checkScreen(ph.page, 'pharmacy-refused');
  await entry.getByLabel('Quantity to dispense').fill('10');
  await entry.getByRole('button', { name: 'Dispense' }).click();
  await entry.getByText('Dispensed and recorded on the ledger.').waitFor({ timeout: 60_000 });
  await entry.getByText('1 fill left', { exact: true }).waitFor({ timeout: 30_000 });
  await checkScreen(ph.page, 'pharmacy-queue');
  expect(ph.errors).toEqual([]);
  await ph.page.context().close();

  // The patient's list shows one fill fewer.
  await p.page.reload();
  await mine.getByText('1 fill left of 2').waitFor({ timeout: 30_000 });
  expect(await mine.textContent()).toContain('Quantity left10');

  // The doctor cancels it: the patient sees it cancelled, with nothing left to route or fetch.
  await list.getByRole('button', { name: 'Cancel prescription' }).click();
  await list.getByRole('button', { name: 'Yes, cancel it' }).click();
  await list.getByText('cancelled', { exact: true }).waitFor({ timeout: 60_000 });
  expect(d.errors).toEqual([]);
  await d.page.context().close();
  await p.page.reload();
  await mine.getByText('Cancelled by the prescriber').waitFor({ timeout: 30_000 });
  expect(await mine.getByRole('button', { name: 'Get a prescription token' }).count()).toBe(0);
  expect(p.errors).toEqual([]);
  await p.page.context().close();
}
