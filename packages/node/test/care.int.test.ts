/**
 * Administration, practitioner licences and break-glass through the node's HTTP API, on a real chain: a
 * hospital node and a regulator node in one local consortium. The hospital's administrator creates a doctor,
 * a nurse, a lab technician, an auditor and a patient (custodial member keys registered and funded on-chain;
 * the patient's keys sealed under their password and their Patient record linked to their pseudonym); the
 * regulator licenses the doctor through its own API; the doctor breaks the glass and reads what consent
 * alone would not show; the patient sees the notice; the auditor reviews the session.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsentRelayer } from '@medledger/consent';
import { consortiumRegistryAbi, MemberRole } from '@medledger/contracts';
import { bytesToHex, hexToBytes, Keystore } from '@medledger/crypto';
import {
  licenceHash,
  openPatientKeys,
  type SignedLicence,
  totpCode,
  verifyLicence,
} from '@medledger/identity';
import { devAccount } from '@medledger/ledger';
import { type Address, createWalletClient, type Hex, http, keccak256, parseEther, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATIENT_PSEUDONYM_SYSTEM } from '../src/access/PatientLinks.js';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import {
  mintOwnToken,
  registerTokenApp,
  signInAtNode,
  TOKEN_APP,
  totpSecretOf,
} from '../src/consortium/personSignIn.js';
import type { RunningNode } from '../src/Node.js';
import { TEST_BLOCK_TIME, TEST_START_OPTIONS, until } from './helpers.js';

const KEYSTORE_PASSPHRASE = 'care test keystore passphrase';
const PATIENT_PASSWORD = 'violet harbour lantern 42';
const STAFF_PASSWORD = 'quiet meadow compass for the ward 7';
const REASON = 'Unconscious on arrival in the emergency department; medication and allergy history needed';

type Response = { status: number; body: Record<string, any>; text: string };

describe('administration, licences and break-glass', () => {
  let dir: string;
  let consortium: LocalConsortium;
  let hospital: RunningNode;
  let regulator: RunningNode;
  const origin: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  const accounts: Record<string, Record<string, any>> = {};
  const ids: Record<string, string> = {};
  let pseudonym: Hex;
  let sessionId: number;
  const otpauth: Record<string, string> = {};

  /**
   * The person signs in through the node's token app (password, and the TOTP code their administrator's
   * enrolment gave them — the next step's when a code was used already) and mints their own API token.
   */
  const ownToken = async (username: string, options: { password?: string; nextStep?: boolean } = {}) => {
    const secret = otpauth[username] ? totpSecretOf(otpauth[username]!) : undefined;
    const access = await signInAtNode({
      origin: origin.hospital!,
      clientId: TOKEN_APP.clientId,
      redirectUri: TOKEN_APP.redirectUri,
      scope: secret ? 'openid user/*.cruds' : 'openid patient/*.cruds',
      username,
      password: options.password ?? STAFF_PASSWORD,
      ...(secret
        ? { otp: totpCode(secret, Date.now() + (options.nextStep ? secret.period * 1000 : 0)) }
        : {}),
    });
    return (await mintOwnToken(origin.hospital!, access, { label: 'test' })).token;
  };

  /** A request to a node ("hospital" unless the path says otherwise) as `who`. */
  const call = async (
    who: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    node: 'hospital' | 'regulator' = 'hospital',
  ): Promise<Response> => {
    const headers: Record<string, string> = {};
    if (who) headers.authorization = `Bearer ${tokens[`${node}:${who}`] ?? tokens[who]}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${origin[node]}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: Record<string, any> = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed, text };
  };
  const expression = (r: Response) => r.body.issue?.[0]?.expression?.[0];
  const registry = () => hospital.ledger.deployment.contracts.ConsortiumRegistry.address;
  const read = (functionName: string, args: readonly unknown[]) =>
    hospital.ledger.publicClient.readContract({
      address: registry(),
      abi: consortiumRegistryAbi,
      functionName,
      args,
    } as never) as Promise<any>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medledger-care-'));
    consortium = await startLocalConsortium({
      dir,
      members: [
        { name: 'hospital', kind: 'hospital' },
        { name: 'regulator', kind: 'regulator' },
      ],
      keystorePassphrase: KEYSTORE_PASSPHRASE,
      logLevel: 'silent',
      blockTime: TEST_BLOCK_TIME,
      startOptions: TEST_START_OPTIONS,
    });
    [hospital, regulator] = consortium.nodes.map((n) => n.node) as [RunningNode, RunningNode];
    origin.hospital = new URL(hospital.fhirUrl).origin;
    origin.regulator = new URL(regulator.fhirUrl).origin;
    tokens['hospital:admin'] = readFileSync(hospital.adminTokenFile!, 'utf8').trim();
    tokens['regulator:admin'] = readFileSync(regulator.adminTokenFile!, 'utf8').trim();
  }, 300_000);

  afterAll(async () => {
    await consortium?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('an administrator creates members (registered and funded on-chain) and a patient (keys, linked record)', async () => {
    // Malformed or refused creations change nothing and name the field.
    const unknownRole = await call('admin', 'POST', '/admin/accounts', {
      username: 'x-user',
      displayName: 'X',
      role: 'surgeon',
    });
    expect(unknownRole.status).toBe(400);
    expect(expression(unknownRole)).toBe('role');
    const noPassword = await call('admin', 'POST', '/admin/accounts', {
      username: 'pat',
      displayName: 'Pat',
      role: 'patient',
    });
    expect(noPassword.status).toBe(400);
    expect(expression(noPassword)).toBe('password');
    const weak = await call('admin', 'POST', '/admin/accounts', {
      username: 'pat',
      displayName: 'Pat',
      role: 'patient',
      password: 'aaaaaaaaaaaaaaaa',
    });
    expect(weak.status).toBe(400);
    expect(weak.text).not.toContain('aaaaaaaaaaaaaaaa');
    const adminWithMember = await call('admin', 'POST', '/admin/accounts', {
      username: 'admin2',
      displayName: 'Second admin',
      role: 'admin',
      memberAddress: privateKeyToAccount(generatePrivateKey()).address,
    });
    expect(adminWithMember.status).toBe(400);
    expect(expression(adminWithMember)).toBe('memberAddress');

    const people = [
      ['doctor', 'Dr Jane Roe', 'doctor'],
      ['nurse', 'Nurse Sam Poe', 'nurse'],
      ['lab', 'Lab Tech Kim Doe', 'lab'],
      ['auditor', 'Auditor Lee Moe', 'auditor'],
    ] as const;
    const created = await Promise.all(
      people.map(([username, displayName, role]) =>
        call('admin', 'POST', '/admin/accounts', { username, displayName, role, password: STAFF_PASSWORD }),
      ),
    );
    const roles = {
      doctor: MemberRole.Practitioner,
      nurse: MemberRole.Practitioner,
      lab: MemberRole.LabStaff,
    };
    for (const [i, [username]] of people.entries()) {
      const r = created[i]!;
      expect(r.status).toBe(201);
      const account = r.body.account;
      accounts[username] = account;
      expect(account.custodialMemberKey).toBe(true);
      expect(account.organisation).toBe(hospital.organisationId);
      const [member, active] = await read('memberOf', [account.memberAddress]);
      expect(active).toBe(true);
      expect(Number(member.organisation)).toBe(hospital.organisationId);
      expect(Number(member.role)).toBe(
        username === 'auditor' ? MemberRole.Auditor : roles[username as keyof typeof roles],
      );
      const balance = await hospital.ledger.publicClient.getBalance({ address: account.memberAddress });
      expect(balance).toBeGreaterThan(0n);
    }

    const patient = await call('admin', 'POST', '/admin/accounts', {
      username: 'pat.testperson',
      displayName: 'Pat Testperson',
      role: 'patient',
      password: PATIENT_PASSWORD,
      demographics: { name: [{ family: 'Testperson', given: ['Pat'] }], birthDate: '1970-01-01' },
    });
    expect(patient.status).toBe(201);
    expect(patient.text).not.toContain(PATIENT_PASSWORD);
    accounts.patient = patient.body.account;
    ids.patient = patient.body.patient.id;
    pseudonym = patient.body.patient.pseudonym;
    expect(accounts.patient!.patient).toEqual({ fhirId: ids.patient, pseudonym });
    const duplicate = await call('admin', 'POST', '/admin/accounts', {
      username: 'PAT.testperson',
      displayName: 'Someone',
      role: 'admin',
    });
    expect(duplicate.status).toBe(409);

    // The Patient record carries the pseudonym that links it to the patient's consent.
    const record = await call('admin', 'GET', `/fhir/Patient/${ids.patient}`);
    expect(record.status).toBe(200);
    expect(record.body.identifier).toContainEqual({ system: PATIENT_PSEUDONYM_SYSTEM, value: pseudonym });
    expect(record.body.birthDate).toBe('1970-01-01');

    // The administrator mints no token for anyone; each person signs in (clinicians and the auditor with
    // the TOTP enrolment the administrator started for them) and mints their own.
    for (const name of ['doctor', 'nurse', 'lab', 'auditor', 'patient']) {
      const t = await call('admin', 'POST', `/admin/accounts/${accounts[name]!.id}/tokens`, {
        label: 'test',
      });
      expect(t.status).toBe(403);
    }
    await registerTokenApp(origin.hospital!, tokens['hospital:admin']!);
    for (const name of ['doctor', 'nurse', 'lab', 'auditor']) {
      const enrol = await call('admin', 'POST', `/admin/accounts/${accounts[name]!.id}/totp`);
      expect(enrol.status).toBe(201);
      otpauth[name] = enrol.body.otpauthUri;
      tokens[name] = await ownToken(name);
    }
    tokens.patient = await ownToken('pat.testperson', { password: PATIENT_PASSWORD });

    const condition = await call('admin', 'POST', '/fhir/Condition', {
      resourceType: 'Condition',
      subject: { reference: `Patient/${ids.patient}` },
      code: { text: 'Type 2 diabetes' },
    });
    expect(condition.status).toBe(201);
    ids.condition = condition.body.id;
  }, 600_000);

  it('lists accounts without secrets; everyone but administrators gets 403 on /admin, and no token 401', async () => {
    const list = await call('admin', 'GET', '/admin/accounts');
    expect(list.status).toBe(200);
    const usernames = list.body.accounts.map((a: { username: string }) => a.username);
    expect(usernames).toEqual(expect.arrayContaining(['admin', 'doctor', 'nurse', 'lab', 'auditor']));
    for (const secret of [PATIENT_PASSWORD, tokens.doctor!, tokens['hospital:admin']!]) {
      expect(list.text).not.toContain(secret);
    }
    expect(list.text).not.toMatch(/password_?hash|sealed/i);
    for (const who of ['doctor', 'nurse', 'auditor', 'patient']) {
      expect((await call(who, 'GET', '/admin/accounts')).status).toBe(403);
      expect(
        (await call(who, 'POST', '/admin/accounts', { username: 'z', displayName: 'z', role: 'admin' }))
          .status,
      ).toBe(403);
    }
    expect((await call('doctor', 'POST', `/admin/accounts/${accounts.nurse!.id}/disable`)).status).toBe(403);
    expect((await call(undefined, 'GET', '/admin/accounts')).status).toBe(401);
  });

  it('the regulator licenses the doctor through its API; the credential verifies against its key and the chain', async () => {
    const member = accounts.doctor!.memberAddress as Address;
    const expiresAt = Math.floor(Date.now() / 1000) + 365 * 24 * 3600;
    const terms = {
      member,
      name: 'Dr Jane Roe',
      qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code: 'MD' },
      expiresAt,
    };
    // Only a regulator issues licences; bad terms are refused with the field named.
    expect((await call('admin', 'POST', '/admin/licences', terms)).status).toBe(403);
    const noName = await call('admin', 'POST', '/admin/licences', { ...terms, name: undefined }, 'regulator');
    expect(noName.status).toBe(400);
    expect(expression(noName)).toBe('name');
    const past = await call('admin', 'POST', '/admin/licences', { ...terms, expiresAt: 1000 }, 'regulator');
    expect(expression(past)).toBe('expiresAt');
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    const notMember = await call(
      'admin',
      'POST',
      '/admin/licences',
      { ...terms, member: stranger },
      'regulator',
    );
    expect(notMember.status).toBe(400);
    expect(expression(notMember)).toBe('member');

    const issued = await call('admin', 'POST', '/admin/licences', terms, 'regulator');
    expect(issued.status).toBe(201);

    // Administrators see their members' licences as the registry holds them; the regulator's, what it issued.
    const atRegulator = await call('admin', 'GET', '/admin/licences', undefined, 'regulator');
    expect(atRegulator.body.regulator).toBe(true);
    expect(atRegulator.body.licences).toContainEqual(
      expect.objectContaining({ member, name: 'Dr Jane Roe', issuedHere: true, status: 'valid' }),
    );
    const atHospital = await call('admin', 'GET', '/admin/licences');
    expect(atHospital.body.regulator).toBe(false);
    expect(atHospital.body.licences.find((l: { member: string }) => l.member === member)).toMatchObject({
      account: { id: accounts.doctor!.id, role: 'doctor' },
      issuer: regulator.organisationId,
      issuedHere: false,
      status: 'valid',
    });
    expect((await call('doctor', 'GET', '/admin/licences')).status).toBe(403);

    // Anyone fetches the credential and checks it: the regulator's key signed it, and its hash is the one the
    // registry holds for the member. (The regulator's public bundle is taken from its keystore here: no route
    // serves it yet, and a re-opened keystore re-signs its bundle, so its on-chain commitment is not comparable.)
    const served = await fetch(`${origin.regulator}/licences?member=${member}`);
    expect(served.status).toBe(200);
    const licence = (await served.json()) as SignedLicence;
    expect(licence.credential.subject).toBe(member);
    expect(licence.credential.issuer).toBe(regulator.organisationId);
    const keystore = Keystore.open(readFileSync(regulator.keystorePath, 'utf8'), KEYSTORE_PASSPHRASE);
    const regulatorBundle = keystore.exportPublicBundle();
    keystore.destroy();
    const now = Math.floor(Date.now() / 1000);
    expect(verifyLicence(licence, regulatorBundle, now)).toBe(true);
    const onChain = await read('licenceOf', [member]);
    expect(onChain.credentialHash).toBe(licenceHash(licence));
    expect(Number(onChain.expiresAt)).toBe(expiresAt);
    expect(Number(onChain.revokedAt)).toBe(0);
    const forged = { ...licence, credential: { ...licence.credential, name: 'Dr Someone Else' } };
    expect(verifyLicence(forged, regulatorBundle, now)).toBe(false);
    expect(licenceHash(forged)).not.toBe(onChain.credentialHash);

    // The authenticated form answers the same; other members have no licence there.
    const byPath = await call('admin', 'GET', `/licences/${member}`, undefined, 'regulator');
    expect(byPath.body).toEqual(licence);
    expect((await fetch(`${origin.regulator}/licences?member=${stranger}`)).status).toBe(404);
    expect((await fetch(`${origin.regulator}/licences?member=nope`)).status).toBe(400);
  });

  it('break-glass is refused without a reason, without a licence or the capability, and beyond the cap', async () => {
    const path = `/fhir/Patient/${ids.patient}/$break-glass`;
    const noReason = await call('doctor', 'POST', path, { minutes: 10 });
    expect(noReason.status).toBe(400);
    expect(expression(noReason)).toBe('reason');
    expect(expression(await call('doctor', 'POST', path, { reason: '   ', minutes: 10 }))).toBe('reason');
    // A reason must say something: not an invisible character (zero-width space, right-to-left mark, with
    // or without whitespace around), not punctuation or symbols alone, not a letter or two.
    for (const reason of [
      '\u200b',
      '\u200f',
      ' \u200b\u2060\ufeff \n',
      '...',
      '!?!',
      '— — —',
      'ok',
      '\u200bx\u200by',
    ]) {
      const refused = await call('doctor', 'POST', path, { reason, minutes: 10 });
      expect(refused.status, JSON.stringify(reason)).toBe(400);
      expect(expression(refused)).toBe('reason');
    }
    const noReasonParameters = await call('doctor', 'POST', path, {
      resourceType: 'Parameters',
      parameter: [{ name: 'minutes', valueInteger: 10 }],
    });
    expect(expression(noReasonParameters)).toBe('reason');
    expect(expression(await call('doctor', 'POST', path, { reason: REASON, minutes: 0 }))).toBe('minutes');

    const unlicensed = await call('nurse', 'POST', path, { reason: REASON, minutes: 10 });
    expect(unlicensed.status).toBe(403);
    expect(unlicensed.body.issue[0].diagnostics).toMatch(/licence/);
    const noCapability = await call('lab', 'POST', path, { reason: REASON, minutes: 10 });
    expect(noCapability.status).toBe(403);
    expect(noCapability.body.issue[0].diagnostics).toMatch(/role/);
    expect((await call('auditor', 'POST', path, { reason: REASON })).status).toBe(403);
    expect((await call('admin', 'POST', path, { reason: REASON })).status).toBe(403);

    const tooLong = await call('doctor', 'POST', path, { reason: REASON, minutes: 4 * 60 + 1 });
    expect(tooLong.status).toBe(400);
    expect(expression(tooLong)).toBe('minutes');
    const unknownPatient = await call('doctor', 'POST', '/fhir/Patient/no-such-patient/$break-glass', {
      reason: REASON,
      minutes: 10,
    });
    expect(unknownPatient.status).toBe(404);
    // Nothing was opened by any of these.
    expect((await call('auditor', 'GET', '/admin/break-glass')).body.sessions).toEqual([]);
  });

  it('opened, the doctor reads the record; the patient sees who, when, why and until when; it is queued', async () => {
    const denied = await call('doctor', 'GET', `/fhir/Condition/${ids.condition}`);
    expect(denied.status).toBe(404);

    const opened = await call('doctor', 'POST', `/fhir/Patient/${ids.patient}/$break-glass`, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'reason', valueString: REASON },
        { name: 'minutes', valueInteger: 30 },
      ],
    });
    expect(opened.status).toBe(201);
    expect(opened.body.resourceType).toBe('Parameters');
    const out = Object.fromEntries(
      opened.body.parameter.map((p: Record<string, any>) => [
        p.name,
        p.valueString ?? p.valueInstant ?? p.valueReference?.reference,
      ]),
    );
    sessionId = Number(out.session);
    expect(sessionId).toBeGreaterThan(0);
    const minutes = (Date.parse(out.expires) - Date.parse(out.opened)) / 60_000;
    expect(minutes).toBe(30);

    // The existing access policy now lets the doctor read, search and see the compartment.
    const allowed = await call('doctor', 'GET', `/fhir/Condition/${ids.condition}`);
    expect(allowed.status).toBe(200);
    expect(allowed.body.code.text).toBe('Type 2 diabetes');
    const search = await call('doctor', 'GET', '/fhir/Condition');
    expect(search.body.entry.map((e: any) => e.resource.id)).toEqual([ids.condition]);
    // The nurse (no session) still sees nothing.
    expect((await call('nurse', 'GET', `/fhir/Condition/${ids.condition}`)).status).toBe(404);

    // The patient's notice, in their own record.
    const notices = await call('patient', 'GET', '/fhir/Communication');
    expect(notices.status).toBe(200);
    const notice = notices.body.entry
      .map((e: any) => e.resource)
      .find((c: any) => c.identifier?.[0]?.value === String(sessionId));
    expect(notice).toBeDefined();
    expect(`Communication/${notice.id}`).toBe(out.notification);
    expect(notice.subject.reference).toBe(`Patient/${ids.patient}`);
    expect(notice.sender.display).toContain('Dr Jane Roe');
    expect(notice.sent).toBe(out.opened);
    expect(notice.payload[0].contentString).toContain(REASON);
    expect(notice.payload[0].contentString).toContain(out.expires);
    // It is the patient's data, not the directory's: the lab (no consent, no session) cannot read it.
    expect((await call('lab', 'GET', `/fhir/Communication/${notice.id}`)).status).toBe(404);

    // The patient's access log flags the break-glass: the opening and the read under it, by the doctor.
    const log = await call('patient', 'GET', `/audit/patients/${ids.patient}/events?_count=1000`);
    expect(log.status).toBe(200);
    const flagged = log.body.entries.filter((e: any) => e.breakGlass);
    const routes = flagged.map((e: any) => e.event.extension[0].valueString);
    expect(routes).toEqual(
      expect.arrayContaining(['POST /fhir/Patient/:id/$break-glass', 'GET /fhir/:type/:id']),
    );
    const glassRead = flagged.find(
      (e: any) => e.event.entity?.[0]?.what?.reference === `Condition/${ids.condition}`,
    );
    expect(glassRead.event.meta.security[0].code).toBe('BTG');
    expect(glassRead.event.agent[0].who.identifier.value).toBe(accounts.doctor!.id);
    // The refused read before the session opened is there too, not flagged.
    const refused = log.body.entries.find(
      (e: any) => e.event.outcomeDesc === 'denied by the access policy' && !e.breakGlass,
    );
    expect(refused?.event.entity[0].what.reference).toBe(`Condition/${ids.condition}`);

    // The auditor's queue shows it with the reason, which the chain only holds as a salted hash.
    const queue = await call('auditor', 'GET', '/admin/break-glass?unreviewed=true');
    expect(queue.status).toBe(200);
    const queued = queue.body.sessions.find((s: any) => s.id === sessionId);
    expect(queued).toMatchObject({
      reason: REASON,
      patient: `Patient/${ids.patient}`,
      active: true,
      practitioner: { displayName: 'Dr Jane Roe', role: 'doctor' },
    });
    const session = await hospital.consent.breakGlassSession(sessionId);
    expect(session?.reasonHash).toMatch(/^0x[0-9a-f]{64}$/);
    // At rest the reason is sealed: no column of the node's care tables holds it.
    for (const table of ['care_break_glass_reasons', 'care_break_glass_notices', 'care_member_keys']) {
      for (const row of (await hospital.db.query<Record<string, unknown>>(`SELECT * FROM ${table}`)).rows) {
        for (const value of Object.values(row)) {
          const text = value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : String(value);
          expect(text).not.toContain('Unconscious');
        }
      }
    }
    expect((await call('doctor', 'GET', '/admin/break-glass')).status).toBe(403);
    expect((await call('admin', 'GET', '/admin/break-glass')).status).toBe(403);
    expect((await call('auditor', 'GET', '/admin/break-glass?unreviewed=maybe')).status).toBe(400);
    // A running session is not reviewed yet.
    const early = await call('auditor', 'POST', `/admin/break-glass/${sessionId}/review`, {
      justified: true,
      finding: 'too early',
    });
    expect(early.status).toBe(409);
  });

  it('ended early, the doctor is denied again; the auditor reviews it and the queue is empty', async () => {
    expect((await call('nurse', 'POST', `/fhir/$break-glass/${sessionId}/end`)).status).toBe(404);
    const ended = await call('doctor', 'POST', `/fhir/$break-glass/${sessionId}/end`);
    expect(ended.status).toBe(200);
    expect((await call('doctor', 'GET', `/fhir/Condition/${ids.condition}`)).status).toBe(404);
    expect((await call('doctor', 'GET', '/fhir/Condition')).body.entry).toEqual([]);
    expect((await call('doctor', 'POST', `/fhir/$break-glass/${sessionId}/end`)).status).toBe(409);

    const review = `/admin/break-glass/${sessionId}/review`;
    const badVerdict = await call('auditor', 'POST', review, { justified: 'yes', finding: 'ok' });
    expect(expression(badVerdict)).toBe('justified');
    expect(expression(await call('auditor', 'POST', review, { justified: true }))).toBe('finding');
    for (const finding of ['\u200b', '\u200f', '...', 'ok']) {
      const refused = await call('auditor', 'POST', review, { justified: true, finding });
      expect(refused.status, JSON.stringify(finding)).toBe(400);
      expect(expression(refused)).toBe('finding');
    }
    expect((await call('doctor', 'POST', review, { justified: true, finding: 'mine' })).status).toBe(403);
    expect(
      (
        await call('auditor', 'POST', '/admin/break-glass/999999/review', {
          justified: true,
          finding: 'not found',
        })
      ).status,
    ).toBe(404);

    const finding = 'Emergency confirmed by the admission record; access limited to what treatment needed.';
    const reviewed = await call('auditor', 'POST', review, { justified: true, finding });
    expect(reviewed.status).toBe(200);
    expect(reviewed.body.findingHash).toMatch(/^0x[0-9a-f]{64}$/);
    const onChain = await hospital.consent.breakGlassSession(sessionId);
    expect(onChain?.review).toMatchObject({
      auditor: expect.stringMatching(new RegExp(accounts.auditor!.memberAddress.slice(2), 'i')),
      justified: true,
      findingHash: reviewed.body.findingHash,
    });

    expect((await call('auditor', 'GET', '/admin/break-glass?unreviewed=true')).body.sessions).toEqual([]);
    const all = await call('auditor', 'GET', '/admin/break-glass');
    expect(all.body.sessions).toHaveLength(1);
    expect(all.body.sessions[0].review).toMatchObject({ justified: true, finding });
    expect(all.body.sessions[0].endedEarly).toBe(true);
    expect((await call('auditor', 'POST', review, { justified: false, finding: 'again' })).status).toBe(409);
  });

  it('the patient downloads their sealed key file and opens it with their password', async () => {
    const path = `/admin/patients/${ids.patient}/keys`;
    const file = await call('patient', 'GET', path);
    expect(file.status).toBe(200);
    const keys = await openPatientKeys(file.text, PATIENT_PASSWORD);
    expect(keys.pseudonym).toBe(pseudonym);
    keys.destroy();
    await expect(openPatientKeys(file.text, 'not the password at all')).rejects.toThrow(
      expect.objectContaining({ code: 'MDL_KEYSTORE_WRONG_PASSPHRASE' }),
    );
    expect((await call('patient', 'GET', '/admin/patients/someone-else/keys')).status).toBe(404);
    expect((await call('doctor', 'GET', path)).status).toBe(403);
    expect((await call('admin', 'GET', path)).status).toBe(403);
  });

  it('a revoked licence stops break-glass; a disabled account’s tokens stop working', async () => {
    const member = accounts.doctor!.memberAddress as Address;
    const revoke = `/admin/licences/${member}/revoke`;
    expect((await call('admin', 'POST', revoke)).status).toBe(403); // the hospital is no regulator
    expect((await call('admin', 'POST', revoke, undefined, 'regulator')).status).toBe(200);
    expect((await call('admin', 'POST', revoke, undefined, 'regulator')).status).toBe(409);
    expect(Number((await read('licenceOf', [member])).revokedAt)).toBeGreaterThan(0);
    const refused = await call('doctor', 'POST', `/fhir/Patient/${ids.patient}/$break-glass`, {
      reason: REASON,
      minutes: 5,
    });
    expect(refused.status).toBe(403);

    // A token never used (so not in the 5-second cache) stops at once when its account is disabled.
    tokens.labFresh = await ownToken('lab', { nextStep: true });
    const disabled = await call('admin', 'POST', `/admin/accounts/${accounts.lab!.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.account.disabled).toBe(true);
    expect((await call('labFresh', 'GET', '/fhir/Condition')).status).toBe(401);
    expect((await call('admin', 'POST', '/admin/accounts/bootstrap-admin/disable')).status).toBe(409);
  }, 240_000);

  it('a session opened outside this node’s API (a member holding their own key) is still noticed and queued', async () => {
    // A doctor who holds their own key: registered on-chain by the node, licensed by the regulator, funded
    // by someone else; their transactions never pass through the node.
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    const locum = await call('admin', 'POST', '/admin/accounts', {
      username: 'locum',
      displayName: 'Dr Lo Cum',
      role: 'doctor',
      memberAddress: address,
      password: STAFF_PASSWORD,
    });
    expect(locum.status).toBe(201);
    expect(locum.body.account.custodialMemberKey).toBe(false);
    expect((await read('memberOf', [address]))[1]).toBe(true);
    const licensed = await call(
      'admin',
      'POST',
      '/admin/licences',
      {
        member: address,
        name: 'Dr Lo Cum',
        qualification: { system: 'http://terminology.hl7.org/CodeSystem/v2-0360', code: 'MD' },
        expiresAt: new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString(),
      },
      'regulator',
    );
    expect(licensed.status).toBe(201);
    const funder = createWalletClient({
      account: privateKeyToAccount(`0x${bytesToHex(devAccount(9).privateKey)}`),
      chain: hospital.ledger.chain,
      transport: http(consortium.rpcUrl),
    });
    const funding = await funder.sendTransaction({ to: address, value: parseEther('1') });
    await hospital.ledger.waitForReceipt(funding);

    // Through the node's API it cannot: the node does not hold that key.
    const enrol = await call('admin', 'POST', `/admin/accounts/${locum.body.account.id}/totp`);
    otpauth.locum = enrol.body.otpauthUri;
    tokens.locum = await ownToken('locum');
    const viaApi = await call('locum', 'POST', `/fhir/Patient/${ids.patient}/$break-glass`, {
      reason: REASON,
    });
    expect(viaApi.status).toBe(403);

    const relayer = new ConsentRelayer(hospital.ledger);
    const member = await relayer.memberClient(hexToBytes(key.slice(2)));
    const opened = await relayer.openBreakGlass(member, {
      patient: pseudonym,
      reasonHash: keccak256(toHex('stated in the locum’s own app')),
      duration: 120,
    });

    // The sweep notices the patient within seconds — without a reason, which this node never saw.
    const notice = await until('the notice of a session opened elsewhere', async () => {
      const list = await call('patient', 'GET', '/fhir/Communication');
      return list.body.entry
        ?.map((e: any) => e.resource)
        .find((c: any) => c.identifier?.[0]?.value === String(opened.id));
    });
    expect(notice.sender.display).toContain('Dr Lo Cum');
    expect(notice.payload[0].contentString).toContain('recorded by this organisation');
    const queue = await call('auditor', 'GET', '/admin/break-glass?unreviewed=true');
    expect(queue.body.sessions).toHaveLength(1);
    expect(queue.body.sessions[0]).toMatchObject({
      id: opened.id,
      reason: null,
      patient: `Patient/${ids.patient}`,
      practitioner: { displayName: 'Dr Lo Cum' },
    });
  }, 240_000);
});
