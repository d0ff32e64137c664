/**
 * The demo as an integration test: one chain, a hospital, a lab, a pharmacy, an insurer and a
 * regulator; consent to the lab, a lab result, the hospital reading it through the exchange, revocation,
 * break-glass with the patient's notice and the auditor's review — the very function `medledger demo` runs —
 * and the sign-in table it prints: every person signs in to the web app's client with exactly what is printed.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { totpCode } from '@medledger/identity';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli.js';
import { DEMO_MEMBERS, demoSyntheaPatient } from '../src/consortium/demo.js';
import { formatDemoPeople, secretOfUri, writeDemoPeople } from '../src/consortium/demoPeople.js';
import { runDemoScenario } from '../src/consortium/demoScenario.js';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { signInAtNode } from '../src/consortium/personSignIn.js';
import { consecutiveFreePorts } from '../src/exchange/exchangeScenario.js';
import { parseTotpInput, totpLine } from '../src/totpCommand.js';
import { WEB_APP_CLIENT_ID } from '../src/web/webAppFeature.js';
import { TEST_BLOCK_TIME, TEST_START_OPTIONS } from './helpers.js';

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
      blockTime: TEST_BLOCK_TIME,
      startOptions: TEST_START_OPTIONS,
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

    // The table `medledger demo` prints: the four people of the story and an administrator per node.
    const people = result.people;
    expect(people.map((p) => `${p.role}@${p.node}`)).toEqual([
      'patient@hospital',
      'doctor@hospital',
      'auditor@hospital',
      'lab@lab',
      ...DEMO_MEMBERS.map((m) => `admin@${m.name}`),
    ]);
    const printed = formatDemoPeople(people);
    const file = writeDemoPeople(dir, people);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    for (const p of people) {
      const origin = consortium.nodes.find((n) => n.name === p.node)!.node.fhirUrl.replace(/\/fhir$/, '');
      expect(p.appUrl).toBe(`${origin}/`);
      for (const shown of [p.appUrl, p.username, p.password]) expect(printed).toContain(shown);
      expect(Boolean(p.otpauthUri)).toBe(p.role !== 'patient');
      let otp: string | undefined;
      if (p.otpauthUri) {
        expect(printed).toContain(secretOfUri(p.otpauthUri));
        expect(printed).toContain(`npm run medledger -- totp '${p.otpauthUri}'`);
        // Administrators were never signed in: the code `medledger totp` prints now is the one to type. The
        // others signed in during the walk-through, and a code's step is accepted once: the node takes the
        // next step's code too (±1 step), as a person would after waiting out the seconds shown.
        otp =
          p.role === 'admin'
            ? totpLine(p.otpauthUri, Date.now()).split(' ')[0]!
            : totpCode(parseTotpInput(p.otpauthUri), Date.now() + 30_000);
      }
      // Signed in as the web app signs people in: its client, its redirect URI, its scopes.
      const accessToken = await signInAtNode({
        origin,
        clientId: WEB_APP_CLIENT_ID,
        redirectUri: `${origin}/app/callback`,
        scope: 'openid fhirUser user/*.cruds patient/*.cruds',
        username: p.username,
        password: p.password,
        ...(otp ? { otp } : {}),
      });
      const res = await fetch(`${origin}/account`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(res.status).toBe(200);
      const { account } = (await res.json()) as { account: { username: string; role: string } };
      expect(account).toMatchObject({ username: p.username, role: p.role });
    }
  }, 420_000);

  it('creates a first administrator from the command line, who signs in to the web app with what it printed', async () => {
    const hospital = consortium.nodes.find((n) => n.name === 'hospital')!.node;
    const origin = new URL(hospital.fhirUrl).origin;
    const lines: string[] = [];
    const refusals: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void refusals.push(line));
    try {
      const token = readFileSync(hospital.adminTokenFile!, 'utf8').trim();
      await main(['admin', 'create', '--username', 'alice', '--url', hospital.fhirUrl, '--token', token]);
      expect(refusals).toEqual([]);
      expect(process.exitCode ?? 0).toBe(0);
      const printed = lines.join('\n');
      const password = /initial password\s+(\S+)/.exec(printed)?.[1];
      const uri = /otpauth URI\s+(\S+)/.exec(printed)?.[1];
      expect(printed).toContain(`${origin}/`);
      expect(password && uri).toBeTruthy();
      lines.length = 0;
      await main(['totp', uri!]);
      const otp = /^(\d{6}) /.exec(lines[0] ?? '')?.[1];
      expect(otp).toBeDefined();
      const accessToken = await signInAtNode({
        origin,
        clientId: WEB_APP_CLIENT_ID,
        redirectUri: `${origin}/app/callback`,
        scope: 'openid fhirUser user/*.cruds patient/*.cruds',
        username: 'alice',
        password: password!,
        otp: otp!,
      });
      const res = await fetch(`${origin}/account`, { headers: { authorization: `Bearer ${accessToken}` } });
      const { account } = (await res.json()) as {
        account: { role: string; secondFactors: { totp: boolean } };
      };
      expect(account).toMatchObject({ role: 'admin', secondFactors: { totp: true } });
    } finally {
      log.mockRestore();
      error.mockRestore();
      process.exitCode = undefined;
    }
  });
});
