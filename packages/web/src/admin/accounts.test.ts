import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import {
  accountBody,
  accountFormErrors,
  activationOf,
  activationUnsupported,
  disableRefusal,
  EMPTY_ACCOUNT,
  fieldErrorsOf,
  secondFactorText,
} from './accounts';

const doctor = {
  ...EMPTY_ACCOUNT,
  username: 'dr.new',
  displayName: 'Dr New',
  password: 'correct horse battery',
};
const patient = {
  ...EMPTY_ACCOUNT,
  role: 'patient' as const,
  username: 'pat.new',
  displayName: 'Pat New',
  given: 'Pat  Anne',
  family: 'New',
  birthDate: '1970-01-31',
};

describe('creating an account', () => {
  it('says what to correct next to each field', () => {
    const e = accountFormErrors({ ...EMPTY_ACCOUNT, username: 'has space', password: 'short' }, false);
    expect(e.username).toMatch(/no spaces/);
    expect(e.displayName).toMatch(/name people will see/);
    expect(e.password).toMatch(/at least 12/);
    expect(accountFormErrors({ ...doctor, password: 'dr.new and more words' }, false).password).toMatch(
      /username/,
    );
    expect(accountFormErrors(doctor, false)).toEqual({});
  });

  it('asks a patient’s identity, and a password only when the node issues no activation code', () => {
    expect(accountFormErrors(patient, false)).toEqual({});
    expect(accountFormErrors(patient, true).password).toMatch(/at least 12/);
    expect(accountFormErrors({ ...patient, family: ' ', birthDate: '31/01/1970' }, false)).toMatchObject({
      family: expect.any(String),
      birthDate: expect.stringMatching(/date of birth/),
    });
    expect(accountFormErrors({ ...patient, birthDate: '2999-01-01' }, false).birthDate).toMatch(/future/);
  });

  it('sends an activation request for a patient, or the initial password on a node without activation', () => {
    expect(accountBody(doctor, 'password')).toEqual({
      role: 'doctor',
      username: 'dr.new',
      displayName: 'Dr New',
      password: 'correct horse battery',
    });
    expect(accountBody(patient, 'activation')).toEqual({
      role: 'patient',
      username: 'pat.new',
      displayName: 'Pat New',
      activation: true,
      demographics: { name: [{ family: 'New', given: ['Pat', 'Anne'] }], birthDate: '1970-01-31' },
    });
    const withPassword = accountBody(
      { ...patient, password: 'a long passphrase', gender: 'female' },
      'password',
    );
    expect(withPassword).toMatchObject({ password: 'a long passphrase', demographics: { gender: 'female' } });
    expect(withPassword).not.toHaveProperty('activation');
  });

  it('recognises a node without activation codes by its answer naming the password', () => {
    const refusal = new ApiError('x', 400, [
      { diagnostics: 'password: a patient account needs a password', expression: ['password'] },
    ]);
    expect(activationUnsupported(refusal)).toBe(true);
    expect(
      activationUnsupported(
        new ApiError('x', 400, [{ diagnostics: 'username: …', expression: ['username'] }]),
      ),
    ).toBe(false);
    expect(activationUnsupported(new ApiError('x', 500))).toBe(false);
  });

  it('reads the activation the node answers', () => {
    expect(
      activationOf({
        activation: { code: 'ABCD-EFGH', link: 'http://x/app/activate#c', expiresAt: '2026-12-14T00:00:00Z' },
      }),
    ).toEqual({
      code: 'ABCD-EFGH',
      link: 'http://x/app/activate#c',
      expiresAt: '2026-12-14T00:00:00Z',
    });
    expect(activationOf({ account: {} })).toBeUndefined();
  });

  it('turns the node’s field errors and conflicts into messages next to the field', () => {
    expect(
      fieldErrorsOf(
        new ApiError('x', 400, [
          { diagnostics: 'password: password is too common', expression: ['password'] },
        ]),
      ),
    ).toEqual({
      password: 'Password is too common.',
    });
    expect(
      fieldErrorsOf(new ApiError('x', 409, [{ diagnostics: 'an account with this username exists' }])),
    ).toEqual({
      username: 'This username is taken: choose another.',
    });
    expect(fieldErrorsOf(new ApiError('x', 500))).toBeUndefined();
  });

  it('says plainly why the last administrator cannot be disabled', () => {
    const last = new ApiError('x', 409, [
      {
        diagnostics:
          'this is the last enabled administrator account able to operate the node: it cannot be disabled',
      },
    ]);
    expect(disableRefusal(last)).toMatch(/last administrator who can run this node/);
    expect(disableRefusal(new ApiError('x', 409, [{ diagnostics: 'other' }]))).toBeUndefined();
  });

  it('names the second factors an account has', () => {
    expect(secondFactorText({ totp: true, webauthn: 2 })).toBe('authenticator app, 2 passkeys');
    expect(secondFactorText({ totp: false, webauthn: 1 })).toBe('1 passkey');
    expect(secondFactorText({ totp: false, webauthn: 0 })).toBe('none');
  });
});
