/**
 * The patient's record: the hospital writes two glucose results with a reference range for the shared
 * patient; the patient signs in and sees their timeline in words (no codes), the flag against the range and
 * the trend chart; a third result written while the page is open appears without reload (live, through the
 * Subscriptions WebSocket). Accessibility checked and screenshots taken at phone and desktop widths.
 * Uses its own test code (a glucose LOINC no other journey writes), so it does not depend on other journeys.
 */

import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import { type AppConsortium, operatorCall } from '../support/appConsortium.js';
import { accessibilityViolations, DESKTOP, newPage, PHONE, screenshot, signIn } from '../support/browser.js';

function glucose(patientId: string, date: string, value: number) {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: {
      coding: [
        { system: 'http://loinc.org', code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' },
      ],
      text: 'Fasting glucose',
    },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: date,
    valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    referenceRange: [
      {
        low: { value: 70, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
        high: { value: 99, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
      },
    ],
  };
}

export async function recordJourney({
  app,
  browser,
}: {
  app: AppConsortium;
  browser: Browser;
}): Promise<void> {
  const { patient } = app.people;
  const patientId = patient.patientId!;
  await operatorCall(
    app.hospital,
    'POST',
    '/fhir/Observation',
    glucose(patientId, '2026-01-10T08:00:00Z', 92),
  );
  await operatorCall(
    app.hospital,
    'POST',
    '/fhir/Observation',
    glucose(patientId, '2026-03-14T08:00:00Z', 131),
  );

  const timeline = (page: import('playwright-core').Page) => page.locator('.timeline[data-state="ready"]');
  for (const viewport of [PHONE, DESKTOP]) {
    const { page, errors } = await newPage(browser, viewport);
    await signIn(page, patient, '/app/patient');
    await timeline(page).waitFor();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('My record');
    // In words, with the range and its flag; no code in sight.
    const march = page.locator('.entry', { hasText: '131 mg/dL' });
    await expect.poll(() => march.textContent()).toContain('Fasting glucose');
    expect(await march.textContent()).toContain('high');
    expect(await march.textContent()).toContain('normal range 70–99 mg/dL');
    expect(await page.locator('.timeline').textContent()).not.toContain('2345-7');
    // The trend chart, summarised for screen readers, its values in a table.
    const chart = page.getByRole('img', { name: /^Fasting glucose: 2 results/ });
    await chart.waitFor();
    expect(await chart.getAttribute('aria-label')).toContain('Normal range 70 to 99 mg/dL');
    await page.getByText('Values of Fasting glucose', { exact: true }).first().click();
    await page.getByRole('table', { name: 'Values of Fasting glucose' }).waitFor();
    // Live: the status says so, then a new result appears without reload.
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: 20_000 });
    if (viewport === DESKTOP) {
      await operatorCall(
        app.hospital,
        'POST',
        '/fhir/Observation',
        glucose(patientId, '2026-06-02T08:00:00Z', 64),
      );
      await expect
        .poll(() => page.locator('.entry', { hasText: '64 mg/dL' }).count(), { timeout: 20_000 })
        .toBe(1);
      expect(await page.locator('.entry', { hasText: '64 mg/dL' }).textContent()).toContain('low');
      await expect
        .poll(() => page.getByRole('img', { name: /^Fasting glucose: 3 results/ }).count(), {
          timeout: 10_000,
        })
        .toBe(1);
    }
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'patient-record');
    // A kind filter narrows the timeline.
    await page.getByRole('button', { name: 'Immunisations' }).click();
    await expect.poll(() => page.locator('.entry-results').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Immunisations' }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    // The export page answers.
    await page.getByRole('link', { name: 'Export my record' }).click();
    await page.getByRole('heading', { level: 1, name: 'Export my record' }).waitFor();
    if (viewport === DESKTOP) {
      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Download my record (JSON)' }).click();
      const file = await download;
      expect(file.suggestedFilename()).toMatch(/^my-record-\d{4}-\d{2}-\d{2}\.json$/);
      const saved = JSON.parse(
        await (await import('node:fs/promises')).readFile((await file.path())!, 'utf8'),
      ) as { type: string; entry: { resource: { resourceType: string } }[] };
      expect(saved.type).toBe('collection');
      expect(
        saved.entry.filter((e) => e.resource.resourceType === 'Observation').length,
      ).toBeGreaterThanOrEqual(3);
      // FHIR Bulk Data: kick-off, progress, then one NDJSON file per type.
      await page.getByRole('button', { name: 'Prepare bulk export' }).click();
      const save = page.getByRole('button', { name: /^Save my-record-Observation-.*\.ndjson$/ });
      await save.waitFor({ timeout: 30_000 });
      const ndjson = page.waitForEvent('download');
      await save.click();
      const lines = (
        await (await import('node:fs/promises')).readFile((await (await ndjson).path())!, 'utf8')
      )
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { resourceType: string });
      expect(lines.length).toBeGreaterThanOrEqual(3);
      expect(lines.every((r) => r.resourceType === 'Observation')).toBe(true);
    }
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'patient-export');
    expect(errors).toEqual([]);
    await page.context().close();
  }
}
