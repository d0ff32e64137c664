/**
 * Published known answers for the primitives Wycheproof has no plain vectors for here (SHA-512, SHA3-256,
 * SHAKE256, HMAC-SHA512, scrypt), on both platform implementations. Sources: FIPS 180-4 and FIPS 202 examples
 * ("abc", empty input), RFC 4231 §4.3 (HMAC test case 2), RFC 7914 §12 (scrypt).
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8ToBytes } from '../bytes.js';
import { platform as node } from './node.js';
import type { Platform } from './Platform.js';
import { platform as web } from './web.js';

const abc = utf8ToBytes('abc');

describe.each([node, web] as Platform[])('platform $name: published known answers', (p) => {
  it('hashes "abc" per FIPS 180-4 / FIPS 202', () => {
    expect(bytesToHex(p.sha256(abc))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(bytesToHex(p.sha512(abc))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    expect(bytesToHex(p.sha3_256(abc))).toBe(
      '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
    );
    expect(bytesToHex(p.shake256(new Uint8Array(0), 32))).toBe(
      '46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f',
    );
  });

  it('computes RFC 4231 test case 2 for HMAC-SHA-256 and HMAC-SHA-512', () => {
    const key = utf8ToBytes('Jefe');
    const data = utf8ToBytes('what do ya want for nothing?');
    expect(bytesToHex(p.hmacSha256(key, data))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(bytesToHex(p.hmacSha512(key, data))).toBe(
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    );
  });

  it('computes RFC 7914 §12 scrypt("password", "NaCl", N=1024, r=8, p=16)', () => {
    const out = p.scrypt(utf8ToBytes('password'), utf8ToBytes('NaCl'), { N: 1024, r: 8, p: 16, dkLen: 64 });
    expect(bytesToHex(out)).toBe(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    );
  });

  it('refuses AES-GCM IVs outside 8..128 bytes identically', () => {
    const key = new Uint8Array(32);
    for (const len of [0, 7, 129]) {
      expect(() => p.aesGcmEncrypt(key, new Uint8Array(len), abc, abc)).toThrow(RangeError);
      expect(p.aesGcmDecrypt(key, new Uint8Array(len), new Uint8Array(32), abc)).toBeUndefined();
    }
    expect(p.aesGcmEncrypt(key, new Uint8Array(8), abc, abc).length).toBe(3 + 16);
  });
});
