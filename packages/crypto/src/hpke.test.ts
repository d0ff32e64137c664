import { Aes256Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flipBit } from '../test/fixtures.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from './bytes.js';
import {
  HPKE_XWING_SUITE,
  HpkeContext,
  hpkeKeySchedule,
  hpkeOpen,
  hpkeSeal,
  hpkeSetupRecipient,
  hpkeSetupSender,
} from './hpke.js';
import { XWingDecapsulationKey, xwingKeygen } from './x-wing.js';

describe('HPKE key schedule against RFC 9180 Appendix A.1.1', () => {
  // DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base. The KEM differs from ours; the key
  // schedule, nonce sequencing and exporter are the same code, checked here against the RFC's values.
  const suite = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0001, Nk: 16 };
  const sharedSecret = hexToBytes('fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc');
  const info = hexToBytes('4f6465206f6e2061204772656369616e2055726e');
  const pt = hexToBytes('4265617574792069732074727574682c20747275746820626561757479');

  it('derives key, base_nonce and exporter_secret', () => {
    const ks = hpkeKeySchedule(suite, sharedSecret, info);
    expect(bytesToHex(ks.key)).toBe('4531685d41d65f03dc48f6b8302c05b0');
    expect(bytesToHex(ks.baseNonce)).toBe('56d890e5accaaf011cff4b7d');
    expect(bytesToHex(ks.exporterSecret)).toBe(
      '45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8',
    );
  });

  it('seals the sequence-0 and sequence-1 messages, opens them, and exports', () => {
    const sender = new HpkeContext(suite, hpkeKeySchedule(suite, sharedSecret, info));
    expect(bytesToHex(sender.seal(pt, hexToBytes('436f756e742d30')))).toBe(
      'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
    );
    expect(bytesToHex(sender.seal(pt, hexToBytes('436f756e742d31')))).toBe(
      'af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84',
    );
    expect(bytesToHex(sender.export(new Uint8Array(0), 32))).toBe(
      '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee',
    );
    const recipient = new HpkeContext(suite, hpkeKeySchedule(suite, sharedSecret, info));
    const ct0 = hexToBytes(
      'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
    );
    expect(recipient.open(flipBit(ct0, 3), hexToBytes('436f756e742d30'))).toBeUndefined();
    expect(recipient.open(ct0, hexToBytes('436f756e742d30'))).toEqual(pt); // a failed open did not advance seq
  });
});

describe('HPKE with X-Wing', () => {
  const { secretKey, publicKey } = xwingKeygen();
  const recipient = new XWingDecapsulationKey(secretKey);
  const info = utf8ToBytes('medledger/test/v1');
  const aad = utf8ToBytes('aad');

  it('round-trips single-shot and multi-message', () => {
    const msg = utf8ToBytes('category key bytes');
    const { enc, ciphertext } = hpkeSeal(publicKey, info, aad, msg);
    expect(enc.length).toBe(1120);
    expect(hpkeOpen(recipient, enc, info, aad, ciphertext)).toEqual(msg);

    const s = hpkeSetupSender(publicKey, info);
    const r = hpkeSetupRecipient(recipient, s.enc, info);
    for (let i = 0; i < 3; i++) expect(r.open(s.context.seal(Uint8Array.of(i)))).toEqual(Uint8Array.of(i));
    expect(r.export(utf8ToBytes('ctx'), 32)).toEqual(s.context.export(utf8ToBytes('ctx'), 32));
  });

  it('interoperates with hpke-js (@hpke/core + @hpke/hybridkem-x-wing) in both directions', async () => {
    const suite = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
    const theirPk = await suite.kem.importKey('raw', publicKey.slice().buffer, true);
    const sealedByThem = await suite.seal(
      { recipientPublicKey: theirPk, info: info.slice().buffer },
      utf8ToBytes('from hpke-js').slice().buffer,
      aad.slice().buffer,
    );
    const opened = hpkeOpen(
      recipient,
      new Uint8Array(sealedByThem.enc),
      info,
      aad,
      new Uint8Array(sealedByThem.ct),
    );
    expect(opened).toEqual(utf8ToBytes('from hpke-js'));

    const ours = hpkeSeal(publicKey, info, aad, utf8ToBytes('from medledger'));
    const theirSk = await suite.kem.importKey('raw', secretKey.slice().buffer, false);
    const pt = await suite.open(
      { recipientKey: theirSk, enc: ours.enc.slice().buffer, info: info.slice().buffer },
      ours.ciphertext.slice().buffer,
      aad.slice().buffer,
    );
    expect(new Uint8Array(pt)).toEqual(utf8ToBytes('from medledger'));
  });

  it('rejects a single-bit change to enc, ciphertext, info or aad, and a wrong recipient', () => {
    const msg = utf8ToBytes('k'.repeat(32));
    const { enc, ciphertext } = hpkeSeal(publicKey, info, aad, msg);
    fc.assert(
      fc.property(fc.nat(), (r) => {
        expect(
          hpkeOpen(recipient, flipBit(enc, r % (enc.length * 8)), info, aad, ciphertext),
        ).toBeUndefined();
        expect(
          hpkeOpen(recipient, enc, info, aad, flipBit(ciphertext, r % (ciphertext.length * 8))),
        ).toBeUndefined();
        expect(
          hpkeOpen(recipient, enc, flipBit(info, r % (info.length * 8)), aad, ciphertext),
        ).toBeUndefined();
        expect(
          hpkeOpen(recipient, enc, info, flipBit(aad, r % (aad.length * 8)), ciphertext),
        ).toBeUndefined();
      }),
      { numRuns: 50 },
    );
    const stranger = new XWingDecapsulationKey(xwingKeygen().secretKey);
    expect(hpkeOpen(stranger, enc, info, aad, ciphertext)).toBeUndefined();
    expect(hpkeOpen(recipient, enc.subarray(1), info, aad, ciphertext)).toBeUndefined();
    expect(hpkeOpen(recipient, enc, info, aad, new Uint8Array(3))).toBeUndefined();
    expect(HPKE_XWING_SUITE.kemId).toBe(0x647a);
  });
});
