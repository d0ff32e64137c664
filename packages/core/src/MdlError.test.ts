import { describe, expect, it } from 'vitest';
import { isMdlError, MdlError, MdlErrorCode } from './index.js';

describe('MdlError', () => {
  it('carries a stable code and is recognised by isMdlError', () => {
    const err = new MdlError(MdlErrorCode.BadInput, 'nonce must be 12 bytes');
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('MDL_BAD_INPUT');
    expect(isMdlError(err)).toBe(true);
    expect(isMdlError(err, MdlErrorCode.BadInput)).toBe(true);
    expect(isMdlError(err, MdlErrorCode.DecryptFailed)).toBe(false);
  });

  it('does not recognise foreign errors', () => {
    expect(isMdlError(new Error('x'))).toBe(false);
    expect(isMdlError({ name: 'MdlError', code: 'MDL_BAD_INPUT' })).toBe(false);
    expect(isMdlError(undefined)).toBe(false);
  });

  it('codes are unique', () => {
    const codes = Object.values(MdlErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^MDL_[A-Z_]+$/);
  });

  it('carries its issues, and places them under a prefix (a bundle entry)', () => {
    const plain = new MdlError(MdlErrorCode.NotFound, 'resource not found');
    expect(plain.issues).toEqual([]);
    expect(plain.under('Bundle.entry[2]').issues).toEqual([
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: 'resource not found',
        expression: ['Bundle.entry[2]'],
      },
    ]);
    const detailed = new MdlError(MdlErrorCode.BadInput, 'Observation.status is required', {
      issues: [
        { severity: 'error', code: 'required', diagnostics: 'required', expression: ['Observation.status'] },
      ],
    });
    const moved = detailed.under('Bundle.entry[0].resource');
    expect(moved.code).toBe(MdlErrorCode.BadInput);
    expect(moved.issues[0]!.expression).toEqual(['Bundle.entry[0].resource.Observation.status']);
    expect(detailed.issues[0]!.expression).toEqual(['Observation.status']); // the original is unchanged
  });
});
