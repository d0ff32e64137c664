/**
 * Higher-level checks that only mean something inside a real browser, run by browser.int.test.ts through the
 * bundle built from entry.ts. Each check throws (or rejects) on failure. Add entries freely; this module is
 * bundled for the browser, so it may use DOM and Web Crypto APIs, but no `node:` modules.
 */
import { DataCategory } from '@medledger/core';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../../src/bytes.js';
import { compositeKeygen, compositeSign, compositeVerify } from '../../src/composite-signature.js';
import { sha256 } from '../../src/hash.js';
import { HpkeContext, hpkeKeySchedule } from '../../src/hpke.js';
import { generateKeyBundle } from '../../src/key-bundle.js';
import {
  CategoryKey,
  openRecord,
  sealRecord,
  unwrapCategoryKey,
  wrapCategoryKey,
} from '../../src/key-hierarchy.js';
import { Keystore } from '../../src/keystore.js';
import { platform } from '../../src/platform/web.js';
import { XWingDecapsulationKey, xwingEncapsulate, xwingKeygen } from '../../src/x-wing.js';
import composite from '../fixtures/composite-mldsa65-ed25519.json' with { type: 'json' };
import xwing from '../fixtures/xwing-draft-10.json' with { type: 'json' };

export type BrowserCheck = () => void | Promise<void>;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export const browserChecks: Record<string, BrowserCheck> = {
  'runs in a browser, not Node': () => {
    assert((globalThis as { process?: unknown }).process === undefined, 'globalThis.process is defined');
    assert(typeof document !== 'undefined' && typeof window !== 'undefined', 'no DOM globals');
    assert(platform.name === 'web', `platform is ${platform.name}, expected web`);
  },

  'platform.randomBytes returns distinct 32-byte values': () => {
    const samples = Array.from({ length: 8 }, () => platform.randomBytes(32));
    for (const s of samples)
      assert(s instanceof Uint8Array && s.length === 32, 'randomBytes(32) is not 32 bytes');
    assert(new Set(samples.map(bytesToHex)).size === samples.length, 'randomBytes repeated a value');
  },

  'X-Wing matches draft-connolly-cfrg-xwing-kem-10 Appendix C (noble X25519)': () => {
    assert(xwing.vectors.length === 3, 'expected 3 X-Wing vectors');
    for (const v of xwing.vectors) {
      const { secretKey, publicKey } = xwingKeygen(hexToBytes(v.seed));
      assert(bytesToHex(publicKey) === v.pk, 'X-Wing public key differs from the vector');
      const { cipherText, sharedSecret } = xwingEncapsulate(publicKey, hexToBytes(v.eseed));
      assert(bytesToHex(cipherText) === v.ct, 'X-Wing ciphertext differs from the vector');
      assert(bytesToHex(sharedSecret) === v.ss, 'X-Wing shared secret differs from the vector');
      const decapsulated = new XWingDecapsulationKey(secretKey).decapsulate(cipherText);
      assert(bytesToHex(decapsulated) === v.ss, 'X-Wing decapsulation differs from the vector');
    }
  },

  'HPKE key schedule and sealing match RFC 9180 A.1.1': () => {
    const suite = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0001, Nk: 16 };
    const ss = hexToBytes('fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc');
    const info = hexToBytes('4f6465206f6e2061204772656369616e2055726e');
    const ks = hpkeKeySchedule(suite, ss, info);
    assert(bytesToHex(ks.key) === '4531685d41d65f03dc48f6b8302c05b0', 'HPKE key differs');
    const ct = new HpkeContext(suite, ks).seal(
      hexToBytes('4265617574792069732074727574682c20747275746820626561757479'),
      hexToBytes('436f756e742d30'),
    );
    assert(
      bytesToHex(ct) ===
        'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
      'HPKE sequence-0 ciphertext differs',
    );
  },

  'composite ML-DSA-65 + Ed25519 verifies the LAMPS vector and rejects tampering': () => {
    const pk = hexToBytes(composite.pk);
    assert(
      bytesToHex(compositeKeygen(hexToBytes(composite.sk)).publicKey) === composite.pk,
      'public key differs',
    );
    assert(
      compositeVerify(pk, hexToBytes(composite.m), hexToBytes(composite.s), new Uint8Array(0)),
      'vector s fails',
    );
    const ctx = hexToBytes(composite.ctx);
    assert(
      compositeVerify(pk, hexToBytes(composite.m), hexToBytes(composite.sWithContext), ctx),
      'vector sWithContext fails',
    );
    const bad = hexToBytes(composite.s);
    bad[100]! ^= 1;
    assert(
      !compositeVerify(pk, hexToBytes(composite.m), bad, new Uint8Array(0)),
      'tampered signature verified',
    );
    const { secretKey, publicKey } = compositeKeygen();
    const sig = compositeSign(secretKey, utf8ToBytes('root'), 'medledger/browser/v1');
    assert(
      compositeVerify(publicKey, utf8ToBytes('root'), sig, 'medledger/browser/v1'),
      'own signature fails',
    );
  },

  'key hierarchy: seal, wrap to a holder, unwrap, open; keystore round trip': () => {
    const holder = generateKeyBundle();
    const key = CategoryKey.generate({
      pseudonym: sha256(utf8ToBytes('p')),
      category: DataCategory.Allergies,
      epoch: 0,
    });
    const envelope = sealRecord(
      key,
      { recordId: 'AllergyIntolerance/a1', recordVersion: 1 },
      utf8ToBytes('{"a":1}'),
    );
    const wrapped = wrapCategoryKey(key, {
      keyId: holder.keyId,
      kemPublicKey: holder.publicBundle.kemPublicKey,
    });
    const unwrapped = unwrapCategoryKey(wrapped, {
      keyId: holder.keyId,
      decapsulationKey: new XWingDecapsulationKey(holder.kemSecretKey),
    });
    assert(
      bytesToHex(openRecord(envelope, () => unwrapped).plaintext) === bytesToHex(utf8ToBytes('{"a":1}')),
      'open failed',
    );
    const ks = Keystore.create('browser passphrase', { scrypt: { N: 2 ** 14, r: 8, p: 1 } });
    const reopened = Keystore.open(ks.serialize(), 'browser passphrase');
    assert(reopened.active().keyId === ks.active().keyId, 'keystore did not round-trip');
  },
};
