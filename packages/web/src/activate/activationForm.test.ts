import { describe, expect, it } from 'vitest';
import {
  codeFromFragment,
  confirmationProblem,
  looksLikeCode,
  passwordProblem,
  setupKeyOf,
} from './activationForm';

describe('the activation form', () => {
  it('reads the code from the link’s fragment and accepts it typed loosely', () => {
    expect(codeFromFragment('#code=ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-23')).toBe(
      'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-23',
    );
    expect(codeFromFragment('')).toBeUndefined();
    expect(looksLikeCode('abcd efgh jkmn pqrs tvwx yz01 23')).toBe(true);
    expect(looksLikeCode('ABCD-EFGH')).toBe(false);
  });

  it('says what to change about a password, as the node’s policy would', () => {
    expect(passwordProblem('short')).toMatch(/at least 12 characters \(5 so far\)/);
    expect(passwordProblem('aaaaaaaaaaaaaa')).toMatch(/repeats/);
    expect(passwordProblem('abcdefghijklmn')).toMatch(/runs/);
    expect(passwordProblem('my name is pat.jones ok', 'pat.jones')).toMatch(/username/);
    expect(passwordProblem('river lantern copper seven')).toBeUndefined();
    expect(confirmationProblem('a', 'b')).toMatch(/differ/);
    expect(confirmationProblem('a', '')).toBeUndefined();
  });

  it('shows the setup key of an authenticator enrolment', () => {
    expect(setupKeyOf('otpauth://totp/medledger:pat?secret=JBSWY3DPEHPK3PXP&issuer=medledger')).toBe(
      'JBSW Y3DP EHPK 3PXP',
    );
    expect(setupKeyOf('nonsense')).toBeUndefined();
  });
});
