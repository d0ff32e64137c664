import { DataCategory, MdlErrorCode } from '@medledger/core';
import { BinaryWriter, utf8ToBytes } from '@medledger/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sealExchangeEnvelope } from '../src/exchangeEnvelope.js';
import {
  createExchangeRequest,
  EXCHANGE_LIMITS,
  isReceivedExchangeRequest,
  OrganisationKeys,
  openExchangeRequest,
} from '../src/index.js';
import { pad } from '../src/padding.js';
import {
  CLINIC,
  containsBytes,
  expectMdl,
  flipBit,
  HOSPITAL,
  LAB,
  makeOrgs,
  NOW,
  openAsLab,
  PATIENT,
  PRACTITIONER,
  registry,
  replayStore,
  requestInput,
} from './fixtures.js';

const orgs = makeOrgs();

describe('exchange request', () => {
  it('round-trips: the custodian gets exactly what the requester signed', async () => {
    const { bytes, request } = createExchangeRequest({
      ...requestInput(orgs),
      since: NOW - 86_400,
      breakGlass: 3,
    });
    const store = replayStore();
    const received = await openAsLab(orgs, bytes, { replay: store });
    expect(isReceivedExchangeRequest(received)).toBe(true);
    expect(isReceivedExchangeRequest({ ...received })).toBe(false);
    expect(received.id).toBe(request.id);
    expect(received.id).toMatch(/^[0-9a-f]{64}$/);
    expect(received.requester).toEqual({ organisation: HOSPITAL, keyId: orgs.hospital.publicBundle.keyId });
    expect(received.custodian).toEqual({ organisation: LAB, keyId: orgs.lab.publicBundle.keyId });
    expect(received.practitioner).toEqual({
      member: PRACTITIONER.member.toLowerCase(),
      licence: PRACTITIONER.licence,
      displayName: PRACTITIONER.displayName,
    });
    expect(received.patient).toBe(PATIENT);
    expect(received.purpose).toBe(0);
    expect(received.categories).toEqual([DataCategory.Conditions, DataCategory.Observations]);
    expect(received.since).toBe(NOW - 86_400);
    expect(received.breakGlass).toBe(3);
    expect(received.issuedAt).toBe(NOW);
    expect(received.expiresAt).toBe(NOW + 60);
    expect(received.requesterBundle.keyId).toBe(orgs.hospital.publicBundle.keyId);
    expect(store.calls).toEqual([request.id]);
    expect(store.seen.get(request.id)).toBe(NOW + 60);
    // The signed body is canonical JSON with the format string.
    const body = JSON.parse(new TextDecoder().decode(received.evidence.signed));
    expect(body.format).toBe('medledger.exchange.request/1');
    expect(Object.isFrozen(received)).toBe(true);
  });

  it('defaults: a fresh random nonce, issued now, valid for 60 s', async () => {
    const { issuedAt: _i, expiresAt: _e, ...input } = requestInput(orgs);
    const a = createExchangeRequest(input).request;
    const b = createExchangeRequest(input).request;
    expect(a.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.id).not.toBe(b.id);
    expect(Math.abs(a.issuedAt - Date.now() / 1000)).toBeLessThan(5);
    expect(a.expiresAt - a.issuedAt).toBe(60);
  });

  it('every request has the same size on the wire, whatever it asks', () => {
    const small = createExchangeRequest({
      ...requestInput(orgs),
      categories: [0],
      practitioner: { member: PRACTITIONER.member, licence: PRACTITIONER.licence },
    }).bytes;
    const large = createExchangeRequest({
      ...requestInput(orgs),
      categories: Object.values(DataCategory),
      since: NOW - 1,
      breakGlass: Number.MAX_SAFE_INTEGER,
      practitioner: { ...PRACTITIONER, displayName: 'é'.repeat(64) },
    }).bytes;
    expect(small.length).toBe(large.length);
    expect(small.length).toBe(35 + 1120 + EXCHANGE_LIMITS.requestPaddedBytes + 16);
  });

  it('nothing readable in transit: no pseudonym, practitioner, licence or name in the bytes', () => {
    const { bytes } = createExchangeRequest(requestInput(orgs));
    const hexOf = (s: string) => s.slice(2).toLowerCase();
    for (const needle of [
      utf8ToBytes(PATIENT),
      Buffer.from(hexOf(PATIENT), 'hex'),
      utf8ToBytes(PRACTITIONER.member.toLowerCase()),
      Buffer.from(hexOf(PRACTITIONER.member), 'hex'),
      utf8ToBytes(PRACTITIONER.licence),
      Buffer.from(hexOf(PRACTITIONER.licence), 'hex'),
      utf8ToBytes(PRACTITIONER.displayName),
      utf8ToBytes('medledger.exchange.request'),
    ]) {
      expect(containsBytes(bytes, new Uint8Array(needle))).toBe(false);
    }
  });

  it('refuses a forged request: signed by a key that is not the requester’s registered bundle', async () => {
    // The clinic signs with its own key but claims to be the hospital (organisation 7).
    const impostor = OrganisationKeys.fromKeyBundle(HOSPITAL, orgs.clinic.bundle);
    const { bytes } = createExchangeRequest({ ...requestInput(orgs), requester: impostor });
    const store = replayStore();
    const message = await expectMdl(
      () => openAsLab(orgs, bytes, { replay: store }),
      MdlErrorCode.InvalidCredential,
    );
    expect(message).toBe('exchange request refused');
    expect(store.calls).toEqual([]); // forgeries never reach the replay store
  });

  it('refuses a request from an organisation the registry does not know', async () => {
    const stranger = OrganisationKeys.fromKeyBundle(42, orgs.clinic.bundle);
    const { bytes } = createExchangeRequest({ ...requestInput(orgs), requester: stranger });
    expect(await expectMdl(() => openAsLab(orgs, bytes), MdlErrorCode.InvalidCredential)).toBe(
      'exchange request refused',
    );
  });

  it('refuses a replayed request, with the same message as expired and not-yet-valid', async () => {
    const { bytes } = createExchangeRequest(requestInput(orgs));
    const store = replayStore();
    await openAsLab(orgs, bytes, { replay: store });
    const replayed = await expectMdl(() => openAsLab(orgs, bytes, { replay: store }), MdlErrorCode.Replay);
    const expired = await expectMdl(() => openAsLab(orgs, bytes, { now: NOW + 60 }), MdlErrorCode.Replay);
    const early = await expectMdl(() => openAsLab(orgs, bytes, { now: NOW - 31 }), MdlErrorCode.Replay);
    expect(new Set([replayed, expired, early]).size).toBe(1);
  });

  it('accepts a request issued slightly in the future (clock skew) and until its last second', async () => {
    const { bytes } = createExchangeRequest(requestInput(orgs));
    await openAsLab(orgs, bytes, { now: NOW - 30 });
    await openAsLab(orgs, bytes, { now: NOW + 59 });
  });

  it('honours a replay callback that answers asynchronously', async () => {
    const { bytes } = createExchangeRequest(requestInput(orgs));
    const seen = new Set<string>();
    const open = () =>
      openExchangeRequest(bytes, {
        custodian: orgs.lab.keys,
        resolveRequesterBundle: async (id) => registry(orgs)(id),
        now: NOW,
        replay: async (id) => {
          await new Promise((r) => setTimeout(r, 1));
          if (seen.has(id)) return false;
          seen.add(id);
          return true;
        },
      });
    await open();
    await expectMdl(open, MdlErrorCode.Replay);
  });

  it('refuses a request sealed to another custodian', async () => {
    const { bytes } = createExchangeRequest({
      ...requestInput(orgs),
      custodian: { organisation: CLINIC, bundle: orgs.clinic.publicBundle },
    });
    expect(await expectMdl(() => openAsLab(orgs, bytes), MdlErrorCode.InvalidCredential)).toBe(
      'exchange request refused',
    );
    // Even if the lab's id is written on the envelope, it does not open with the lab's key.
    const { bytes: lying } = createExchangeRequest({
      ...requestInput(orgs),
      custodian: { organisation: LAB, bundle: orgs.clinic.publicBundle },
    });
    await expectMdl(() => openAsLab(orgs, lying), MdlErrorCode.InvalidCredential);
  });

  it('refuses a genuine request re-addressed by its first custodian to another one', async () => {
    // The clinic receives a genuine request and re-seals the hospital's signed request to the lab.
    const { bytes } = createExchangeRequest({
      ...requestInput(orgs),
      custodian: { organisation: CLINIC, bundle: orgs.clinic.publicBundle },
    });
    const atClinic = await openExchangeRequest(bytes, {
      custodian: orgs.clinic.keys,
      resolveRequesterBundle: registry(orgs),
      now: NOW,
      replay: () => true,
    });
    const { signed, signature } = atClinic.evidence;
    const forwarded = sealExchangeEnvelope(
      0x04,
      HOSPITAL,
      { organisation: LAB, bundle: orgs.lab.publicBundle },
      utf8ToBytes('medledger/exchange-request/v1/seal'),
      new Uint8Array(0),
      pad(new BinaryWriter().bytes(signed).bytes(signature).finish(), 8192, 8192),
    );
    const store = replayStore();
    expect(
      await expectMdl(() => openAsLab(orgs, forwarded, { replay: store }), MdlErrorCode.InvalidCredential),
    ).toBe('exchange request refused');
    expect(store.calls).toEqual([]);
  });

  it('refuses a request whose signature is under another context (a response signature)', async () => {
    const body = createExchangeRequest(requestInput(orgs)).request.evidence.signed;
    const wrongContext = orgs.hospital.keys.sign(body, 'medledger/exchange-response/v1');
    const sealed = sealExchangeEnvelope(
      0x04,
      HOSPITAL,
      { organisation: LAB, bundle: orgs.lab.publicBundle },
      utf8ToBytes('medledger/exchange-request/v1/seal'),
      new Uint8Array(0),
      pad(new BinaryWriter().bytes(body).bytes(wrongContext).finish(), 8192, 8192),
    );
    await expectMdl(() => openAsLab(orgs, sealed), MdlErrorCode.InvalidCredential);
  });

  it('refuses any single flipped bit, anywhere (property)', async () => {
    const { bytes } = createExchangeRequest(requestInput(orgs));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), async (bit) => {
        const store = replayStore();
        try {
          await openAsLab(orgs, flipBit(bytes, bit), { replay: store });
        } catch (e) {
          const code = (e as { code?: string }).code;
          expect([MdlErrorCode.BadInput, MdlErrorCode.Unsupported, MdlErrorCode.InvalidCredential]).toContain(
            code,
          );
          expect(store.calls).toEqual([]);
          return;
        }
        throw new Error(`a request with bit ${bit} flipped was accepted`);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses malformed envelopes with MDL_BAD_INPUT or MDL_UNSUPPORTED', async () => {
    const { bytes } = createExchangeRequest(requestInput(orgs));
    await expectMdl(() => openAsLab(orgs, bytes.subarray(0, 100)), MdlErrorCode.BadInput);
    await expectMdl(() => openAsLab(orgs, new Uint8Array([...bytes, 0])), MdlErrorCode.BadInput);
    await expectMdl(() => openAsLab(orgs, bytes.subarray(0, bytes.length - 1)), MdlErrorCode.BadInput);
    await expectMdl(() => openAsLab(orgs, new Uint8Array(0)), MdlErrorCode.BadInput);
    const otherType = bytes.slice();
    otherType[4] = 0x05;
    await expectMdl(() => openAsLab(orgs, otherType), MdlErrorCode.BadInput);
    const newer = bytes.slice();
    newer[3] = 2;
    await expectMdl(() => openAsLab(orgs, newer), MdlErrorCode.Unsupported);
    await expectMdl(() => openAsLab(orgs, 'text' as unknown as Uint8Array), MdlErrorCode.BadInput);
  });

  it('refuses bad options: a millisecond clock, an absurd clock skew', async () => {
    const { bytes } = createExchangeRequest(requestInput(orgs));
    await expectMdl(() => openAsLab(orgs, bytes, { now: Date.now() }), MdlErrorCode.BadInput);
    await expectMdl(
      () =>
        openExchangeRequest(bytes, {
          custodian: orgs.lab.keys,
          resolveRequesterBundle: registry(orgs),
          now: NOW,
          replay: () => true,
          clockSkewSeconds: 3600,
        }),
      MdlErrorCode.BadInput,
    );
  });

  it('validates what it is asked to sign', () => {
    const bad: [string, Partial<Parameters<typeof createExchangeRequest>[0]>][] = [
      ['patient', { patient: '0x1234' }],
      ['patient', { patient: 'ab'.repeat(32) }],
      ['member', { practitioner: { ...PRACTITIONER, member: '0x12' } }],
      ['licence', { practitioner: { ...PRACTITIONER, licence: 'nope' } }],
      ['displayName', { practitioner: { ...PRACTITIONER, displayName: 'x'.repeat(129) } }],
      ['displayName', { practitioner: { ...PRACTITIONER, displayName: 'line\nbreak' } }],
      ['displayName', { practitioner: { ...PRACTITIONER, displayName: '' } }],
      ['purpose', { purpose: 8 }],
      ['purpose', { purpose: -1 }],
      ['categories', { categories: [] }],
      ['categories', { categories: [3, 3] as never }],
      ['categories', { categories: [12] as never }],
      ['issuedAt', { issuedAt: Date.now(), expiresAt: undefined }],
      ['expiresAt', { expiresAt: NOW }],
      ['lifetime', { expiresAt: NOW + 301 }],
      ['since', { since: -5 }],
      ['breakGlass', { breakGlass: 1.5 }],
      ['nonce', { nonce: new Uint8Array(8) }],
      ['custodian', { custodian: { organisation: 0, bundle: orgs.lab.publicBundle } }],
      ['self', { custodian: { organisation: HOSPITAL, bundle: orgs.lab.publicBundle } }],
      ['requester', { requester: orgs.hospital.bundle as never }],
    ];
    for (const [what, override] of bad) {
      expect(() => createExchangeRequest({ ...requestInput(orgs), ...override }), what).toThrow(
        expect.objectContaining({ code: MdlErrorCode.BadInput }),
      );
    }
  });

  it('accepts checksummed addresses and upper-case hex, signing the lower-case form', () => {
    const { request } = createExchangeRequest({
      ...requestInput(orgs),
      patient: PATIENT.toUpperCase().replace('0X', '0x'),
    });
    expect(request.patient).toBe(PATIENT);
    expect(request.practitioner.member).toBe(PRACTITIONER.member.toLowerCase());
  });

  it('refuses a key bundle whose secrets do not match its public half', () => {
    const mixed = { ...orgs.hospital.bundle, publicBundle: orgs.lab.publicBundle };
    expect(() => OrganisationKeys.fromKeyBundle(HOSPITAL, mixed)).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
    expect(() => OrganisationKeys.fromKeyBundle(0, orgs.hospital.bundle)).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
  });

  it('signs only under exchange contexts', () => {
    expect(() => orgs.hospital.keys.sign(new Uint8Array(1), 'medledger/key-bundle/v1' as never)).toThrow(
      expect.objectContaining({ code: MdlErrorCode.BadInput }),
    );
  });
});
