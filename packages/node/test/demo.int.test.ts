/**
 * The demo of issue 5 as an integration test: one chain, a hospital, a lab, a pharmacy, an insurer and a
 * regulator; consent to the lab, a lab result, the hospital reading it through the exchange, revocation,
 * break-glass with the patient's notice and the auditor's review — the very function `medledger demo` runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MEMBERS, demoSyntheaPatient } from '../src/consortium/demo.js';
import { runDemoScenario } from '../src/consortium/demoScenario.js';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { consecutiveFreePorts } from '../src/exchange/exchangeScenario.js';

describe('the local consortium demo', () => {
  let dir: string;
  let consortium: LocalConsortium;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medledger-demo-'));
    consortium = await startLocalConsortium({
      dir,
      basePort: await consecutiveFreePorts(DEMO_MEMBERS.length),
      members: DEMO_MEMBERS,
      keystorePassphrase: 'demo test passphrase',
      logLevel: 'silent',
    });
  }, 240_000);
  afterAll(async () => {
    await consortium?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('walks through consent, a lab result, exchange, revocation, break-glass and its review', async () => {
    const result = await runDemoScenario(consortium, { syntheaPatient: demoSyntheaPatient() });
    expect(result.steps.map((s) => s.step)).toEqual([
      'people',
      'patient',
      'consent',
      'lab result',
      'exchange',
      'revocation',
      'break-glass',
      'review',
      'audit',
    ]);
  }, 420_000);
});
