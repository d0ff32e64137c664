import { randomBytes } from 'node:crypto';
import { DataCategory, MdlErrorCode } from '@medledger/core';
import {
  bytesToHex,
  CategoryKey,
  canonicalBytes,
  computeCid,
  equalBytes,
  sealRecord,
  sha256,
  utf8ToBytes,
  wrapCategoryKey,
} from '@medledger/crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExchangeResponseManifest, sealExchangeResponse } from '../src/exchangeResponse.js';
import {
  createExchangeDenial,
  createExchangeRequest,
  createExchangeResponse,
  EXCHANGE_LIMITS,
  type ExchangeRequest,
  OrganisationKeys,
  openExchangeResponse,
  type ReceivedExchangeRequest,
} from '../src/index.js';
import {
  CLINIC,
  containsBytes,
  expectMdl,
  flipBit,
  LAB,
  MARKERS,
  makeCustodianStore,
  makeOrgs,
  NOW,
  openAsLab,
  PATIENT,
  PRACTITIONER,
  receivedRequest,
  requestInput,
} from './fixtures.js';

const orgs = makeOrgs();
const store = makeCustodianStore(12);
let sent: ExchangeRequest;
let received: ReceivedExchangeRequest;
let release: Uint8Array;

function releaseInput(overrides: Partial<Parameters<typeof createExchangeResponse>[0]> = {}) {
  return {
    request: received,
    custodian: orgs.lab.keys,
    records: store.records.map(({ envelope, cid, resourceType }) => ({ envelope, cid, resourceType })),
    categoryKeys: store.keys,
    issuedAt: NOW + 2,
    ...overrides,
  };
}

function openAsHospital(
  bytes: Uint8Array,
  request: ExchangeRequest = sent,
  limits?: { maxRecords?: number },
) {
  return openExchangeResponse(bytes, {
    requester: orgs.hospital.keys,
    request,
    custodianBundle: orgs.lab.publicBundle,
    ...(limits ? { limits } : {}),
  });
}

/** A manifest as an honest custodian would sign it, for tests that then make it dishonest. */
function honestParts() {
  const wrappedKeys = store.keys.map((k) => wrapCategoryKey(k, orgs.hospital.publicBundle));
  const manifest: ExchangeResponseManifest = {
    requestId: received.id,
    requester: received.requester,
    custodian: received.custodian,
    status: 'released',
    issuedAt: NOW + 2,
    categoryKeys: store.keys.map((k, i) => ({
      category: k.ref.category as DataCategory,
      epoch: k.ref.epoch,
      sha256: bytesToHex(sha256(wrappedKeys[i]!)),
    })),
    records: store.records.map(({ cid, resourceType }) => ({ cid, resourceType })),
  };
  return {
    custodian: orgs.lab.keys,
    requesterBundle: orgs.hospital.publicBundle,
    manifest,
    wrappedKeys,
    recordEnvelopes: store.records.map((r) => r.envelope),
    minPaddedBytes: 4096,
    maxResponseBytes: EXCHANGE_LIMITS.maxResponseBytes,
  };
}

beforeAll(async () => {
  ({ sent, received } = await receivedRequest(orgs));
  release = createExchangeResponse(releaseInput()).bytes;
});

