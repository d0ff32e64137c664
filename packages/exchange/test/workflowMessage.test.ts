// Workflow messages between two organisations (a hospital asks a lab here; in the node, a pharmacy asks an
// insurer): round trips with a real HL7 example resource as payload, and every refusal — tampered bytes, the
// wrong recipient, expired and replayed requests, oversized payloads, a response of the wrong kind or for
// another request. Real keys and real crypto throughout.
import { readFileSync } from 'node:fs';
import { MdlErrorCode } from '@medledger/core';
import { utf8ToBytes } from '@medledger/crypto';
import { describe, expect, it } from 'vitest';
import {
  createWorkflowRequest,
  createWorkflowResponse,
  isReceivedWorkflowRequest,
  OrganisationKeys,
  openWorkflowRequest,
  openWorkflowResponse,
  WORKFLOW_LIMITS,
  type WorkflowPayload,
} from '../src/index.js';
import {
  containsBytes,
  expectMdl,
  flipBit,
  HOSPITAL,
  LAB,
  makeOrgs,
  NOW,
  registry,
  replayStore,
} from './fixtures.js';

const orgs = makeOrgs();
const EXAMPLE = JSON.parse(
  readFileSync(
    new URL('../../../../shared/data/fhir/examples/coverage-example.json', import.meta.url),
    'utf8',
  ),
) as WorkflowPayload;
const KIND = 'coverage-eligibility';
/** Request plus envelope overhead: every small message is one size on the wire. */
const SMALL_MESSAGE_BYTES = WORKFLOW_LIMITS.minPaddedBytes + 35 + 1120 + 16;

function ask(overrides: Partial<Parameters<typeof createWorkflowRequest>[0]> = {}) {
  return createWorkflowRequest({
    requester: orgs.hospital.keys,
    recipient: { organisation: LAB, bundle: orgs.lab.publicBundle },
    kind: KIND,
    payload: EXAMPLE,
    issuedAt: NOW,
    ...overrides,
  });
}

function openAtLab(bytes: Uint8Array, o: { now?: number; store?: ReturnType<typeof replayStore> } = {}) {
  const store = o.store ?? replayStore();
  return openWorkflowRequest(bytes, {
    recipient: orgs.lab.keys,
    resolveRequesterBundle: registry(orgs),
    now: o.now ?? NOW + 1,
    replay: store.check,
  });
}

