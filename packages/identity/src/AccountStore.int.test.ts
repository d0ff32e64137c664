import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { backends } from '../../storage/test/databases.js';
import { newStore, PASSWORD, sharedDatabase, TestClock, unique } from '../test/fixture.js';
import type { AccountId } from './AccountStore.js';
import { BOOTSTRAP_ADMIN_ID, ensureBootstrapAdmin } from './bootstrapAdmin.js';
import { LoginService, meetsRoleAssurance } from './LoginService.js';
import { LoginThrottle } from './LoginThrottle.js';
import { verifyPassword } from './passwords.js';
import { totpCode } from './totp.js';
import { WebAuthnService } from './webauthn.js';

const PSEUDONYM = `0x${'ab'.repeat(32)}` as const;
const member = () => privateKeyToAccount(`0x${randomBytes(32).toString('hex')}`).address;
const pseudonym = () => `0x${randomBytes(32).toString('hex')}` as const;

/** Every value of every identity table, as text (bytea as UTF-8 and as hex), for plaintext scans. */
async function dump(db: { query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }) {
  const out: string[] = [];
  for (const table of [
    'identity_accounts',
    'identity_api_tokens',
    'identity_webauthn_credentials',
    'identity_webauthn_challenges',
    'identity_login_throttle',
  ]) {
    for (const row of (await db.query(`SELECT * FROM ${table}`)).rows) {
      for (const value of Object.values(row)) {
        if (value instanceof Uint8Array)
          out.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('hex'));
        else out.push(String(value));
      }
    }
  }
  return out.join('\n');
}