describe('exchange response', () => {
  it('round-trips: the requester verifies, unwraps the keys and opens every record', () => {
    const opened = openAsHospital(release);
    expect(opened.response.status).toBe('released');
    expect(opened.response.requestId).toBe(sent.id);
    expect(opened.response.issuedAt).toBe(NOW + 2);
    expect(opened.records.map((r) => r.cid)).toEqual(store.records.map((r) => r.cid));
    expect(opened.categoryKeys.map((k) => [k.ref.category, k.ref.epoch])).toEqual([
      [DataCategory.Conditions, 0],
      [DataCategory.Observations, 0],
      [DataCategory.Observations, 1],
    ]);
    expect(opened.wrappedCategoryKeys.map((w) => w.length)).toEqual([1232, 1232, 1232]);
    for (const stored of store.records) {
      const rec = opened.openRecord(stored.cid);
      expect(equalBytes(rec.plaintext, stored.plaintext)).toBe(true);
      expect(rec.resourceType).toBe(stored.resourceType);
      expect(equalBytes(rec.header.pseudonym, store.pseudonym)).toBe(true);
    }
    opened.destroy();
  });

  it('a denial is signed and sealed too, and carries nothing', () => {
    const { bytes, response } = createExchangeDenial({
      request: received,
      custodian: orgs.lab.keys,
      issuedAt: NOW,
    });
    expect(response.status).toBe('denied');
    const opened = openAsHospital(bytes);
    expect(opened.response.status).toBe('denied');
    expect(opened.records).toEqual([]);
    expect(opened.categoryKeys).toEqual([]);
    expect(bytes.length).toBe(35 + 1120 + 4096 + 16);
  });

  it('pads to power-of-two buckets: a denial and a small release can be made the same size', () => {
    const denial = createExchangeDenial({
      request: received,
      custodian: orgs.lab.keys,
      minPaddedBytes: 65536,
    });
    const small = createExchangeResponse(
      releaseInput({ records: releaseInput().records.slice(0, 1), minPaddedBytes: 65536 }),
    );
    expect(denial.bytes.length).toBe(small.bytes.length);
    expect(denial.bytes.length).toBe(35 + 1120 + 65536 + 16);
    const padded = release.length - 35 - 1120 - 16;
    expect(padded & (padded - 1)).toBe(0);
    expect(() =>
      createExchangeDenial({ request: received, custodian: orgs.lab.keys, minPaddedBytes: 5000 }),
    ).toThrow(expect.objectContaining({ code: MdlErrorCode.BadInput }));
  });

  it('nothing readable in transit: no resource JSON, CID, pseudonym, category or status', () => {
    const needles = [
      ...MARKERS.map(utf8ToBytes),
      utf8ToBytes('Observation'),
      utf8ToBytes('released'),
      utf8ToBytes(store.records[0]!.cid),
      store.pseudonym,
      utf8ToBytes(PATIENT),
      utf8ToBytes(PRACTITIONER.member.toLowerCase()),
      utf8ToBytes(sent.id),
      store.records[0]!.envelope.subarray(0, 48), // a stored envelope's clear header
    ];
    for (const needle of needles) expect(containsBytes(release, needle)).toBe(false);
  });

  it('refuses a response to another request (the request id is bound)', async () => {
    const { request: other } = createExchangeRequest(requestInput(orgs));
    const message = await expectMdl(() => openAsHospital(release, other), MdlErrorCode.InvalidCredential);
    expect(message).toBe('exchange response refused');
  });

  it('refuses a response whose signed manifest names another request, even if sealed for this one', async () => {
    const parts = honestParts();
    const { bytes } = sealExchangeResponse({
      ...parts,
      manifest: { ...parts.manifest, requestId: 'ee'.repeat(32) as never },
      boundRequestId: sent.id,
    });
    await expectMdl(() => openAsHospital(bytes), MdlErrorCode.InvalidCredential);
    // The same construction with matching ids opens: the refusal above is the manifest check.
    openAsHospital(sealExchangeResponse({ ...parts, boundRequestId: sent.id }).bytes).destroy();
  });

  it('refuses any single flipped bit, anywhere (property)', async () => {
    const small = createExchangeResponse(releaseInput({ records: releaseInput().records.slice(0, 3) })).bytes;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: small.length * 8 - 1 }), (bit) => {
        try {
          openAsHospital(flipBit(small, bit));
        } catch (e) {
          const code = (e as { code?: string }).code;
          expect([MdlErrorCode.BadInput, MdlErrorCode.Unsupported, MdlErrorCode.InvalidCredential]).toContain(
            code,
          );
          return;
        }
        throw new Error(`a response with bit ${bit} flipped was accepted`);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a response signed by another organisation than the custodian asked', async () => {
    // The clinic signs with its own key a manifest naming the lab, and writes the lab's id on the envelope.
    const clinicAsLab = OrganisationKeys.fromKeyBundle(LAB, orgs.clinic.bundle);
    const forged = sealExchangeResponse({ ...honestParts(), custodian: clinicAsLab }).bytes;
    expect(forged[14]).toBe(LAB);
    await expectMdl(() => openAsHospital(forged), MdlErrorCode.InvalidCredential);
    // Written honestly as from the clinic, it is refused on the envelope alone.
    const honestClinic = sealExchangeResponse({ ...honestParts(), custodian: orgs.clinic.keys }).bytes;
    expect(honestClinic[14]).toBe(CLINIC);
    await expectMdl(() => openAsHospital(honestClinic), MdlErrorCode.InvalidCredential);
  });

  it('refuses a record swapped for another record (CID mismatch)', async () => {
    const parts = honestParts();
    const swapped = [...parts.recordEnvelopes];
    swapped[0] = parts.recordEnvelopes[3]!; // same category key, different record
    const { bytes } = sealExchangeResponse({ ...parts, recordEnvelopes: swapped });
    await expectMdl(() => openAsHospital(bytes), MdlErrorCode.InvalidCredential);
    // The custodian side refuses to build one from its store.
    const records = [...releaseInput().records];
    records[0] = { ...records[0]!, envelope: records[3]!.envelope };
    expect(() => createExchangeResponse(releaseInput({ records }))).toThrow(
      expect.objectContaining({ code: MdlErrorCode.CidMismatch }),
    );
  });

  it('refuses a category key wrapped to another organisation', async () => {
    const parts = honestParts();
    const wrappedKeys = [...parts.wrappedKeys];
    wrappedKeys[0] = wrapCategoryKey(store.keys[0]!, orgs.clinic.publicBundle);
    const categoryKeys = parts.manifest.categoryKeys.map((k, i) =>
      i === 0 ? { ...k, sha256: bytesToHex(sha256(wrappedKeys[0]!)) } : k,
    );
    const { bytes } = sealExchangeResponse({
      ...parts,
      wrappedKeys,
      manifest: { ...parts.manifest, categoryKeys },
    });
    await expectMdl(() => openAsHospital(bytes), MdlErrorCode.InvalidCredential);
  });

  it('refuses a wrapped key that does not match its hash in the manifest', async () => {
    const parts = honestParts();
    const wrappedKeys = [...parts.wrappedKeys];
    wrappedKeys[0] = wrapCategoryKey(store.keys[0]!, orgs.hospital.publicBundle); // a fresh, valid wrap
    await expectMdl(
      () => openAsHospital(sealExchangeResponse({ ...parts, wrappedKeys }).bytes),
      MdlErrorCode.InvalidCredential,
    );
  });

  it('refuses keys outside the requested categories, of two patients, or records no key opens', async () => {
    const { request: narrow } = createExchangeRequest({
      ...requestInput(orgs),
      categories: [DataCategory.Conditions],
    });
    const narrowReceived = await openAsLab(
      orgs,
      createExchangeRequest({ ...requestInput(orgs), categories: [DataCategory.Conditions] }).bytes,
    );
    // Custodian side: refuses to release a category that was not asked for.
    expect(() => createExchangeResponse(releaseInput({ request: narrowReceived }))).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
    // Requester side: refuses such a release from a custodian that builds one anyway.
    const parts = honestParts();
    const overReach = sealExchangeResponse({
      ...parts,
      manifest: { ...parts.manifest, requestId: narrow.id },
    }).bytes;
    await expectMdl(() => openAsHospital(overReach, narrow), MdlErrorCode.InvalidCredential);

    // Two patients in one response.
    const otherPatient = CategoryKey.generate({
      pseudonym: new Uint8Array(randomBytes(32)),
      category: DataCategory.Observations,
      epoch: 7,
    });
    expect(() =>
      createExchangeResponse(releaseInput({ categoryKeys: [...store.keys, otherPatient] })),
    ).toThrow(expect.objectContaining({ code: MdlErrorCode.BadInput }));
    const extra = wrapCategoryKey(otherPatient, orgs.hospital.publicBundle);
    const twoPatients = sealExchangeResponse({
      ...parts,
      wrappedKeys: [...parts.wrappedKeys, extra],
      manifest: {
        ...parts.manifest,
        categoryKeys: [
          ...parts.manifest.categoryKeys,
          { category: 3, epoch: 7, sha256: bytesToHex(sha256(extra)) },
        ],
      },
    }).bytes;
    await expectMdl(() => openAsHospital(twoPatients), MdlErrorCode.InvalidCredential);

    // A record whose key is not released.
    const orphan = sealRecord(
      otherPatient,
      { recordId: 'Observation/x', recordVersion: 1 },
      canonicalBytes({ a: 1 }),
    );
    expect(() =>
      createExchangeResponse(
        releaseInput({ records: [...releaseInput().records, { envelope: orphan, cid: computeCid(orphan) }] }),
      ),
    ).toThrow(expect.objectContaining({ code: MdlErrorCode.BadInput }));
    const orphaned = sealExchangeResponse({
      ...parts,
      recordEnvelopes: [...parts.recordEnvelopes, orphan],
      manifest: { ...parts.manifest, records: [...parts.manifest.records, { cid: computeCid(orphan) }] },
    }).bytes;
    await expectMdl(() => openAsHospital(orphaned), MdlErrorCode.InvalidCredential);
  });

  it('a denial that carries keys is malformed', async () => {
    const parts = honestParts();
    const bytes = sealExchangeResponse({ ...parts, manifest: { ...parts.manifest, status: 'denied' } }).bytes;
    await expectMdl(() => openAsHospital(bytes), MdlErrorCode.BadInput);
  });

  it('answers only requests verified by openExchangeRequest, and only as their custodian', () => {
    expect(() => createExchangeResponse(releaseInput({ request: { ...received } }))).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
    expect(() => createExchangeDenial({ request: received, custodian: orgs.clinic.keys })).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
  });

  it('enforces record-count and size limits on both sides', async () => {
    expect(() => createExchangeResponse(releaseInput({ limits: { maxRecords: 5 } }))).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput, message: 'a response holds at most 5 records' }),
    );
    expect(() => createExchangeResponse(releaseInput({ limits: { maxResponseBytes: 4096 } }))).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
    expect(() => createExchangeResponse(releaseInput({ limits: { maxResponseBytes: 5000 } }))).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
    expect(() => createExchangeResponse(releaseInput({ limits: { maxRecords: 20_000 } }))).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
    await expectMdl(() => openAsHospital(release, sent, { maxRecords: 5 }), MdlErrorCode.BadInput);
    await expectMdl(
      () =>
        openExchangeResponse(release, {
          requester: orgs.hospital.keys,
          request: sent,
          custodianBundle: orgs.lab.publicBundle,
          limits: { maxResponseBytes: 4096 },
        }),
      MdlErrorCode.BadInput,
    );
  });

  it('refuses to open with the wrong keys or bundle for the request (caller errors)', async () => {
    await expectMdl(
      () =>
        openExchangeResponse(release, {
          requester: orgs.clinic.keys,
          request: sent,
          custodianBundle: orgs.lab.publicBundle,
        }),
      MdlErrorCode.BadInput,
    );
    await expectMdl(
      () =>
        openExchangeResponse(release, {
          requester: orgs.hospital.keys,
          request: sent,
          custodianBundle: orgs.clinic.publicBundle,
        }),
      MdlErrorCode.BadInput,
    );
    await expectMdl(
      () =>
        openExchangeResponse(release, {
          requester: orgs.hospital.bundle as never,
          request: sent,
          custodianBundle: orgs.lab.publicBundle,
        }),
      MdlErrorCode.BadInput,
    );
    await expectMdl(() => openAsHospital(release.subarray(0, 2000)), MdlErrorCode.BadInput);
    const asRequest = release.slice();
    asRequest[4] = 0x04;
    await expectMdl(() => openAsHospital(asRequest), MdlErrorCode.BadInput);
  });

  it('openRecord re-checks the CID and knows only released records', async () => {
    const opened = openAsHospital(release);
    await expectMdl(() => opened.openRecord(computeCid(new Uint8Array(1))), MdlErrorCode.NotFound);
    const rec = opened.records[0]!;
    rec.envelope[rec.envelope.length - 1]! ^= 1; // the caller's copy is mutable; tampering with it is caught
    await expectMdl(() => opened.openRecord(rec.cid), MdlErrorCode.CidMismatch);
  });

  it('the error messages do not say which check failed', async () => {
    const { request: other } = createExchangeRequest(requestInput(orgs));
    const messages = new Set([
      await expectMdl(() => openAsHospital(release, other), MdlErrorCode.InvalidCredential),
      await expectMdl(() => openAsHospital(flipBit(release, 9000 * 8)), MdlErrorCode.InvalidCredential),
      await expectMdl(
        () => openAsHospital(sealExchangeResponse({ ...honestParts(), custodian: orgs.clinic.keys }).bytes),
        MdlErrorCode.InvalidCredential,
      ),
    ]);
    expect([...messages]).toEqual(['exchange response refused']);
  });
});
