import { describe, expect, it } from 'vitest';
import { parseOtpAuth } from './otpauth';

describe('an otpauth:// URI taken apart', () => {
  it('gives the key in groups of four and the parameters', () => {
    const otp = parseOtpAuth(
      'otpauth://totp/medledger%3Adr.new?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=medledger&algorithm=SHA1&digits=6&period=30',
    );
    expect(otp).toEqual({
      label: 'medledger:dr.new',
      issuer: 'medledger',
      secret: 'JBSWY3DPEHPK3PXPJBSWY3DP',
      grouped: 'JBSW Y3DP EHPK 3PXP JBSW Y3DP',
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
  });

  it('refuses what is not a TOTP URI', () => {
    expect(parseOtpAuth('https://example.org')).toBeUndefined();
    expect(parseOtpAuth('otpauth://hotp/x?secret=ABC')).toBeUndefined();
    expect(parseOtpAuth('otpauth://totp/x?secret=not-base32!')).toBeUndefined();
    expect(parseOtpAuth('not a uri')).toBeUndefined();
  });
});
