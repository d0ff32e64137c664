/**
 * The clinician's journey: the doctor signs in (password and TOTP), searches for a patient by name and finds
 * no one they may see (guidance, no hint of hidden data), opens the record by the number the registration
 * desk gave the patient, is refused, breaks the glass with a reason (the reason is mandatory), reads the chart
 * with the emergency countdown running, is told that a note needs consent to be written (emergency access
 * opens reading only), finds the patient by name now, ends the session and sees its end.
 * Each main screen is checked with axe and photographed at phone and desktop widths (the same page resized,
 * so the doctor signs in once). The patient is this journey's own, registered through the admin API.
 */
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, operatorCall } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot, signIn } from '../support/browser.js';

const FAMILY = 'Okonkwo-Reyes';

/** axe and a screenshot at both widths, ending at desktop width. */
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

export async function clinicianJourney({ app, browser }: { app: AppConsortium; browser: Browser }) {
  const registered = await operatorCall(app.hospital, 'POST', '/admin/accounts', {
    username: 'pat.okonkwo',
    displayName: 'Ada Okonkwo-Reyes',
    role: 'patient',
    password: 'a synthetic patient for the clinician journey 1',
    demographics: {
      name: [{ family: FAMILY, given: ['Ada'] }],
      gender: 'female',
      birthDate: '1984-03-09',
    },
  });
  const recordNumber = registered.patient.id as string;

  const { page, errors } = await newPage(browser, DESKTOP);
  await signIn(page, app.people.doctor, '/app/clinician');

  // The patient has shared nothing with the hospital's doctors: searching finds no one, and says what to do.
  await page.getByLabel('Name', { exact: true }).fill(FAMILY);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('heading', { name: 'No patient you may see matches' }).waitFor();
  expect(await page.getByText('ask for consent or use emergency access').first().isVisible()).toBe(true);
  await checkScreen(page, 'clinician-search');

  // By the record number the registration desk gave the patient: refused, with the way forward.
  await page.getByLabel('Record number').fill(recordNumber);
  await page.getByRole('button', { name: 'Open record' }).click();
  await page.getByRole('heading', { level: 1, name: 'No access to this record' }).waitFor();

  // Emergency access: the reason is mandatory.
  await page.getByRole('button', { name: 'Use emergency access' }).click();
  const dialog = page.getByRole('dialog', { name: 'Use emergency access' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Open emergency access' }).click();
  await dialog.getByText(/State why you need emergency access/).waitFor();
  expect(await dialog.getByLabel('Reason (required)').getAttribute('aria-invalid')).toBe('true');
  await checkScreen(page, 'break-glass');
  await dialog
    .getByLabel('Reason (required)')
    .fill('Unconscious on arrival in the emergency department; allergies and medication unknown');
  await dialog.getByRole('button', { name: 'Open emergency access' }).click();

  // The chart opens, with the session's countdown and what the doctor may now see.
  await page.getByRole('heading', { level: 1, name: `Ada ${FAMILY}` }).waitFor({ timeout: 30_000 });
  const timer = page.getByRole('timer');
  await timer.waitFor();
  expect(await timer.textContent()).toMatch(/\d+ min \d{2} s left|1 h 00 min left/);
  await page.getByRole('heading', { name: /^Emergency access until \d{2}:\d{2}$/ }).waitFor();
  await page
    .getByText(/under emergency access, until \d{2}:\d{2}\./)
    .first()
    .waitFor();
  await checkScreen(page, 'clinician-chart');

  // Writing: the check is next to the field; emergency access opens reading only, and the refusal says so.
  await page.getByText('Clinical note', { exact: true }).click();
  await page.getByRole('button', { name: 'Save note' }).click();
  await page.getByText('Write the note.').waitFor();
  expect(await page.getByLabel('Note', { exact: true }).getAttribute('aria-invalid')).toBe('true');
  await page.getByLabel('Note', { exact: true }).fill('Seen in the emergency department; stable.');
  await page.getByRole('button', { name: 'Save note' }).click();
  await page.getByText(/^The patient’s consent does not let your organisation add this/).waitFor();

  // While the session lasts, the patient is found by name.
  await page.getByRole('link', { name: 'Patients' }).click();
  await page.getByLabel('Name', { exact: true }).fill(FAMILY);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: `Ada ${FAMILY}` }).click();
  await timer.waitFor();

  // Ended early: the end is shown, and the record is closed again.
  await page.getByRole('button', { name: 'End emergency access' }).click();
  await page.getByText(/^Emergency access ended at \d{2}:\d{2}\.$/).waitFor({ timeout: 30_000 });
  await page.getByRole('heading', { level: 1, name: 'No access to this record' }).waitFor();
  expect(await page.getByRole('timer').count()).toBe(0);
  expect(errors).toEqual([]);
  await page.context().close();
}
