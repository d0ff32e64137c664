/**
 * The browser side of the journeys: Debian's Chromium driven by playwright-core, a page per viewport, sign-in
 * through the node's own login page, an axe-core accessibility check (WCAG 2.2 A/AA rules) and screenshots
 * written as test artifacts (packages/web/test-results/, not committed).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { totpCode } from '@medledger/identity';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Person } from './appConsortium.js';

export const CHROMIUM_PATH = process.env.MEDLEDGER_CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screens/', import.meta.url));

export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1280, height: 800 } as const;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
  });
}

/** A fresh context (own cookies and storage) and page; page errors are collected for diagnosis. */
export async function newPage(
  browser: Browser,
  viewport: { width: number; height: number } = DESKTOP,
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/**
 * Signs a person in the way they would: the app's front page, "Sign in", the node's login form (password and,
 * for staff, the current TOTP code), back in the app at `expectPath` (a prefix).
 */
export async function signIn(page: Page, person: Person, expectPath = '/app/'): Promise<void> {
  await page.goto(`${person.origin}/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/oauth\/interaction\//);
  await page.getByLabel('Username').fill(person.username);
  await page.getByLabel('Password').fill(person.password);
  if (person.totp) await page.getByLabel(/One-time code/).fill(totpCode(person.totp, Date.now()));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(
    (url) => url.pathname.startsWith(expectPath) && !url.pathname.startsWith('/app/callback'),
  );
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** The serious and critical WCAG 2.2 A/AA violations on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(
    () => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined',
  );
  // Injected through the CDP, so the page's Content-Security-Policy (script-src 'self') stays as it is.
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> } })
      .axe;
    return axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
      resultTypes: ['violations'],
    });
  })) as { violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
}

/** Writes `<name>-<width>.png` under SCREENSHOTS (full page). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  const path = `${SCREENSHOTS}${name}-${width}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
