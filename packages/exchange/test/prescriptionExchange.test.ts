// The prescription variant of the exchange: a pharmacy (here the "hospital" org of the fixtures plays the
// pharmacy, the "lab" the prescriber's custodian node) asks for one prescription; the custodian releases exactly
// its canonical bytes with the salt, or denies — both the same size; forgeries, replays, re-addressing and a
// tampered release are refused. Real keys, real HPKE, real signatures.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataCategory, MdlErrorCode } from '@medledger/core';
import { canonicalBytes, sha256, utf8ToBytes } from '@medledger/crypto';
import { describe, expect, it } from 'vitest';
import {
  createExchangeRequest,
  createPrescriptionRelease,
  createPrescriptionRequest,
  openExchangeRequest,
  openPrescriptionRelease,
  openPrescriptionRequest,
  PRESCRIPTION_LIMITS,
} from '../src/index.js';
import {
  containsBytes,
  expectMdl,
  flipBit,
  HOSPITAL,
  LAB,
  makeOrgs,
  NOW,
  PRACTITIONER,
  registry,
  replayStore,
} from './fixtures.js';

const orgs = makeOrgs();
/** A real MedicationRequest from the Synthea sample data (../shared/data). */
const medicationRequest = JSON.parse(
  readFileSync(
    resolve(
      __dirname,
      '../../../../shared/data/synthea/bulk-ndjson-10-patients/MedicationRequest.000.ndjson',
    ),
    'utf8',
  ).split('\n')[0]!,
) as Record<string, unknown>;
const resource = canonicalBytes(medicationRequest);
const PRESCRIPTION = `0x${'5a'.repeat(32)}`;
const SALT = `0x${'11'.repeat(32)}`;
const TOKEN = 'f0'.repeat(32);

const ask = (token?: string) =>
  createPrescriptionRequest({
    requester: orgs.hospital.keys,
    custodian: { organisation: LAB, bundle: orgs.lab.publicBundle },
    pharmacist: PRACTITIONER.member,
    prescription: PRESCRIPTION,
    ...(token ? { token } : {}),
    issuedAt: NOW,
  });
const openAtLab = (bytes: Uint8Array, replay = replayStore()) =>
  openPrescriptionRequest(bytes, {
    custodian: orgs.lab.keys,
    resolveRequesterBundle: registry(orgs),
    now: NOW,
    replay: replay.check,
  });

describe('prescription exchange', () => {
  it('releases exactly the prescription with its salt; the requester checks the canonical hash', async () => {
    const { bytes, request } = ask(TOKEN);
    expect(bytes.length).toBe(ask().bytes.length); // a token does not change the size
    const received = await openAtLab(bytes);
    expect(received).toMatchObject({
      requester: { organisation: HOSPITAL },
      prescription: PRESCRIPTION,
      token: TOKEN,
      pharmacist: PRACTITIONER.member.toLowerCase(),
    });
    const answer = createPrescriptionRelease({
      request: received,
      custodian: orgs.lab.keys,
      content: { resource, salt: SALT },
      issuedAt: NOW,
    });
    expect(containsBytes(answer, utf8ToBytes('MedicationRequest'))).toBe(false);
    const opened = openPrescriptionRelease(answer, {
      requester: orgs.hospital.keys,
      request,
      custodianBundle: orgs.lab.publicBundle,
    });
    expect(opened.status).toBe('released');
    expect(opened.release?.salt).toBe(SALT);
    expect(opened.release?.resource).toEqual(resource);
    expect(opened.release?.canonicalHash).toBe(`0x${Buffer.from(sha256(resource)).toString('hex')}`);
  });

  it('a denial is the same size as a release and carries nothing', async () => {
    const { bytes, request } = ask();
    const received = await openAtLab(bytes);
    const denial = createPrescriptionRelease({
      request: received,
      custodian: orgs.lab.keys,
      content: undefined,
    });
    const release = createPrescriptionRelease({
      request: received,
      custodian: orgs.lab.keys,
      content: { resource, salt: SALT },
    });
    expect(denial.length).toBe(release.length);
    expect(denial.length).toBeGreaterThan(PRESCRIPTION_LIMITS.releasePaddedBytes);
    const opened = openPrescriptionRelease(denial, {
      requester: orgs.hospital.keys,
      request,
      custodianBundle: orgs.lab.publicBundle,
    });
    expect(opened).toEqual({ status: 'denied', prescription: PRESCRIPTION, issuedAt: opened.issuedAt });
  });

  it('refuses replays, other custodians, forged senders, malformed tokens and the record-exchange format', async () => {
    const replay = replayStore();
    const { bytes } = ask();
    await openAtLab(bytes, replay);
    await expectMdl(() => openAtLab(bytes, replay), MdlErrorCode.Replay);
    await expectMdl(
      () =>
        openPrescriptionRequest(bytes, {
          custodian: orgs.clinic.keys,
          resolveRequesterBundle: registry(orgs),
          now: NOW,
          replay: replayStore().check,
        }),
      MdlErrorCode.InvalidCredential,
    );
    await expectMdl(() => openAtLab(flipBit(bytes, bytes.length * 8 - 3)), MdlErrorCode.InvalidCredential);
    await expectMdl(() => ask('not-hex'), MdlErrorCode.BadInput);
    // A record-exchange request is not a prescription request, and the other way round.
    const record = createExchangeRequest({
      requester: orgs.hospital.keys,
      custodian: { organisation: LAB, bundle: orgs.lab.publicBundle },
      practitioner: PRACTITIONER,
      patient: `0x${'ab'.repeat(32)}`,
      purpose: 0,
      categories: [DataCategory.Observations],
      issuedAt: NOW,
    }).bytes;
    await expectMdl(() => openAtLab(record), MdlErrorCode.BadInput);
    await expectMdl(
      () =>
        openExchangeRequest(bytes, {
          custodian: orgs.lab.keys,
          resolveRequesterBundle: registry(orgs),
          now: NOW,
          replay: replayStore().check,
        }),
      MdlErrorCode.BadInput,
    );
  });

  it('the requester refuses an answer to another request or a tampered one', async () => {
    const first = ask();
    const second = ask();
    const received = await openAtLab(first.bytes);
    const answer = createPrescriptionRelease({
      request: received,
      custodian: orgs.lab.keys,
      content: { resource, salt: SALT },
    });
    const open = (bytes: Uint8Array, request = first.request) =>
      openPrescriptionRelease(bytes, {
        requester: orgs.hospital.keys,
        request,
        custodianBundle: orgs.lab.publicBundle,
      });
    await expectMdl(() => open(answer, second.request), MdlErrorCode.InvalidCredential);
    await expectMdl(() => open(flipBit(answer, answer.length * 8 - 9)), MdlErrorCode.InvalidCredential);
    await expectMdl(
      () =>
        openPrescriptionRelease(answer, {
          requester: orgs.hospital.keys,
          request: first.request,
          custodianBundle: orgs.clinic.publicBundle,
        }),
      MdlErrorCode.InvalidCredential,
    );
  });
});
