/** `medledger totp`: what it accepts, what it refuses (one line saying why), and the code it prints. */
import { isMdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { currentTotp, parseTotpInput, totpLine } from '../src/totpCommand.js';

// RFC 6238 appendix B: the ASCII secret "12345678901234567890", in base32.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

const refusal = (input: string) => {
  try {
    parseTotpInput(input);
  } catch (error) {
    expect(isMdlError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
};

describe('medledger totp', () => {
  it('reads an otpauth URI as the node issues it, with its parameters', () => {
    const uri = `otpauth://totp/medledger:dr.house?issuer=medledger&secret=${RFC_SECRET}&algorithm=SHA1&digits=8&period=30`;
    expect(parseTotpInput(uri)).toEqual({ secret: RFC_SECRET, algorithm: 'SHA1', digits: 8, period: 30 });
    // RFC 6238 test vector: T = 59 s, SHA-1, 8 digits.
    expect(currentTotp(parseTotpInput(uri), 59_000)).toEqual({ code: '94287082', secondsLeft: 1 });
  });

  it('reads a bare base32 secret, spaced and in lower case, with the usual defaults', () => {
    const spaced = RFC_SECRET.toLowerCase().replace(/(.{4})/g, '$1 ');
    expect(parseTotpInput(spaced)).toEqual({ secret: RFC_SECRET, algorithm: 'SHA1', digits: 6, period: 30 });
    expect(currentTotp(parseTotpInput(spaced), 59_000).code).toBe('287082');
    expect(currentTotp(parseTotpInput(spaced), 60_000).secondsLeft).toBe(30);
  });

  it('prints one line: the code and the seconds left', () => {
    const line = totpLine(RFC_SECRET, 1_111_111_109_000);
    expect(line).toMatch(/^081804 {2}\(valid for 1 s more;/);
    expect(line).not.toContain('\n');
  });

  it('refuses what is not a TOTP secret, saying why in one line', () => {
    for (const [input, why] of [
      ['', /otpauth/],
      ['   ', /otpauth/],
      ['not a secret!', /base32/],
      ['GEZDGNBV1', /base32/],
      ['otpauth://hotp/x?secret=GEZDGNBV', /totp/],
      ['otpauth://totp/x?issuer=medledger', /no secret/],
      ['otpauth://totp/x?secret=GEZ0', /base32/],
      [`otpauth://totp/x?secret=${RFC_SECRET}&algorithm=MD5`, /algorithm/],
      [`otpauth://totp/x?secret=${RFC_SECRET}&digits=4`, /digits/],
      [`otpauth://totp/x?secret=${RFC_SECRET}&period=0`, /period/],
      [`otpauth://totp/x?secret=${RFC_SECRET}&period=abc`, /period/],
    ] as const) {
      const message = refusal(input);
      expect(message, input).toMatch(why);
      expect(message).not.toContain('\n');
    }
  });
});
