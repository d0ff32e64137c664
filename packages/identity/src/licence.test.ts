import { createHash } from 'node:crypto';
import {
  base64urlToBytes,
  bytesToBase64url,
  canonicalBytes,
  compositeSign,
  generateKeyBundle,
} from '@medledger/crypto';
import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  assertLicenceValid,
  decodeLicence,
  encodeLicence,
  issueLicence,
  LICENCE_SIGNATURE_CONTEXT,
  type LicenceTerms,
  licenceHash,
  type SignedLicence,
  verifyLicence,
} from './licence.js';

const regulator = generateKeyBundle(1_700_000_000);
const otherRegulator = generateKeyBundle(1_700_000_000);
const SUBJECT = getAddress('0x90f79bf6eb2c4f870365e785982e1f101e93b906');
const ISSUED = 1_767_225_600; // 2026-01-01
const EXPIRES = 1_798_761_600; // 2027-01-01
const TERMS: LicenceTerms = {
  issuer: 3,
  subject: SUBJECT,
  name: 'Dr Jane Roe',
  qualification: {
    system: 'http://terminology.hl7.org/CodeSystem/v2-0360',
    code: 'MD',
    display: 'Doctor of Medicine',
  },
  issuedAt: ISSUED,
  expiresAt: EXPIRES,
};
const licence = issueLicence(TERMS, regulator);

