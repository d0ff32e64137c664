import { createHmac } from 'node:crypto';
import { isMdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { hexToBytes, utf8ToBytes } from './bytes.js';
import { blindIndexToken, derivePatientPseudonym, deriveSubkey } from './derivation.js';

const master = hexToBytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const MRN = 'urn:oid:2.16.840.1.113883.19.5';

describe('keyed derivations', () => {
  it('derives distinct 32-byte subkeys per purpose', () => {
    const a = deriveSubkey(master, 'patient-pseudonym');
    const b = deriveSubkey(master, 'blind-index');
    expect(a.length).toBe(32);
    expect(a).not.toEqual(b);
    expect(deriveSubkey(master, 'patient-pseudonym')).toEqual(a);
    expect(() => deriveSubkey(master, 'Bad Purpose')).toThrow(/kebab-case/);
    expect(() => deriveSubkey(master.subarray(0, 16), 'blind-index')).toThrow(/at least 32 bytes/);
  });

  it('maps a patient identifier to a bytes32 pseudonym with the documented layout', () => {
    const key = deriveSubkey(master, 'patient-pseudonym');
    const p = derivePatientPseudonym(key, MRN, '12345');
    expect(p).toMatch(/^0x[0-9a-f]{64}$/);
    // independent recomputation of the layout: label ‖ u32 len ‖ system ‖ u32 len ‖ value
    const lp = (s: string) => Buffer.concat([Buffer.from([0, 0, 0, Buffer.byteLength(s)]), Buffer.from(s)]);
    const expected = createHmac('sha256', key)
      .update(Buffer.concat([Buffer.from('medledger/patient-pseudonym/v1'), lp(MRN), lp('12345')]))
      .digest('hex');
    expect(p).toBe(`0x${expected}`);
  });

  it('separates systems, values, keys and domains', () => {
    const key = deriveSubkey(master, 'patient-pseudonym');
    const p = derivePatientPseudonym(key, MRN, '12345');
    expect(derivePatientPseudonym(key, 'urn:other', '12345')).not.toBe(p);
    expect(derivePatientPseudonym(key, MRN, '12346')).not.toBe(p);
    expect(derivePatientPseudonym(deriveSubkey(master, 'other'), MRN, '12345')).not.toBe(p);
    // no boundary ambiguity: ("ab","c") differs from ("a","bc")
    expect(derivePatientPseudonym(key, 'ab', 'c')).not.toBe(derivePatientPseudonym(key, 'a', 'bc'));
    // the same inputs under the blind-index domain give an unrelated value
    expect(p.slice(2, 24)).not.toBe(blindIndexToken(key, MRN, '12345'));
  });

  it('normalises to NFC so equivalent spellings match', () => {
    const key = deriveSubkey(master, 'blind-index');
    const composed = 'Ordo\u00f1ez';
    const decomposed = 'Ordon\u0303ez';
    expect(blindIndexToken(key, 'Patient.name', composed)).toBe(
      blindIndexToken(key, 'Patient.name', decomposed),
    );
  });

  it('produces 128-bit base64url blind-index tokens', () => {
    const key = deriveSubkey(master, 'blind-index');
    const t = blindIndexToken(key, 'Patient.name', 'smith');
    expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(blindIndexToken(key, 'Patient.family', 'smith')).not.toBe(t);
  });

  it('refuses empty inputs and short keys with MDL_BAD_INPUT', () => {
    const key = deriveSubkey(master, 'blind-index');
    for (const f of [
      () => blindIndexToken(key, '', 'x'),
      () => blindIndexToken(key, 'f', ''),
      () => derivePatientPseudonym(new Uint8Array(8), MRN, '1'),
      () => blindIndexToken(utf8ToBytes('short'), 'f', 'x'),
    ]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isMdlError(e, 'MDL_BAD_INPUT')).toBe(true);
      }
    }
  });
});
