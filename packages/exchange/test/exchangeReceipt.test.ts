import { MdlErrorCode } from '@medledger/core';
import { BinaryWriter, type PublicKeyBundle } from '@medledger/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createExchangeDenial,
  createExchangeReceipt,
  createExchangeRequest,
  createExchangeResponse,
  type ExchangeRequest,
  type ExchangeResponse,
  openExchangeResponse,
  type ReceivedExchangeRequest,
  verifyExchangeReceipt,
} from '../src/index.js';
import {
  CLINIC,
  expectMdl,
  flipBit,
  HOSPITAL,
  LAB,
  makeCustodianStore,
  makeOrgs,
  NOW,
  PATIENT,
  receivedRequest,
  requestInput,
} from './fixtures.js';

const orgs = makeOrgs();
const store = makeCustodianStore(4);
let sent: ExchangeRequest;
let received: ReceivedExchangeRequest;
let custodianSide: ExchangeResponse;
let requesterSide: ExchangeResponse;

/** An auditor's registry history: bundles by (organisation, key id). */
function history(extra: [number, PublicKeyBundle][] = []) {
  const entries: [number, PublicKeyBundle][] = [
    [HOSPITAL, orgs.hospital.publicBundle],
    [LAB, orgs.lab.publicBundle],
    [CLINIC, orgs.clinic.publicBundle],
    ...extra,
  ];
  return {
    resolveBundle: (organisation: number, keyId: string) =>
      entries.find(([o, b]) => o === organisation && b.keyId === keyId)?.[1],
  };
}

beforeAll(async () => {
  ({ sent, received } = await receivedRequest(orgs));
  const created = createExchangeResponse({
    request: received,
    custodian: orgs.lab.keys,
    records: store.records.map(({ envelope, cid, resourceType }) => ({ envelope, cid, resourceType })),
    categoryKeys: store.keys,
    issuedAt: NOW + 3,
  });
  custodianSide = created.response;
  requesterSide = openExchangeResponse(created.bytes, {
    requester: orgs.hospital.keys,
    request: sent,
    custodianBundle: orgs.lab.publicBundle,
  }).response;
});

describe('exchange receipt', () => {
  it('both nodes build the same receipt, and an auditor verifies it against both bundles', async () => {
    const atCustodian = createExchangeReceipt({ request: received, response: custodianSide });
    const atRequester = createExchangeReceipt({ request: sent, response: requesterSide });
    expect(Buffer.from(atCustodian.bytes).equals(Buffer.from(atRequester.bytes))).toBe(true);
    expect(atCustodian.receipt.receiptId).toBe(atRequester.receipt.receiptId);

    const verified = await verifyExchangeReceipt(atRequester.bytes, history());
    expect(verified).toEqual(atCustodian.receipt);
    expect(verified).toMatchObject({
      requestId: sent.id,
      requester: { organisation: HOSPITAL, keyId: orgs.hospital.publicBundle.keyId },
      custodian: { organisation: LAB, keyId: orgs.lab.publicBundle.keyId },
      patient: PATIENT,
      purpose: 0,
      categories: sent.categories,
      requestedAt: NOW,
      respondedAt: NOW + 3,
      outcome: 'released',
    });
    expect(verified.records.map((r) => r.cid)).toEqual(store.records.map((r) => r.cid));
    expect(verified.releasedKeys).toHaveLength(3);
    expect(verified.receiptId).toMatch(/^[0-9a-f]{64}$/);
    // Small: two signatures and two short JSON documents, no record content.
    expect(atCustodian.bytes.length).toBeLessThan(9000);
  });

  it('records denials too', async () => {
    const { response } = createExchangeDenial({
      request: received,
      custodian: orgs.lab.keys,
      issuedAt: NOW + 1,
    });
    const { bytes } = createExchangeReceipt({ request: received, response });
    const verified = await verifyExchangeReceipt(bytes, history());
    expect(verified.outcome).toBe('denied');
    expect(verified.records).toEqual([]);
  });

  it('refuses to pair a response with another request', () => {
    const { request: other } = createExchangeRequest(requestInput(orgs));
    expect(() => createExchangeReceipt({ request: other, response: custodianSide })).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
  });

  it('refuses a receipt whose halves belong to different exchanges', async () => {
    const { request: other } = createExchangeRequest(requestInput(orgs));
    const spliced = new BinaryWriter()
      .bytes(Uint8Array.of(0x4d, 0x44, 0x4c, 1, 6))
      .block(other.evidence.signed)
      .bytes(other.evidence.signature)
      .block(custodianSide.evidence.signed)
      .bytes(custodianSide.evidence.signature)
      .finish();
    expect(
      await expectMdl(() => verifyExchangeReceipt(spliced, history()), MdlErrorCode.InvalidCredential),
    ).toBe('exchange receipt refused');
  });

  it('refuses unknown keys and signatures that do not verify', async () => {
    const { bytes } = createExchangeReceipt({ request: sent, response: requesterSide });
    await expectMdl(
      () => verifyExchangeReceipt(bytes, { resolveBundle: () => undefined }),
      MdlErrorCode.InvalidCredential,
    );
    // A registry that answers with the wrong organisation's bundle.
    await expectMdl(
      () => verifyExchangeReceipt(bytes, { resolveBundle: () => orgs.clinic.publicBundle }),
      MdlErrorCode.InvalidCredential,
    );
    // Flip a bit in each signature.
    const requestSignatureBit = (5 + 4 + sent.evidence.signed.length + 100) * 8;
    await expectMdl(
      () => verifyExchangeReceipt(flipBit(bytes, requestSignatureBit), history()),
      MdlErrorCode.InvalidCredential,
    );
    await expectMdl(
      () => verifyExchangeReceipt(flipBit(bytes, (bytes.length - 10) * 8), history()),
      MdlErrorCode.InvalidCredential,
    );
  });

  it('refuses malformed receipts', async () => {
    const { bytes } = createExchangeReceipt({ request: sent, response: requesterSide });
    await expectMdl(
      () => verifyExchangeReceipt(bytes.subarray(0, bytes.length - 1), history()),
      MdlErrorCode.BadInput,
    );
    await expectMdl(
      () => verifyExchangeReceipt(new Uint8Array([...bytes, 0]), history()),
      MdlErrorCode.BadInput,
    );
    // Signed JSON that is no longer canonical is malformed …
    const notCanonical = bytes.slice();
    notCanonical[9] = 0x20; // the request body's opening brace
    await expectMdl(() => verifyExchangeReceipt(notCanonical, history()), MdlErrorCode.BadInput);
    // … and a canonical change of value (purpose 0 → 1) fails the requester's signature.
    const at = Buffer.from(bytes).indexOf('"purpose":0');
    expect(at).toBeGreaterThan(0);
    const purposeChanged = bytes.slice();
    purposeChanged[at + '"purpose":'.length] = 0x31;
    await expectMdl(() => verifyExchangeReceipt(purposeChanged, history()), MdlErrorCode.InvalidCredential);
    const newer = bytes.slice();
    newer[3] = 2;
    await expectMdl(() => verifyExchangeReceipt(newer, history()), MdlErrorCode.Unsupported);
    const otherType = bytes.slice();
    otherType[4] = 4;
    await expectMdl(() => verifyExchangeReceipt(otherType, history()), MdlErrorCode.BadInput);
  });
});