describe.each(await backends())('AccountStore on $name', (backend) => {
  const database = sharedDatabase(backend);
  const tempDirs: string[] = [];
  afterAll(async () => {
    for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  });

  async function setUp() {
    const clock = new TestClock();
    const db = await database();
    return { clock, db, store: newStore(db, clock) };
  }

  it('creates accounts of every kind and lists them without secrets', async () => {
    const { store } = await setUp();
    const doctorName = unique('dr.house');
    const patientName = unique('alice');
    const address = member();
    const doctor = await store.createAccount({
      username: doctorName,
      displayName: 'Gregory House',
      role: 'doctor',
      organisation: 1,
      memberAddress: address.toLowerCase() as `0x${string}`,
      practitionerId: 'prac-1',
      password: PASSWORD,
    });
    expect(doctor).toMatchObject({
      username: doctorName,
      displayName: 'Gregory House',
      role: 'doctor',
      organisation: 1,
      memberAddress: address, // checksummed
      practitionerId: 'prac-1',
      disabled: false,
      hasPassword: true,
      secondFactors: { totp: false, webauthn: 0 },
    });
    expect(doctor.id).toMatch(/^[0-9a-f-]{36}$/);
    const fhirId = randomBytes(8).toString('hex');
    const patient = await store.createAccount({
      username: patientName,
      displayName: 'Alice Example',
      role: 'patient',
      organisation: 1,
      patient: { fhirId, pseudonym: PSEUDONYM.toUpperCase().replace('0X', '0x') as `0x${string}` },
    });
    expect(patient.patient).toEqual({ fhirId, pseudonym: PSEUDONYM });
    expect(patient.hasPassword).toBe(false);
    expect(await store.findByPatient(fhirId)).toEqual(patient);
    expect(await store.findByMemberAddress(address)).toEqual(doctor);
    expect(await store.getAccount(doctor.id)).toEqual(doctor);
    const listed = await store.listAccounts({ organisation: 1 });
    expect(listed.map((a) => a.id)).toEqual(expect.arrayContaining([doctor.id, patient.id]));
    for (const account of listed) {
      expect(Object.keys(account)).not.toContain('passwordHash');
      expect(JSON.stringify(account)).not.toContain('$scrypt$');
    }
    expect((await store.listAccounts({ role: 'patient' })).every((a) => a.role === 'patient')).toBe(true);
    expect(await store.getAccount('no-such-account')).toBeUndefined();
  });

  it('keeps usernames unique regardless of case and compatibility forms', async () => {
    const { store } = await setUp();
    const name = unique('carol');
    await store.createAccount({ username: name, displayName: 'Carol', role: 'nurse', organisation: 2 });
    for (const clash of [name.toUpperCase(), name.replace('c', '\uff43')]) {
      await expect(
        store.createAccount({ username: clash, displayName: 'Imposter', role: 'nurse', organisation: 2 }),
        clash,
      ).rejects.toMatchObject({ code: 'MDL_CONFLICT' });
    }
    expect((await store.findByUsername(name.toUpperCase()))?.username).toBe(name);
    expect((await store.findByUsername(name.replace('c', '\uff43')))?.username).toBe(name);
  });

  it('holds no plaintext username, display name, TOTP secret or token in the database', async () => {
    const { store, db, clock } = await setUp();
    const username = unique('zebedee.quixote');
    const account = await store.createAccount({
      username,
      displayName: 'Zebedee Quixotic-Marmaduke',
      role: 'doctor',
      organisation: 3,
      password: PASSWORD,
    });
    const { secret } = await store.beginTotpEnrolment(account.id);
    const { token } = await store.createApiToken(account.id, { label: 'automation' });
    // A login attempt and a WebAuthn challenge leave throttle and challenge rows keyed by the username.
    const login = new LoginService(store, new LoginThrottle(db, { clock: clock.now }));
    await expect(login.login({ username, password: PASSWORD }, { ip: '192.0.2.1' })).rejects.toMatchObject({
      code: 'MDL_INVALID_CREDENTIAL', // a TOTP enrolment is pending and no code was given
    });
    await new WebAuthnService(store, {
      rpID: 'x.example',
      rpName: 'x',
      origins: ['https://x.example'],
    }).authenticationOptions(username);
    const everything = await dump(db);
    // The scan finds what it looks for: the role is stored in clear.
    expect(everything).toContain('doctor');
    for (const needle of [username, 'Zebedee', 'Marmaduke', secret.secret, token, PASSWORD]) {
      expect(everything.toLowerCase(), needle).not.toContain(needle.toLowerCase());
    }
  });

  it('is useless under another identity secret', async () => {
    const { store, db, clock } = await setUp();
    const name = unique('dave');
    const account = await store.createAccount({
      username: name,
      displayName: 'Dave',
      role: 'lab',
      organisation: 4,
    });
    const stranger = newStore(db, clock);
    expect(await stranger.findByUsername(name)).toBeUndefined();
    await expect(stranger.getAccount(account.id)).rejects.toMatchObject({ code: 'MDL_DECRYPT_FAILED' });
    expect(() => newStore(db, clock, new Uint8Array(16))).toThrow(
      expect.objectContaining({ code: 'MDL_CONFIG' }),
    );
  });

  it('refuses malformed accounts with MDL_BAD_INPUT and changes nothing', async () => {
    const { store } = await setUp();
    const base = { username: unique('erin'), displayName: 'Erin', role: 'doctor' as const, organisation: 5 };
    const bad: Record<string, unknown>[] = [
      { username: 'ab' },
      { username: 'has space' },
      { username: 'x'.repeat(65) },
      { username: 42 },
      { displayName: '' },
      { displayName: 'tab\there' },
      { displayName: 'x'.repeat(201) },
      { role: 'root' },
      { organisation: -1 },
      { organisation: 2 ** 32 },
      { organisation: 1.5 },
      { memberAddress: '0x1234' },
      { role: 'admin', memberAddress: member() },
      { role: 'patient' },
      { patient: { fhirId: 'p1', pseudonym: PSEUDONYM } },
      { role: 'patient', patient: { fhirId: 'p 1', pseudonym: PSEUDONYM } },
      { role: 'patient', patient: { fhirId: 'p1', pseudonym: '0x1234' } },
      { practitionerId: 'has/slash' },
      { password: 'short' },
      { password: `${base.username} and more` },
      { id: 'Not Kebab' },
    ];
    for (const override of bad) {
      await expect(
        store.createAccount({ ...base, ...override } as never),
        JSON.stringify(override),
      ).rejects.toMatchObject({
        code: 'MDL_BAD_INPUT',
      });
    }
    expect(await store.findByUsername(base.username)).toBeUndefined();
    // The same member or patient cannot hold two accounts.
    const address = member();
    await store.createAccount({ ...base, memberAddress: address });
    await expect(
      store.createAccount({ ...base, username: unique('erin'), memberAddress: address }),
    ).rejects.toMatchObject({
      code: 'MDL_CONFLICT',
    });
  });

  it('updates, disables and re-enables accounts, and sets passwords under the policy', async () => {
    const { store, clock } = await setUp();
    const name = unique('frank');
    const account = await store.createAccount({
      username: name,
      displayName: 'Frank',
      role: 'pharmacist',
      organisation: 6,
    });
    clock.advance(1000);
    const address = member();
    const updated = await store.updateAccount(account.id, {
      displayName: 'Frank N. Stein',
      memberAddress: address,
      organisation: 7,
    });
    expect(updated).toMatchObject({
      displayName: 'Frank N. Stein',
      memberAddress: address,
      organisation: 7,
      username: name,
    });
    expect(updated.updatedAt.getTime()).toBe(account.updatedAt.getTime() + 1000);
    expect((await store.updateAccount(account.id, { memberAddress: null })).memberAddress).toBeUndefined();
    await store.setDisabled(account.id, true);
    expect((await store.getAccount(account.id))!.disabled).toBe(true);
    expect((await store.listAccounts({ organisation: 7 })).map((a) => a.id)).not.toContain(account.id);
    expect((await store.listAccounts({ organisation: 7, includeDisabled: true })).map((a) => a.id)).toContain(
      account.id,
    );
    await store.setDisabled(account.id, false);
    await expect(store.setPassword(account.id, 'password1234')).rejects.toMatchObject({
      code: 'MDL_BAD_INPUT',
    });
    await store.setPassword(account.id, PASSWORD);
    const record = await store.loginRecord(name);
    expect(await verifyPassword(PASSWORD, record!.passwordHash!)).toBe(true);
    await expect(store.setDisabled('nobody' as AccountId, true)).rejects.toMatchObject({
      code: 'MDL_NOT_FOUND',
    });
    await expect(store.updateAccount('nobody' as AccountId, {})).rejects.toMatchObject({
      code: 'MDL_NOT_FOUND',
    });
  });

  it('enrols TOTP, refuses replays across store instances, and resets second factors', async () => {
    const { db, clock } = await setUp();
    const secretKey = randomBytes(32);
    const a = newStore(db, clock, secretKey);
    const account = await a.createAccount({
      username: unique('gina'),
      displayName: 'Gina',
      role: 'doctor',
      organisation: 8,
    });
    const { secret, uri } = await a.beginTotpEnrolment(account.id);
    expect(uri).toMatch(/^otpauth:\/\/totp\/medledger:/);
    expect((await a.getAccount(account.id))!.secondFactors.totp).toBe(false);
    expect(await a.verifyTotp(account.id, totpCode(secret, clock.ms))).toBe(false); // still pending
    expect(await a.confirmTotpEnrolment(account.id, '000000')).toBe(false);
    expect(await a.confirmTotpEnrolment(account.id, totpCode(secret, clock.ms))).toBe(true);
    expect((await a.getAccount(account.id))!.secondFactors.totp).toBe(true);
    // The enrolment code's step is used; the next step's code works once, in any process.
    expect(await a.verifyTotp(account.id, totpCode(secret, clock.ms))).toBe(false);
    clock.advance(30_000);
    const code = totpCode(secret, clock.ms);
    expect(await a.verifyTotp(account.id, code)).toBe(true);
    const restarted = newStore(db, clock, secretKey);
    expect(await restarted.verifyTotp(account.id, code)).toBe(false);
    clock.advance(30_000);
    const next = totpCode(secret, clock.ms);
    const both = await Promise.all([a.verifyTotp(account.id, next), restarted.verifyTotp(account.id, next)]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect(await a.verifyTotp(account.id, 'not a code')).toBe(false);
    await a.resetSecondFactors(account.id);
    expect((await a.getAccount(account.id))!.secondFactors.totp).toBe(false);
    clock.advance(30_000);
    expect(await a.verifyTotp(account.id, totpCode(secret, clock.ms))).toBe(false);
    await expect(a.resetSecondFactors('nobody' as AccountId)).rejects.toMatchObject({
      code: 'MDL_NOT_FOUND',
    });
  });

  it('issues API tokens that expire, can be revoked, and stop working for disabled accounts', async () => {
    const { store, clock } = await setUp();
    const bot = await store.createAccount({
      username: unique('ehr-bridge'),
      displayName: 'EHR bridge',
      role: 'doctor',
      organisation: 9,
    });
    const { id, token, expiresAt } = await store.createApiToken(bot.id, {
      label: 'nightly import',
      expiresAt: new Date(clock.ms + 60_000),
    });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(expiresAt).toEqual(new Date(clock.ms + 60_000));
    expect((await store.authenticateToken(token))?.id).toBe(bot.id);
    const listed = await store.listApiTokens(bot.id);
    expect(listed).toEqual([expect.objectContaining({ id, label: 'nightly import', revokedAt: null })]);
    expect(JSON.stringify(listed)).not.toContain(token);
    clock.advance(60_000);
    expect(await store.authenticateToken(token)).toBeUndefined();
    const second = await store.createApiToken(bot.id, { label: 'second' });
    expect((await store.authenticateToken(second.token))?.id).toBe(bot.id);
    await store.setDisabled(bot.id, true);
    expect(await store.authenticateToken(second.token)).toBeUndefined();
    await store.setDisabled(bot.id, false);
    expect(await store.revokeApiToken(second.id)).toBe(true);
    expect(await store.revokeApiToken(second.id)).toBe(false);
    expect(await store.authenticateToken(second.token)).toBeUndefined();
    // Malformed and unknown tokens.
    for (const t of [
      '',
      'short',
      'x'.repeat(600),
      randomBytes(32).toString('base64url'),
      42 as unknown as string,
    ]) {
      expect(await store.authenticateToken(t)).toBeUndefined();
    }
    await expect(
      store.createApiToken(bot.id, { label: 'past', expiresAt: new Date(clock.ms - 1) }),
    ).rejects.toMatchObject({
      code: 'MDL_BAD_INPUT',
    });
    await expect(store.addApiToken(bot.id, 'too short', { label: 'x' })).rejects.toMatchObject({
      code: 'MDL_BAD_INPUT',
    });
    await expect(store.createApiToken('nobody' as AccountId, { label: 'x' })).rejects.toMatchObject({
      code: 'MDL_NOT_FOUND',
    });
    // A token value is registered once; another account cannot claim it.
    const chosen = randomBytes(40).toString('hex');
    const first = await store.addApiToken(bot.id, chosen, { label: 'chosen' });
    expect((await store.addApiToken(bot.id, chosen, { label: 'chosen again' })).id).toBe(first.id);
    const other = await store.createAccount({
      username: unique('other'),
      displayName: 'Other',
      role: 'admin',
      organisation: 9,
    });
    await expect(store.addApiToken(other.id, chosen, { label: 'stolen' })).rejects.toMatchObject({
      code: 'MDL_CONFLICT',
    });
  });

  it('keeps the assurance a token was minted with; its owner alone revokes it by id', async () => {
    const { store } = await setUp();
    const doctor = await store.createAccount({
      username: unique('dr-amr'),
      displayName: 'Dr Amr',
      role: 'doctor',
      organisation: 9,
    });
    const other = await store.createAccount({
      username: unique('dr-other'),
      displayName: 'Dr Other',
      role: 'doctor',
      organisation: 9,
    });
    const strong = await store.createApiToken(doctor.id, { label: 'mfa', amr: ['pwd', 'otp', 'mfa'] });
    const weak = await store.createApiToken(doctor.id, { label: 'pwd', amr: ['pwd'] });
    const none = await store.createApiToken(doctor.id, { label: 'none' });
    const held = async (token: string) => {
      const found = await store.authenticateTokenWithAssurance(token);
      return found && meetsRoleAssurance(found.account.role, found.amr);
    };
    expect(await held(strong.token)).toBe(true);
    expect(await held(weak.token)).toBe(false);
    expect(await held(none.token)).toBe(false);
    const byLabel = new Map((await store.listApiTokens(doctor.id)).map((t) => [t.label, t.amr]));
    expect(Object.fromEntries(byLabel)).toEqual({ mfa: ['pwd', 'otp', 'mfa'], pwd: ['pwd'], none: null });
    expect(meetsRoleAssurance('patient', ['pwd'])).toBe(true);
    expect(meetsRoleAssurance('patient', null)).toBe(false);
    await expect(
      store.createApiToken(doctor.id, { label: 'bad', amr: ['pwd; DROP TABLE'] }),
    ).rejects.toMatchObject({ code: 'MDL_BAD_INPUT' });
    // Another account's id does not revoke it; its owner's does; a malformed id is no token.
    expect(await store.revokeApiToken(strong.id, other.id)).toBe(false);
    expect(await held(strong.token)).toBe(true);
    expect(await store.revokeApiToken(strong.id, doctor.id)).toBe(true);
    expect(await held(strong.token)).toBeUndefined();
    expect(await store.revokeApiToken("x' OR '1'='1", doctor.id)).toBe(false);
  });

  it("keeps a patient's sealed key file, and only a patient's", async () => {
    const { store } = await setUp();
    const patient = await store.createAccount({
      username: unique('hana'),
      displayName: 'Hana',
      role: 'patient',
      organisation: 1,
      patient: { fhirId: randomBytes(8).toString('hex'), pseudonym: pseudonym() },
    });
    expect(await store.patientKeys(patient.id)).toBeUndefined();
    await store.setPatientKeys(patient.id, '{"format":"medledger-keystore"}');
    expect(await store.patientKeys(patient.id)).toBe('{"format":"medledger-keystore"}');
    const doctor = await store.createAccount({
      username: unique('ivan'),
      displayName: 'Ivan',
      role: 'doctor',
      organisation: 1,
    });
    await expect(store.setPatientKeys(doctor.id, '{}')).rejects.toMatchObject({ code: 'MDL_NOT_FOUND' });
    await expect(store.setPatientKeys(patient.id, 42 as unknown as string)).rejects.toMatchObject({
      code: 'MDL_BAD_INPUT',
    });
  });

  it('makes the bootstrap admin an ordinary admin account, importing the old admin token', async () => {
    const { store, db } = await setUp();
    const dir = await mkdtemp(join(tmpdir(), 'identity-'));
    tempDirs.push(dir);
    // The table node/001-principals created, with a token an earlier version wrote to the admin-token file.
    await db.exec(`CREATE TABLE IF NOT EXISTS credentials (
      token_hash bytea PRIMARY KEY, principal_id text NOT NULL, kind text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz, revoked boolean NOT NULL DEFAULT false)`);
    const legacy = randomBytes(32).toString('base64url');
    const revoked = randomBytes(32).toString('base64url');
    await db.query(
      `INSERT INTO credentials (token_hash, principal_id, kind) VALUES ($1, 'bootstrap-admin', 'bearer')`,
      [createHash('sha256').update(legacy).digest()],
    );
    await db.query(
      `INSERT INTO credentials (token_hash, principal_id, kind, revoked) VALUES ($1, 'bootstrap-admin', 'bearer', true)`,
      [createHash('sha256').update(revoked).digest()],
    );
    const tokenFile = join(dir, 'admin-token');
    const first = await ensureBootstrapAdmin(store, { adminToken: undefined, tokenFile });
    expect(first).toMatchObject({ created: true, tokenFile, imported: 1 });
    expect(first.account).toMatchObject({
      id: BOOTSTRAP_ADMIN_ID,
      username: 'admin',
      role: 'admin',
      hasPassword: false,
    });
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const generated = (await readFile(tokenFile, 'utf8')).trim();
    expect((await store.authenticateToken(generated))?.id).toBe(BOOTSTRAP_ADMIN_ID);
    expect((await store.authenticateToken(legacy))?.id).toBe(BOOTSTRAP_ADMIN_ID);
    expect(await store.authenticateToken(revoked)).toBeUndefined();
    // Idempotent: no new account, no new file, nothing imported twice.
    const again = await ensureBootstrapAdmin(store, { adminToken: undefined, tokenFile });
    expect(again).toMatchObject({ created: false, tokenFile: undefined, imported: 0 });
    expect((await readFile(tokenFile, 'utf8')).trim()).toBe(generated);
    // MEDLEDGER_ADMIN_TOKEN registers that token instead.
    const envToken = randomBytes(33).toString('base64url');
    await ensureBootstrapAdmin(store, { adminToken: envToken, tokenFile });
    expect((await store.authenticateToken(envToken))?.id).toBe(BOOTSTRAP_ADMIN_ID);
    // It is an ordinary account: it can be disabled like any other.
    await store.setDisabled(BOOTSTRAP_ADMIN_ID, true);
    expect(await store.authenticateToken(envToken)).toBeUndefined();
    await store.setDisabled(BOOTSTRAP_ADMIN_ID, false);
    await db.exec('DROP TABLE credentials');
  });
});
