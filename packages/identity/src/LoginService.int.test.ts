import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AccountAuthority as OidcAccountAuthority } from '../../oidc/src/AccountAuthority.js';
import { backends } from '../../storage/test/databases.js';
import { FAST_COST, newStore, PASSWORD, sharedDatabase, TestClock, unique } from '../test/fixture.js';
import { SoftAuthenticator } from '../test/softAuthenticator.js';
import { AccountStore, type NewAccount } from './AccountStore.js';
import {
  accountAuthority,
  type LoginAttempt,
  type LoginRequest,
  LoginService,
  type LoginServiceOptions,
} from './LoginService.js';
import { ACCOUNT_THROTTLE, LoginThrottle, type ThrottlePolicy } from './LoginThrottle.js';
import { parsePasswordHash, verifyPassword } from './passwords.js';
import { totpCode } from './totp.js';
import { WebAuthnService } from './webauthn.js';

const ORIGIN = 'https://node.clinic.example';
const IP = { ip: '198.51.100.20' };

/** The error a promise rejects with (fails the test if it resolves). */
async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  return p.then(
    () => expect.fail('expected a refusal'),
    (e: { code: string; message: string }) => e,
  );
}

describe.each(await backends())('LoginService on $name', (backend) => {
  const database = sharedDatabase(backend);

  /** Tests of other behaviour make many failed attempts in a row: they get a throttle that allows them. */
  const LENIENT = { ...ACCOUNT_THROTTLE, freeFailures: 50, lockoutAfter: 100 };

  async function setUp(
    options: {
      requireSecondFactorForPrivileged?: boolean;
      throttle?: ThrottlePolicy;
      onAttempt?: LoginServiceOptions['onAttempt'];
    } = {},
  ) {
    const clock = new TestClock();
    const db = await database();
    const store = newStore(db, clock);
    const { throttle: policy, ...loginOptions } = options;
    const throttle = new LoginThrottle(db, { clock: clock.now, account: policy ?? LENIENT });
    const webauthn = new WebAuthnService(store, {
      rpID: 'node.clinic.example',
      rpName: 'Clinic',
      origins: [ORIGIN],
      clock: clock.now,
    });
    const login = new LoginService(store, throttle, { webauthn, ...loginOptions });
    const create = (overrides: Partial<NewAccount> = {}) =>
      store.createAccount({
        username: unique('user'),
        displayName: 'Someone',
        role: 'insurer',
        organisation: 2,
        password: PASSWORD,
        ...overrides,
      });
    // Each test logs in from its own address, so address counters of other tests do not interfere.
    const ip = { ip: `203.0.113.${Math.floor(Math.random() * 250)}` };
    return { clock, db, store, throttle, webauthn, login, create, ip };
  }

  it('logs in with the password, case-insensitively by username', async () => {
    const { login, create, ip } = await setUp();
    const account = await create();
    const result = await login.login({ username: account.username.toUpperCase(), password: PASSWORD }, ip);
    expect(result.account.id).toBe(account.id);
    expect(result.amr).toEqual(['pwd']);
  });

  it('tells onAttempt of every attempt before answering, naming the account when the username matched', async () => {
    const attempts: LoginAttempt[] = [];
    let failAudit = false;
    const { login, create, ip } = await setUp({
      onAttempt: async (a) => {
        if (failAudit) throw new Error('audit unavailable');
        attempts.push(a);
      },
    });
    const account = await create();
    await login.login({ username: account.username, password: PASSWORD }, ip);
    await expect(login.login({ username: account.username, password: 'wrong' }, ip)).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    await expect(login.login({ username: unique('nobody'), password: PASSWORD }, ip)).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    expect(attempts).toEqual([
      { success: true, accountId: account.id, amr: ['pwd'], ip: ip.ip },
      { success: false, accountId: account.id, ip: ip.ip, reason: 'wrong password' },
      { success: false, ip: ip.ip, reason: 'unknown account' },
    ]);
    failAudit = true; // an attempt that cannot be audited does not log anyone in
    await expect(login.login({ username: account.username, password: PASSWORD }, ip)).rejects.toThrow(
      'audit unavailable',
    );
  });

  it('answers unknown user, wrong password, disabled and password-less accounts with one error', async () => {
    const { login, create, store, ip } = await setUp();
    const account = await create();
    const disabled = await create();
    await store.setDisabled(disabled.id, true);
    const tokenOnly = await create({ password: undefined as never });
    const attempts: LoginRequest[] = [
      { username: unique('nobody'), password: PASSWORD },
      { username: account.username, password: `${PASSWORD}!` },
      { username: account.username, password: '' },
      { username: disabled.username, password: PASSWORD },
      { username: tokenOnly.username, password: PASSWORD },
      { username: '', password: PASSWORD },
      { username: 'x'.repeat(2000), password: PASSWORD },
      { username: account.username, password: 'x'.repeat(2000) },
      { username: 42, password: PASSWORD } as never,
      null as never,
    ];
    const errors = [];
    for (const request of attempts) errors.push(await refusal(login.login(request, ip)));
    for (const error of errors) {
      expect(error).toMatchObject({
        code: 'MDL_INVALID_CREDENTIAL',
        message: 'invalid username or credentials',
      });
    }
  });

  it('spends the password-hashing time on unknown usernames too: one check at the same cost', async () => {
    const clock = new TestClock();
    const db = await database();
    const store = new AccountStore(db, {
      secretKey: randomBytes(32),
      passwordCost: { ln: 12, r: 8, p: 1 },
      clock: clock.now,
    });
    // Every password check, with the cost of the hash it was checked against and its answer.
    const checks: { cost: unknown; ok: boolean }[] = [];
    const login = new LoginService(store, new LoginThrottle(db, { clock: clock.now }), {
      verifyPassword: async (password, phc) => {
        const ok = await verifyPassword(password, phc);
        checks.push({ cost: parsePasswordHash(phc)?.cost, ok });
        return ok;
      },
    });
    const account = await store.createAccount({
      username: unique('timed'),
      displayName: 'Timed',
      role: 'insurer',
      organisation: 2,
      password: PASSWORD,
    });
    const attempt = async (username: string) => {
      const before = checks.length;
      const error = await refusal(
        login.login({ username, password: 'wrong password here' }, { ip: `192.0.2.${before + 1}` }),
      );
      expect(error).toMatchObject({
        code: 'MDL_INVALID_CREDENTIAL',
        message: 'invalid username or credentials',
      });
      return checks.slice(before);
    };
    const expected = [{ cost: store.passwordCost, ok: false }];
    expect(await attempt(unique('ghost'))).toEqual(expected);
    expect(await attempt(account.username)).toEqual(expected);
    expect(await attempt(unique('ghost'))).toEqual(expected);
    expect(parsePasswordHash((await store.loginRecord(account.username))!.passwordHash!)?.cost).toEqual(
      store.passwordCost,
    );
  });

  it('requires an enrolled TOTP code, once', async () => {
    const { login, create, store, clock, ip } = await setUp();
    const account = await create();
    const { secret } = await store.beginTotpEnrolment(account.id);
    expect(await store.confirmTotpEnrolment(account.id, totpCode(secret, clock.ms))).toBe(true);
    clock.advance(30_000);
    const base = { username: account.username, password: PASSWORD };
    for (const request of [
      base,
      { ...base, totp: '000000' },
      { ...base, totp: 'abc' },
      { ...base, password: 'wrong password!', totp: totpCode(secret, clock.ms) },
    ]) {
      expect(await refusal(login.login(request, ip))).toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
    }
    const code = totpCode(secret, clock.ms);
    const result = await login.login({ ...base, totp: code }, ip);
    expect(result.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(await refusal(login.login({ ...base, totp: code }, ip))).toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
  });

  it('requires a second factor of clinicians and admins, and completes a pending enrolment at first login', async () => {
    const attempts: LoginAttempt[] = [];
    const { login, create, store, clock, ip } = await setUp({
      onAttempt: async (a) => void attempts.push(a),
    });
    const doctor = await create({ role: 'doctor' });
    const admin = await create({ role: 'admin' });
    for (const account of [doctor, admin]) {
      // The right password without any enrolled factor is refused exactly like a wrong one: no oracle.
      const right = await refusal(login.login({ username: account.username, password: PASSWORD }, ip));
      const wrong = await refusal(
        login.login({ username: account.username, password: 'not the password' }, ip),
      );
      expect(right).toMatchObject({ code: 'MDL_INVALID_CREDENTIAL' });
      expect({ code: right.code, message: right.message }).toEqual({
        code: wrong.code,
        message: wrong.message,
      });
    }
    // Only the audit trail is told why.
    expect(attempts.map((a) => a.reason)).toEqual([
      'no second factor enrolled',
      'wrong password',
      'no second factor enrolled',
      'wrong password',
    ]);
    const { secret } = await store.beginTotpEnrolment(doctor.id);
    expect(await refusal(login.login({ username: doctor.username, password: PASSWORD }, ip))).toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    const first = await login.login(
      { username: doctor.username, password: PASSWORD, totp: totpCode(secret, clock.ms) },
      ip,
    );
    expect(first.amr).toContain('otp');
    expect((await store.getAccount(doctor.id))!.secondFactors.totp).toBe(true);
    // Without the policy, a clinician with no factor logs in with the password alone.
    const lax = await setUp({ requireSecondFactorForPrivileged: false });
    const nurse = await lax.create({ role: 'nurse' });
    expect((await lax.login.login({ username: nurse.username, password: PASSWORD }, lax.ip)).amr).toEqual([
      'pwd',
    ]);
  });

  it('logs in with a WebAuthn key as the second factor', async () => {
    const { login, create, webauthn, ip } = await setUp();
    const doctor = await create({ role: 'doctor' });
    const other = await create({ role: 'doctor' });
    const key = new SoftAuthenticator();
    const otherKey = new SoftAuthenticator();
    await webauthn.verifyRegistration(
      doctor.id,
      key.register(await webauthn.registrationOptions(doctor.id), { origin: ORIGIN }),
    );
    await webauthn.verifyRegistration(
      other.id,
      otherKey.register(await webauthn.registrationOptions(other.id), { origin: ORIGIN }),
    );
    const options = await webauthn.authenticationOptions(doctor.username);
    const result = await login.login(
      {
        username: doctor.username,
        password: PASSWORD,
        webauthn: key.authenticate(options, { origin: ORIGIN }),
      },
      ip,
    );
    expect(result.amr).toEqual(['pwd', 'hwk', 'mfa']);
    // Someone else's key, a TOTP code instead, or nothing: refused alike.
    const again = await webauthn.authenticationOptions(doctor.username);
    for (const request of [
      { webauthn: otherKey.authenticate(again, { origin: ORIGIN }) },
      { totp: '123456' },
      {},
    ]) {
      expect(
        await refusal(login.login({ username: doctor.username, password: PASSWORD, ...request }, ip)),
      ).toMatchObject({
        code: 'MDL_INVALID_CREDENTIAL',
      });
    }
  });

  it('throttles known and unknown usernames alike, even with the right password', async () => {
    const { login, create, clock, ip } = await setUp({ throttle: ACCOUNT_THROTTLE });
    const account = await create();
    const ghost = unique('ghost');
    const retryAfter: number[] = [];
    for (const username of [account.username, ghost]) {
      for (let i = 0; i < 3; i++) {
        expect(await refusal(login.login({ username, password: 'wrong password!' }, ip))).toMatchObject({
          code: 'MDL_INVALID_CREDENTIAL',
        });
      }
      const error = await refusal(login.login({ username, password: PASSWORD }, ip));
      expect(error).toMatchObject({ code: 'MDL_RATE_LIMITED' });
      retryAfter.push((error as unknown as { retryAfterSeconds: number }).retryAfterSeconds);
    }
    expect(retryAfter).toEqual([1, 1]);
    clock.advance(1000);
    expect((await login.login({ username: account.username, password: PASSWORD }, ip)).account.id).toBe(
      account.id,
    );
    // Success reset the account's counter.
    for (let i = 0; i < 3; i++)
      await refusal(login.login({ username: account.username, password: 'wrong password!' }, ip));
    expect(
      await refusal(login.login({ username: account.username, password: 'wrong password!' }, ip)),
    ).toMatchObject({
      code: 'MDL_RATE_LIMITED',
    });
  });

  it('re-hashes a password made at an older cost on the next login', async () => {
    const { db, clock, ip } = await setUp();
    const secretKey = randomBytes(32);
    const old = new AccountStore(db, { secretKey, passwordCost: FAST_COST, clock: clock.now });
    const upgraded = new AccountStore(db, {
      secretKey,
      passwordCost: { ...FAST_COST, ln: 11 },
      clock: clock.now,
    });
    const legacy = await old.createAccount({
      username: unique('legacy'),
      displayName: 'Legacy',
      role: 'insurer',
      organisation: 2,
      password: PASSWORD,
    });
    expect(parsePasswordHash((await upgraded.loginRecord(legacy.username))!.passwordHash!)!.cost.ln).toBe(10);
    const login = new LoginService(upgraded, new LoginThrottle(db, { clock: clock.now }));
    await login.login({ username: legacy.username, password: PASSWORD }, ip);
    const rehashed = (await upgraded.loginRecord(legacy.username))!.passwordHash!;
    expect(parsePasswordHash(rehashed)!.cost.ln).toBe(11);
    await login.login({ username: legacy.username, password: PASSWORD }, ip);
    expect((await upgraded.loginRecord(legacy.username))!.passwordHash).toBe(rehashed);
  });

  it('adapts to the OIDC account interface: authenticate and claims', async () => {
    const { login, create, store, clock } = await setUp();
    // It is what the OIDC server takes (a compile-time check against packages/oidc's interface).
    const authority: OidcAccountAuthority & ReturnType<typeof accountAuthority> = accountAuthority(
      login,
      store,
    );
    expect(Object.keys(authority).sort()).toEqual(['authenticate', 'claims']);
    const fhirId = randomBytes(8).toString('hex');
    const patient = await create({
      role: 'patient',
      organisation: 1,
      patient: { fhirId, pseudonym: `0x${randomBytes(32).toString('hex')}` },
    });
    expect(await authority.authenticate({ username: patient.username, password: PASSWORD }, IP)).toEqual({
      accountId: patient.id,
      amr: ['pwd'],
    });
    expect(await authority.claims(patient.id)).toEqual({
      role: 'patient',
      organisation: '1',
      fhirUser: `Patient/${fhirId}`,
      patient: fhirId,
    });
    const doctor = await create({ role: 'doctor', organisation: 4, practitionerId: 'prac-9' });
    const { secret } = await store.beginTotpEnrolment(doctor.id);
    await store.confirmTotpEnrolment(doctor.id, totpCode(secret, clock.ms));
    clock.advance(30_000);
    expect(
      await authority.authenticate(
        { username: doctor.username, password: PASSWORD, otp: totpCode(secret, clock.ms) },
        IP,
      ),
    ).toEqual({ accountId: doctor.id, amr: ['pwd', 'otp', 'mfa'] });
    expect(await authority.claims(doctor.id)).toEqual({
      role: 'doctor',
      organisation: '4',
      fhirUser: 'Practitioner/prac-9',
    });
    const insurer = await create();
    expect(await authority.claims(insurer.id)).toEqual({ role: 'insurer', organisation: '2' });
    await expect(
      authority.authenticate({ username: insurer.username, password: 'wrong password!' }, IP),
    ).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL',
    });
    await store.setDisabled(insurer.id, true);
    expect(await authority.claims(insurer.id)).toBeUndefined();
    expect(await authority.claims('no-such-account')).toBeUndefined();
  });
});