describe('workflow messages', () => {
  it('round-trips a request and its answer; the payload is unreadable on the wire', async () => {
    const { bytes, request } = ask();
    expect(bytes.length).toBe(SMALL_MESSAGE_BYTES);
    expect(containsBytes(bytes, utf8ToBytes(String(EXAMPLE.id)))).toBe(false);
    expect(containsBytes(bytes, utf8ToBytes('Coverage'))).toBe(false);
    const store = replayStore();
    const received = await openAtLab(bytes, { store });
    expect(isReceivedWorkflowRequest(received)).toBe(true);
    expect(isReceivedWorkflowRequest({ ...received })).toBe(false);
    expect(received.id).toBe(request.id);
    expect(received.id).toMatch(/^[0-9a-f]{64}$/);
    expect(received.kind).toBe(KIND);
    expect(received.payload).toEqual(EXAMPLE);
    expect(received.requester).toEqual({ organisation: HOSPITAL, keyId: orgs.hospital.publicBundle.keyId });
    expect(received.recipient).toEqual({ organisation: LAB, keyId: orgs.lab.publicBundle.keyId });
    expect(received.expiresAt - received.issuedAt).toBe(WORKFLOW_LIMITS.defaultLifetimeSeconds);
    expect(store.calls).toEqual([request.id]);

    const answer = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational' }],
    };
    const out = createWorkflowResponse({
      request: received,
      recipient: orgs.lab.keys,
      status: 'ok',
      payload: answer,
    });
    expect(out.bytes.length).toBe(SMALL_MESSAGE_BYTES);
    const opened = openWorkflowResponse(out.bytes, {
      requester: orgs.hospital.keys,
      request,
      recipientBundle: orgs.lab.publicBundle,
    });
    expect(opened.status).toBe('ok');
    expect(opened.payload).toEqual(answer);
    expect(opened.requestId).toBe(request.id);
    expect(opened.kind).toBe(KIND);

    const error = createWorkflowResponse({ request: received, recipient: orgs.lab.keys, status: 'error' });
    expect(error.bytes.length).toBe(out.bytes.length); // an error and a small answer look alike
    const refusedAnswer = openWorkflowResponse(error.bytes, {
      requester: orgs.hospital.keys,
      request,
      recipientBundle: orgs.lab.publicBundle,
    });
    expect(refusedAnswer.status).toBe('error');
    expect(refusedAnswer.payload).toBeUndefined();
  });

  it('pads larger payloads into power-of-two buckets and refuses oversized ones on both sides', async () => {
    const big = { ...EXAMPLE, text: { status: 'generated', div: `<div>${'x'.repeat(20_000)}</div>` } };
    const { bytes } = ask({ payload: big });
    expect(bytes.length).toBe(32 * 1024 + 35 + 1120 + 16);
    expect((await openAtLab(bytes)).payload).toEqual(big);

    const huge = { ...EXAMPLE, text: { status: 'generated', div: `<div>${'x'.repeat(70_000)}</div>` } };
    expect(await expectMdl(() => ask({ payload: huge }), MdlErrorCode.BadInput)).toMatch(/size limit/);
    const received = await openAtLab(ask().bytes);
    await expectMdl(
      () =>
        createWorkflowResponse({ request: received, recipient: orgs.lab.keys, status: 'ok', payload: huge }),
      MdlErrorCode.BadInput,
    );
    // A sealed message claiming a larger bucket is refused before any decryption.
    const padded = new Uint8Array(bytes.length + 128 * 1024);
    padded.set(bytes);
    await expectMdl(() => openAtLab(padded), MdlErrorCode.BadInput);
  });

  it('refuses tampered bytes, whichever byte was changed', async () => {
    const { bytes } = ask();
    // header (sender, recipient, key id), X-Wing ciphertext, AEAD ciphertext, tag
    for (const bit of [15 * 8 + 1, 11 * 8 + 3, 40 * 8, 2000 * 8 + 5, (bytes.length - 1) * 8]) {
      const store = replayStore();
      await expectMdl(() => openAtLab(flipBit(bytes, bit), { store }), MdlErrorCode.InvalidCredential);
      expect(store.calls).toEqual([]); // a forgery never reaches the replay store
    }
    await expectMdl(() => openAtLab(bytes.subarray(0, 4000)), MdlErrorCode.BadInput);
  });

  it('refuses a request for another recipient, from an unknown sender, or forwarded', async () => {
    const toClinic = createWorkflowRequest({
      requester: orgs.hospital.keys,
      recipient: { organisation: orgs.clinic.id, bundle: orgs.clinic.publicBundle },
      kind: KIND,
      payload: EXAMPLE,
      issuedAt: NOW,
    });
    expect(await expectMdl(() => openAtLab(toClinic.bytes), MdlErrorCode.InvalidCredential)).toBe(
      'exchange request refused',
    );
    // Signed by keys the registry does not hold for the hospital.
    const impostor = OrganisationKeys.fromKeyBundle(HOSPITAL, orgs.clinic.bundle);
    const forged = createWorkflowRequest({
      requester: impostor,
      recipient: { organisation: LAB, bundle: orgs.lab.publicBundle },
      kind: KIND,
      payload: EXAMPLE,
      issuedAt: NOW,
    });
    await expectMdl(() => openAtLab(forged.bytes), MdlErrorCode.InvalidCredential);
    // An exchange request's envelope type is not a workflow request.
    const asRecordRequest = ask().bytes.slice();
    asRecordRequest[4] = 0x04;
    await expectMdl(() => openAtLab(asRecordRequest), MdlErrorCode.BadInput);
  });

  it('refuses expired, not yet valid and replayed requests with one message, and a bad window at creation', async () => {
    const { bytes } = ask();
    const expired = await expectMdl(
      () => openAtLab(bytes, { now: NOW + WORKFLOW_LIMITS.defaultLifetimeSeconds }),
      MdlErrorCode.Replay,
    );
    const early = await expectMdl(() => openAtLab(bytes, { now: NOW - 31 }), MdlErrorCode.Replay);
    const store = replayStore();
    await openAtLab(bytes, { store });
    const replayed = await expectMdl(() => openAtLab(bytes, { store }), MdlErrorCode.Replay);
    expect(new Set([expired, early, replayed]).size).toBe(1);
    await expectMdl(() => ask({ expiresAt: NOW + 301 }), MdlErrorCode.BadInput);
    await expectMdl(() => ask({ expiresAt: NOW }), MdlErrorCode.BadInput);
    await expectMdl(() => ask({ issuedAt: Date.now() }), MdlErrorCode.BadInput); // milliseconds
  });

  it('refuses malformed kinds and payloads at creation', async () => {
    for (const kind of ['', 'Coverage', 'coverage_eligibility', '-x', 'a'.repeat(65)]) {
      await expectMdl(() => ask({ kind }), MdlErrorCode.BadInput);
    }
    for (const payload of [[], null, { id: 'x' }, { resourceType: 'lower' }]) {
      await expectMdl(() => ask({ payload: payload as unknown as WorkflowPayload }), MdlErrorCode.BadInput);
    }
    await expectMdl(
      () => ask({ payload: { resourceType: 'Basic', n: Number.NaN } as unknown as WorkflowPayload }),
      MdlErrorCode.BadInput,
    );
    await expectMdl(
      () => ask({ recipient: { organisation: HOSPITAL, bundle: orgs.hospital.publicBundle } }),
      MdlErrorCode.BadInput,
    );
  });

  it('the requester refuses an answer of the wrong kind, to another request, or from another organisation', async () => {
    const first = ask();
    const second = ask({ kind: 'prior-authorisation' });
    const receivedFirst = await openAtLab(first.bytes);
    const receivedSecond = await openAtLab(second.bytes);
    const answerToSecond = createWorkflowResponse({
      request: receivedSecond,
      recipient: orgs.lab.keys,
      status: 'ok',
      payload: EXAMPLE,
    });
    // The answer to another request (of another kind) does not open as an answer to the first.
    expect(
      await expectMdl(
        () =>
          openWorkflowResponse(answerToSecond.bytes, {
            requester: orgs.hospital.keys,
            request: first.request,
            recipientBundle: orgs.lab.publicBundle,
          }),
        MdlErrorCode.InvalidCredential,
      ),
    ).toBe('exchange response refused');
    // Same request id but the kind changed in what the requester kept: refused (the kind is bound).
    const answerToFirst = createWorkflowResponse({
      request: receivedFirst,
      recipient: orgs.lab.keys,
      status: 'ok',
      payload: EXAMPLE,
    });
    await expectMdl(
      () =>
        openWorkflowResponse(answerToFirst.bytes, {
          requester: orgs.hospital.keys,
          request: { ...first.request, kind: 'prior-authorisation' },
          recipientBundle: orgs.lab.publicBundle,
        }),
      MdlErrorCode.InvalidCredential,
    );
    // Tampered answer.
    await expectMdl(
      () =>
        openWorkflowResponse(flipBit(answerToFirst.bytes, 3000 * 8), {
          requester: orgs.hospital.keys,
          request: first.request,
          recipientBundle: orgs.lab.publicBundle,
        }),
      MdlErrorCode.InvalidCredential,
    );
    // Verified under a bundle the request was not sealed to.
    await expectMdl(
      () =>
        openWorkflowResponse(answerToFirst.bytes, {
          requester: orgs.hospital.keys,
          request: first.request,
          recipientBundle: orgs.clinic.publicBundle,
        }),
      MdlErrorCode.BadInput,
    );
    // A response can only answer a request that was opened (verified) here, with the keys it was sent to.
    await expectMdl(
      () =>
        createWorkflowResponse({ request: { ...receivedFirst }, recipient: orgs.lab.keys, status: 'error' }),
      MdlErrorCode.BadInput,
    );
    await expectMdl(
      () => createWorkflowResponse({ request: receivedFirst, recipient: orgs.clinic.keys, status: 'error' }),
      MdlErrorCode.BadInput,
    );
    await expectMdl(
      () => createWorkflowResponse({ request: receivedFirst, recipient: orgs.lab.keys, status: 'ok' }),
      MdlErrorCode.BadInput,
    );
    expect(
      openWorkflowResponse(answerToFirst.bytes, {
        requester: orgs.hospital.keys,
        request: first.request,
        recipientBundle: orgs.lab.publicBundle,
      }).payload,
    ).toEqual(EXAMPLE);
  });
});
