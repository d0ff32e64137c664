/**
 * The web app end to end: real nodes of a local consortium on a real chain, Debian's Chromium. One
 * consortium for the whole file (starting one costs most of the time); each journey signs its people in.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activationJourney } from './journeys/activation.js';
import { clinicianJourney } from './journeys/clinician.js';
import { consolesJourney } from './journeys/consoles.js';
import { labJourney } from './journeys/lab.js';
import { landingJourney } from './journeys/landing.js';
import { passkeyJourney } from './journeys/passkey.js';
import { prescriptionsJourney } from './journeys/prescriptions.js';
import { recordJourney } from './journeys/record.js';
import { trustJourney } from './journeys/trust.js';
import { type AppConsortium, startAppConsortium } from './support/appConsortium.js';
import {
  accessibilityViolations,
  DESKTOP,
  launchBrowser,
  newPage,
  PHONE,
  screenshot,
  signIn,
} from './support/browser.js';

let app: AppConsortium;
let browser: Browser;

beforeAll(async () => {
  [app, browser] = await Promise.all([startAppConsortium(), launchBrowser()]);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

// A journey is many page loads; on a busy two-core machine one may take minutes, which is not a failure.
const JOURNEY = { timeout: 300_000 };

describe('the app shell', JOURNEY, () => {
  it('serves the app at / under a strict Content-Security-Policy, and leaves every other path to the API', async () => {
    const page = await fetch(`${app.hospital.origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="root"></div>');
    const deep = await fetch(`${app.hospital.origin}/app/patient/consent`);
    expect(deep.status).toBe(200);
    const missing = await fetch(`${app.hospital.origin}/no-such-thing`);
    // Outside the app, the API's rules hold: no credential, no answer.
    expect(missing.status).toBe(401);
    expect((await missing.json()).resourceType).toBe('OperationOutcome');
  });

  it('shows a newcomer what the app is, with sign-in and activation, accessible at both widths', () =>
    landingJourney({ app, browser }));

  it('signs a patient in through the node’s provider and lands on their portal', async () => {
    for (const viewport of [PHONE, DESKTOP]) {
      const { page, errors } = await newPage(browser, viewport);
      await signIn(page, app.people.patient, '/app/patient');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toBeTruthy();
      expect(await accessibilityViolations(page)).toEqual([]);
      await screenshot(page, 'patient-home');
      expect(errors).toEqual([]);
      await page.context().close();
    }
  });

  it('a doctor adds a passkey, signs out of the provider too, and signs in with password and passkey', () =>
    passkeyJourney({ app, browser }));

  it('activates a patient with their own password and browser-held keys, which encrypt their uploads', () =>
    activationJourney({ app, browser }));
});

describe('the consoles', JOURNEY, () => {
  it('an administrator creates a doctor and enrols their TOTP; an auditor reads the log, verifies it and reviews a break-glass session', () =>
    consolesJourney({ app, browser }));
  it('lets a patient share with the lab by name, check every access-log proof (a tampered one fails) and stop sharing', () =>
    trustJourney({ app, browser }));
  it('a doctor finds no patient they may see, breaks the glass with a reason, reads the chart under a countdown and ends the session', () =>
    clinicianJourney({ app, browser }));

  it('a lab technician posts a result and a CSV batch under the patient’s consent, and is told when there is none', () =>
    labJourney({ app, browser }));
  it('shows the patient their record in words, with ranges and trends, and a new result live', () =>
    recordJourney({ app, browser }));
});

describe('prescriptions', JOURNEY, () => {
  it('a doctor sees an interaction card before signing and takes its suggestion; the patient routes the prescription and gets a token; the pharmacist dispenses', () =>
    prescriptionsJourney({ app, browser }));
});
