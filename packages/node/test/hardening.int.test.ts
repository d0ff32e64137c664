/**
 * A running node seen from the attacker's side, over real HTTP: guessing a patient's key passphrase (the KDF
 * must not stall the node, guesses are throttled and audited), a bogus purpose of use (refused and audited),
 * /metrics (operators only), and the login page (a clinician's right password without a second factor must
 * look exactly like a wrong one). The data directory's permissions are in dataDirectory.int.test.ts.
 */
import { type AccountId, KEY_PASSPHRASE_THROTTLE, passwordHashesInProgress } from '@medledger/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, pkce } from '../../oidc/test/browser.js';
import { type Harness, openLoginForm } from '../../oidc/test/harness.js';
import { personApiToken } from '../src/consortium/personSignIn.js';
import { type CareSetting, PATIENT_PASSPHRASE, startCareSetting } from './careSetting.js';

const PASSWORD = 'a long and unguessable password';

describe('a node under attack', () => {
  let s: CareSetting;
  let origin: string;
  /** Account ids by test username. */
  const ids: Record<string, string> = {};

  const auditEvents = async (): Promise<Record<string, any>[]> => {
    const events: Record<string, any>[] = [];
    for (let cursor: number | undefined = 0; cursor !== undefined; ) {
      const res = await fetch(`${origin}/audit/events?_count=1000&cursor=${cursor}`, {
        headers: { authorization: `Bearer ${s.tokens.admin}` },
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { entries: { event: Record<string, any> }[]; next?: number };
      events.push(...page.entries.map((e) => e.event));
      cursor = page.next;
    }
    return events;
  };
  const agentId = (event: Record<string, any>) => event.agent?.[0]?.who?.identifier?.value;

  beforeAll(async () => {
    s = await startCareSetting();
    origin = new URL(s.url).origin;
    const hospital = s.hospital;
    // An administrator in person (an account with the admin role, not the node's own token).
    const admin = await hospital.accounts.createAccount({
      username: 'operator',
      displayName: 'Operator',
      role: 'admin',
      organisation: hospital.organisationId,
    });
    s.tokens.operator = (await personApiToken(hospital, admin.id as AccountId)).token;
    // A nurse who can log in with a password but has no second factor enrolled.
    const nurse = await hospital.accounts.createAccount({
      username: 'nurse-without-factor',
      displayName: 'Nurse',
      role: 'nurse',
      organisation: hospital.organisationId,
      password: PASSWORD,
    });
    ids.nurse = nurse.id;
    ids.patient = (await hospital.accounts.findByUsername('patient'))!.id;
    ids.doctor = (await hospital.accounts.findByUsername('doctor'))!.id;
    const registered = await fetch(`${origin}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: 'ward-app',
        name: 'Ward app',
        redirectUris: ['http://127.0.0.1:9/callback'],
        scopes: ['openid', 'fhirUser', 'user/Observation.rs'],
        firstParty: true,
      }),
    });
    expect(registered.status).toBe(201);
  }, 600_000);
  afterAll(async () => {
    await s?.close();
  });

  const signConsent = (passphrase: string) =>
    fetch(`${s.url}/Consent`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${s.tokens.patient}`,
        'content-type': 'application/fhir+json',
        'x-medledger-key-passphrase': passphrase,
      },
      body: JSON.stringify(s.observationConsent()),
    });

  it('checks key passphrases off the event loop, throttles wrong ones even before a right one, audits both', async () => {
    // Five guesses at once. While their KDFs run on the thread pool, the event loop keeps turning (this loop
    // would see no KDF in flight if it ran on the event loop) and the node answers others.
    let settled = false;
    const guesses = Promise.all(
      Array.from({ length: 5 }, (_, i) => signConsent(`wrong guess number ${i}`)),
    ).finally(() => {
      settled = true;
    });
    let sawKdfInFlight = false;
    while (!settled && !sawKdfInFlight) {
      sawKdfInFlight = passwordHashesInProgress() > 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(sawKdfInFlight).toBe(true);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    const answered = await guesses;
    // Attempts are counted before the KDF runs: the free failures are checked (401), the rest are refused.
    expect(answered.map((r) => r.status).sort()).toEqual([
      ...Array(KEY_PASSPHRASE_THROTTLE.freeFailures).fill(401),
      ...Array(5 - KEY_PASSPHRASE_THROTTLE.freeFailures).fill(429),
    ]);
    const bodies = await Promise.all(answered.map((r) => r.json() as Promise<Record<string, any>>));
    expect(bodies.every((b) => b.resourceType === 'OperationOutcome')).toBe(true);

    // Now even the right passphrase waits: a guesser learns nothing from it.
    const throttled = await signConsent(PATIENT_PASSPHRASE);
    expect(throttled.status).toBe(429);
    const retryAfter = Number(throttled.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(KEY_PASSPHRASE_THROTTLE.baseDelayMs / 1000);
    expect((await s.call('doctor', 'GET', `/Observation/${s.ids.observation}`)).status).toBe(404);

    // The window passes (the counters' last attempt moved back by it): the right passphrase signs, and
    // clears the account's counter.
    await s.hospital.db.query(
      "UPDATE identity_login_throttle SET last_attempt_ms = last_attempt_ms - $1 WHERE key LIKE 'a:key-passphrase:%'",
      [KEY_PASSPHRASE_THROTTLE.baseDelayMs],
    );
    expect((await signConsent(PATIENT_PASSPHRASE)).status).toBe(201);
    expect((await s.call('doctor', 'GET', `/Observation/${s.ids.observation}`)).status).toBe(200);
    expect((await signConsent('one more wrong guess')).status).toBe(401);

    const events = (await auditEvents()).filter(
      (e) => agentId(e) === ids.patient && e.extension?.[0]?.valueString === 'POST /fhir/Consent',
    );
    const outcomes = events.map((e) => `${e.outcome} ${e.outcomeDesc ?? ''}`.trim());
    expect(outcomes.filter((o) => o === '4 key passphrase refused')).toHaveLength(
      KEY_PASSPHRASE_THROTTLE.freeFailures + 1,
    );
    expect(outcomes.filter((o) => o === '4 key passphrase attempts throttled')).toHaveLength(
      5 - KEY_PASSPHRASE_THROTTLE.freeFailures + 1,
    );
    expect(outcomes).toContain('0');
  });

  it('refuses a bogus purpose of use with 400, and audits the refusal with the caller', async () => {
    const before = (await auditEvents()).length;
    const refused = await s.call('doctor', 'GET', `/Observation/${s.ids.observation}`, undefined, {
      'x-purpose-of-use': 'BOGUS',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    const [event, ...more] = (await auditEvents()).slice(before).filter((e) => agentId(e) === ids.doctor);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ outcome: '4' });
    expect(agentId(event!)).toBe(ids.doctor);
    expect(event!.extension[0].valueString).toBe('GET /fhir/:type/:id');
    // A valid purpose of use still reads.
    const read = await s.call('doctor', 'GET', `/Observation/${s.ids.observation}`, undefined, {
      'x-purpose-of-use': 'TREAT',
    });
    expect(read.status).toBe(200);
  });

  it('serves /metrics to the node’s operators only', async () => {
    const metrics = (who: string) =>
      fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${s.tokens[who]}` } });
    for (const who of ['patient', 'doctor', 'insurer']) {
      const res = await metrics(who);
      expect(res.status, who).toBe(403);
      const body = (await res.json()) as Record<string, any>;
      expect(body.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(body)).not.toContain('medledger_http_requests_total');
    }
    for (const who of ['admin', 'operator']) {
      const res = await metrics(who);
      expect(res.status, who).toBe(200);
      expect(await res.text()).toContain('medledger_http_requests_total');
    }
    expect((await fetch(`${origin}/metrics`)).status).toBe(401);
  });

  it('answers a clinician’s right password without a second factor exactly like a wrong one', async () => {
    const h = { origin, issuer: `${origin}/oauth` } as Harness;
    const browser = new Browser();
    const { action } = await openLoginForm(h, browser, {
      clientId: 'ward-app',
      redirectUri: 'http://127.0.0.1:9/callback',
      scope: 'openid user/Observation.rs',
      codeChallenge: pkce().challenge,
    });
    const post = async (password: string) => {
      const res = await browser.post(action, { username: 'nurse-without-factor', password, otp: '' });
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
    };
    const wrong = await post('not the password at all');
    const right = await post(PASSWORD);
    expect(wrong.status).toBe(200);
    expect(wrong.body).toContain('name="password"');
    expect(right).toEqual(wrong);

    // The audit trail knows which was which.
    const logins = (await auditEvents()).filter(
      (e) => e.subtype?.[0]?.code === '110122' && agentId(e) === ids.nurse,
    );
    expect(logins.map((e) => e.outcomeDesc)).toEqual([
      'credentials refused: wrong password',
      'credentials refused: no second factor enrolled',
    ]);
  });
});