describe('practitioner licences', () => {
  it('issues the documented format, signed by the regulator', () => {
    expect(licence.credential).toEqual({ format: 'medledger.licence/1', ...TERMS });
    expect(licence.proof.type).toBe('medledger.composite-signature/1');
    expect(licence.proof.keyId).toBe(regulator.keyId);
    expect(base64urlToBytes(licence.proof.signature)).toHaveLength(3373);
    expect(verifyLicence(licence, regulator.publicBundle, ISSUED)).toBe(true);
    expect(verifyLicence(licence, regulator.publicBundle, EXPIRES - 1)).toBe(true);
  });

  it('hashes the RFC 8785 form of the credential: the registry commitment', () => {
    // The canonical form written out by hand: members sorted by key, no whitespace.
    const canonical =
      '{"expiresAt":1798761600,"format":"medledger.licence/1","issuedAt":1767225600,"issuer":3,"name":"Dr Jane Roe",' +
      '"qualification":{"code":"MD","display":"Doctor of Medicine","system":"http://terminology.hl7.org/CodeSystem/v2-0360"},' +
      `"subject":"${SUBJECT}"}`;
    const expected = `0x${createHash('sha256').update(canonical).digest('hex')}`;
    expect(licenceHash(licence.credential)).toBe(expected);
    expect(licenceHash(licence)).toBe(expected);
    // Member order in the input does not matter.
    const reordered = Object.fromEntries(Object.entries(licence.credential).reverse());
    expect(Object.keys(reordered)[0]).toBe('expiresAt');
    expect(licenceHash(reordered as never)).toBe(expected);
    expect(() => licenceHash({ ...licence.credential, extra: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'MDL_BAD_INPUT' }),
    );
  });

  it('is not valid before it was issued or from its expiry on', () => {
    expect(verifyLicence(licence, regulator.publicBundle, ISSUED - 1)).toBe(false);
    expect(verifyLicence(licence, regulator.publicBundle, EXPIRES)).toBe(false);
    expect(verifyLicence(licence, regulator.publicBundle, Number.NaN)).toBe(false);
  });

  it('refuses any altered field, another issuer key, and a signature made for another purpose', () => {
    const c = licence.credential;
    const altered: SignedLicence['credential'][] = [
      { ...c, name: 'Dr Jane Doe' },
      { ...c, subject: getAddress('0x15d34aaf54267db7d7c367839aaf71a00a2c6a65') },
      { ...c, expiresAt: c.expiresAt + 1 },
      { ...c, issuedAt: c.issuedAt - 1 },
      { ...c, issuer: 4 },
      { ...c, qualification: { ...c.qualification, code: 'RN' } },
    ];
    for (const credential of altered) {
      expect(verifyLicence({ ...licence, credential }, regulator.publicBundle, ISSUED + 10)).toBe(false);
    }
    expect(verifyLicence(licence, otherRegulator.publicBundle, ISSUED + 10)).toBe(false);
    // The right key but the proof names another key id.
    expect(
      verifyLicence(
        { ...licence, proof: { ...licence.proof, keyId: otherRegulator.keyId } },
        regulator.publicBundle,
        ISSUED,
      ),
    ).toBe(false);
    // The same bytes signed by the regulator under another context (e.g. as a record batch).
    const elsewhere = compositeSign(
      regulator.signingSecretKey,
      canonicalBytes(c),
      'medledger/record-batch/v1',
    );
    expect(
      verifyLicence(
        { ...licence, proof: { ...licence.proof, signature: bytesToBase64url(elsewhere) } },
        regulator.publicBundle,
        ISSUED,
      ),
    ).toBe(false);
    // Sanity: the context constant is what verification uses.
    const same = compositeSign(regulator.signingSecretKey, canonicalBytes(c), LICENCE_SIGNATURE_CONTEXT);
    expect(
      verifyLicence(
        { ...licence, proof: { ...licence.proof, signature: bytesToBase64url(same) } },
        regulator.publicBundle,
        ISSUED,
      ),
    ).toBe(true);
  });

  it('refuses malformed licences without throwing', () => {
    const c = licence.credential;
    const sig = base64urlToBytes(licence.proof.signature);
    const flipped = sig.slice();
    flipped[100]! ^= 1;
    const bad: unknown[] = [
      null,
      'licence',
      {},
      { credential: c },
      { ...licence, proof: null },
      { ...licence, proof: { ...licence.proof, type: 'jws' } },
      { ...licence, proof: { ...licence.proof, signature: 'not base64url!' } },
      { ...licence, proof: { ...licence.proof, signature: bytesToBase64url(sig.subarray(1)) } },
      { ...licence, proof: { ...licence.proof, signature: bytesToBase64url(flipped) } },
      { ...licence, credential: { ...c, extra: true } },
      { ...licence, credential: { ...c, format: 'medledger.licence/2' } },
      { ...licence, credential: { ...c, subject: c.subject.toLowerCase() } },
      { ...licence, credential: { ...c, issuer: 0 } },
      { ...licence, credential: { ...c, name: ' padded ' } },
      { ...licence, credential: { ...c, expiresAt: c.issuedAt } },
      { ...licence, credential: { ...c, expiresAt: 2 ** 40 } },
      { ...licence, credential: { ...c, qualification: { code: 'MD' } } },
    ];
    for (const value of bad) {
      expect(
        verifyLicence(value, regulator.publicBundle, ISSUED + 10),
        JSON.stringify(value)?.slice(0, 80),
      ).toBe(false);
    }
    expect(() => assertLicenceValid(bad[2], regulator.publicBundle, ISSUED)).toThrow(
      expect.objectContaining({ code: 'MDL_INVALID_CREDENTIAL', message: 'licence credential refused' }),
    );
    expect(assertLicenceValid(licence, regulator.publicBundle, ISSUED)).toBe(licence);
  });

  it('refuses malformed terms at issue', () => {
    const bad: Partial<LicenceTerms>[] = [
      { issuer: -1 },
      { issuer: 1.5 },
      { subject: '0x1234' as never },
      { name: '' },
      { qualification: { system: '', code: 'MD' } },
      { expiresAt: ISSUED },
      { expiresAt: 2 ** 40 },
    ];
    for (const override of bad) {
      expect(() => issueLicence({ ...TERMS, ...override }, regulator), JSON.stringify(override)).toThrow(
        expect.objectContaining({ code: 'MDL_BAD_INPUT' }),
      );
    }
    // A lower-case subject is checksummed, a name NFC-normalised.
    const relaxed = issueLicence(
      { ...TERMS, subject: SUBJECT.toLowerCase() as never, name: 'Dr Ze\u0301' },
      regulator,
    );
    expect(relaxed.credential.subject).toBe(SUBJECT);
    expect(relaxed.credential.name).toBe('Dr Z\u00e9');
  });

  it('round-trips through its canonical text form', () => {
    const text = encodeLicence(licence);
    expect(text.startsWith('{"credential":{"expiresAt":')).toBe(true);
    expect(decodeLicence(text)).toEqual(licence);
    expect(verifyLicence(decodeLicence(text), regulator.publicBundle, ISSUED)).toBe(true);
    for (const t of [
      '',
      'not json',
      '{}',
      '{"credential":{},"proof":{}}',
      JSON.stringify({ ...licence, proof: { ...licence.proof, type: 'x' } }),
    ]) {
      expect(() => decodeLicence(t), t).toThrow(expect.objectContaining({ code: 'MDL_BAD_INPUT' }));
    }
  });
});
