// End to end through the package's public entry point, as two nodes would use it: a hospital asks a lab for a
// patient's 50 records on behalf of its practitioner; only bytes cross between them.
import { DataCategory } from '@medledger/core';
import { bytesToUtf8, equalBytes, hexToBytes, utf8ToBytes } from '@medledger/crypto';
import * as exchange from '@medledger/exchange';
import { describe, expect, it } from 'vitest';
import {
  containsBytes,
  HOSPITAL,
  LAB,
  MARKERS,
  makeCustodianStore,
  makeOrgs,
  NOW,
  PATIENT,
  PRACTITIONER,
  registry,
  replayStore,
} from './fixtures.js';

const orgs = makeOrgs();

describe('@medledger/exchange public API', () => {
  it('exports the protocol and nothing internal', () => {
    expect(Object.keys(exchange).sort()).toEqual([
      'EXCHANGE_LIMITS',
      'EXCHANGE_REQUEST_FORMAT',
      'EXCHANGE_RESPONSE_FORMAT',
      'EXCHANGE_SIGNATURE_CONTEXTS',
      'OrganisationKeys',
      'PRESCRIPTION_LIMITS',
      'PRESCRIPTION_RELEASE_FORMAT',
      'PRESCRIPTION_REQUEST_FORMAT',
      'PRESCRIPTION_TOKEN_BYTES',
      'WORKFLOW_LIMITS',
      'WORKFLOW_REQUEST_FORMAT',
      'WORKFLOW_RESPONSE_FORMAT',
      'createExchangeDenial',
      'createExchangeReceipt',
      'createExchangeRequest',
      'createExchangeResponse',
      'createPrescriptionRelease',
      'createPrescriptionRequest',
      'createWorkflowRequest',
      'createWorkflowResponse',
      'exchangeRequestId',
      'isReceivedExchangeRequest',
      'isReceivedWorkflowRequest',
      'openExchangeRequest',
      'openExchangeResponse',
      'openPrescriptionRelease',
      'openPrescriptionRequest',
      'openWorkflowRequest',
      'openWorkflowResponse',
      'verifyExchangeReceipt',
    ]);
  });

  it('requester → custodian → requester: 50 records released, verified, decrypted; both sides keep one receipt', async () => {
    const store = makeCustodianStore(50);
    const transcript: Uint8Array[] = [];

    // Requester node: its practitioner asks for observations and conditions, for treatment.
    const { bytes: requestBytes, request } = exchange.createExchangeRequest({
      requester: orgs.hospital.keys,
      custodian: { organisation: LAB, bundle: orgs.lab.publicBundle },
      practitioner: PRACTITIONER,
      patient: PATIENT,
      purpose: 0,
      categories: [DataCategory.Observations, DataCategory.Conditions],
      issuedAt: NOW,
    });
    transcript.push(requestBytes);

    // Custodian node: verify, (check the ledger — the node's part), release, keep a receipt.
    const replay = replayStore();
    const received = await exchange.openExchangeRequest(requestBytes, {
      custodian: orgs.lab.keys,
      resolveRequesterBundle: registry(orgs),
      now: NOW + 1,
      replay: replay.check,
    });
    expect(received.requester.organisation).toBe(HOSPITAL);
    expect(received.patient).toBe(PATIENT);
    const { bytes: responseBytes, response: released } = exchange.createExchangeResponse({
      request: received,
      custodian: orgs.lab.keys,
      records: store.records.map(({ envelope, cid, resourceType }) => ({ envelope, cid, resourceType })),
      categoryKeys: store.keys,
      issuedAt: NOW + 2,
    });
    const custodianReceipt = exchange.createExchangeReceipt({ request: received, response: released });
    transcript.push(responseBytes);

    // Requester node: verify, unwrap, decrypt, keep a receipt.
    const opened = exchange.openExchangeResponse(responseBytes, {
      requester: orgs.hospital.keys,
      request,
      custodianBundle: orgs.lab.publicBundle,
    });
    expect(opened.records).toHaveLength(50);
    for (const stored of store.records) {
      const { plaintext, resourceType } = opened.openRecord(stored.cid);
      expect(equalBytes(plaintext, stored.plaintext)).toBe(true);
      expect(JSON.parse(bytesToUtf8(plaintext)).resourceType).toBe(resourceType);
    }
    opened.destroy();
    const requesterReceipt = exchange.createExchangeReceipt({ request, response: opened.response });
    expect(requesterReceipt.receipt.receiptId).toBe(custodianReceipt.receipt.receiptId);
    const audited = await exchange.verifyExchangeReceipt(requesterReceipt.bytes, {
      resolveBundle: (organisation) => registry(orgs)(organisation),
    });
    expect(audited.records).toHaveLength(50);

    // Nothing in transit is readable: search the bytes for every identifying or clinical value.
    const needles: Uint8Array[] = [
      utf8ToBytes(PATIENT),
      hexToBytes(PATIENT.slice(2)),
      utf8ToBytes(PRACTITIONER.member.toLowerCase()),
      utf8ToBytes(PRACTITIONER.member),
      hexToBytes(PRACTITIONER.member.slice(2).toLowerCase()),
      utf8ToBytes(PRACTITIONER.licence),
      hexToBytes(PRACTITIONER.licence.slice(2)),
      utf8ToBytes(PRACTITIONER.displayName),
      store.pseudonym,
      utf8ToBytes('"resourceType"'),
      utf8ToBytes('Observation/r1'),
      utf8ToBytes('Condition'),
      utf8ToBytes(request.id),
      hexToBytes(request.id),
      ...MARKERS.map(utf8ToBytes),
      ...store.records.slice(0, 5).map((r) => utf8ToBytes(r.cid)),
      ...store.records.slice(0, 5).map((r) => r.plaintext.subarray(0, 24)),
    ];
    for (const bytes of transcript) {
      for (const needle of needles) expect(containsBytes(bytes, needle)).toBe(false);
    }
  });
});
