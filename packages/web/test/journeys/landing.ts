/**
 * The front page: a newcomer opening the URL `npm start` printed learns what the app is, finds "Sign in" and
 * the activation link, by keyboard too; no serious or critical accessibility violation at phone and desktop
 * widths; screenshots of both.
 */
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import type { AppConsortium } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot } from '../support/browser.js';

export async function landingJourney(ctx: { app: AppConsortium; browser: Browser }): Promise<void> {
  for (const viewport of [PHONE, DESKTOP]) {
    const { page, errors } = await newPage(ctx.browser, viewport);
    await page.goto(`${ctx.app.hospital.origin}/`);
    await page.getByRole('heading', { level: 1, name: 'medledger' }).waitFor();
    expect(await page.getByRole('main').textContent()).toMatch(/Patients see their record.*Doctors, labs/s);
    const activate = page.getByRole('link', { name: 'Activate your account' });
    expect(await activate.getAttribute('href')).toBe('/app/activate');
    // The first Tab stops on "Sign in".
    await page.keyboard.press('Tab');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Sign in');
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'landing');
    expect(errors).toEqual([]);
    await page.context().close();
  }
}
