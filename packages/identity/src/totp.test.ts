import { Secret } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TOTP,
  generateTotpSecret,
  matchTotp,
  type TotpAlgorithm,
  type TotpSecret,
  totpCode,
  totpStep,
  totpUri,
} from './totp.js';

// RFC 6238 Appendix B: the seeds of the reference implementation (one per hash), 8 digits, 30 s steps.
const SEEDS: Record<TotpAlgorithm, string> = {
  SHA1: '12345678901234567890',
  SHA256: '12345678901234567890123456789012',
  SHA512: '1234567890123456789012345678901234567890123456789012345678901234',
};
const VECTORS: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

function rfcSecret(algorithm: TotpAlgorithm): TotpSecret {
  return { algorithm, digits: 8, period: 30, secret: Secret.fromLatin1(SEEDS[algorithm]).base32 };
}

describe('TOTP (RFC 6238)', () => {
  it('computes every Appendix B vector for SHA-1, SHA-256 and SHA-512', () => {
    let n = 0;
    for (const [time, ...codes] of VECTORS) {
      (['SHA1', 'SHA256', 'SHA512'] as const).forEach((algorithm, i) => {
        expect(totpCode(rfcSecret(algorithm), time * 1000), `${algorithm} at ${time}`).toBe(codes[i]);
        n++;
      });
    }
    expect(n).toBe(18);
  });

  it('accepts the Appendix B codes within ±1 step and reports their step', () => {
    for (const [time, sha1, sha256, sha512] of VECTORS) {
      for (const [algorithm, code] of [
        ['SHA1', sha1],
        ['SHA256', sha256],
        ['SHA512', sha512],
      ] as const) {
        const step = Math.floor(time / 30);
        const secret = rfcSecret(algorithm);
        expect(matchTotp(secret, code, { nowMs: time * 1000 })).toBe(step);
        expect(matchTotp(secret, code, { nowMs: (time + 30) * 1000 })).toBe(step);
        expect(matchTotp(secret, code, { nowMs: (time - 30) * 1000 })).toBe(step);
        // Two steps away is outside the window.
        expect(matchTotp(secret, code, { nowMs: (time + 60) * 1000 })).toBeUndefined();
        expect(matchTotp(secret, code, { nowMs: (time - 60) * 1000 })).toBeUndefined();
      }
    }
  });

  it('refuses a code whose step was already used, and older codes still inside the window', () => {
    const secret = rfcSecret('SHA1');
    const now = 1111111111 * 1000; // step 37037037
    const step = totpStep(30, now);
    expect(matchTotp(secret, '14050471', { nowMs: now, lastUsedStep: step - 1 })).toBe(step);
    expect(matchTotp(secret, '14050471', { nowMs: now, lastUsedStep: step })).toBeUndefined();
    const previous = totpCode(secret, now - 30_000);
    expect(matchTotp(secret, previous, { nowMs: now, lastUsedStep: step })).toBeUndefined();
    // The next step's code is still fine after the current one was used.
    const next = totpCode(secret, now + 30_000);
    expect(matchTotp(secret, next, { nowMs: now, lastUsedStep: step })).toBe(step + 1);
  });

  it('refuses wrong, malformed and wrong-length codes', () => {
    const secret = rfcSecret('SHA256');
    const now = 59_000;
    for (const code of ['46119247', '4611924', '461192466', 'abcdefgh', '', '4611924x', '+46119246']) {
      expect(matchTotp(secret, code, { nowMs: now }), code).toBeUndefined();
    }
    // Spaces and dashes people type are ignored.
    expect(matchTotp(secret, '4611 9246', { nowMs: now })).toBe(1);
    expect(matchTotp(secret, 46119246 as unknown as string, { nowMs: now })).toBeUndefined();
  });

  it('generates 160-bit secrets and an otpauth URI authenticator apps understand', () => {
    const secret = generateTotpSecret();
    expect(secret).toMatchObject(DEFAULT_TOTP);
    expect(Secret.fromBase32(secret.secret).bytes).toHaveLength(20);
    expect(generateTotpSecret().secret).not.toBe(secret.secret);
    const uri = new URL(totpUri(secret, { issuer: 'St Mary', label: 'dr.who' }));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/St Mary:dr.who');
    expect(uri.searchParams.get('secret')).toBe(secret.secret);
    expect(uri.searchParams.get('issuer')).toBe('St Mary');
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
    const now = Date.now();
    expect(matchTotp(secret, totpCode(secret, now), { nowMs: now })).toBe(totpStep(30, now));
  });

  it('refuses unsupported parameters and secrets that are not base32', () => {
    expect(() => generateTotpSecret({ algorithm: 'MD5' as TotpAlgorithm, digits: 6, period: 30 })).toThrow(
      expect.objectContaining({ code: 'MDL_BAD_INPUT' }),
    );
    expect(() => generateTotpSecret({ ...DEFAULT_TOTP, digits: 4 as 6 })).toThrow();
    expect(() => generateTotpSecret({ ...DEFAULT_TOTP, period: 1 })).toThrow();
    expect(() => totpCode({ ...DEFAULT_TOTP, secret: 'not base32!' }, 0)).toThrow(
      expect.objectContaining({ code: 'MDL_BAD_INPUT' }),
    );
  });
});
