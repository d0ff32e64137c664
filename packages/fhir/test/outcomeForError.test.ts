import { MdlError, MdlErrorCode } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { operationOutcome } from '../src/operationOutcome.js';
import { outcomeForError } from '../src/outcomeForError.js';
import { validateResource } from '../src/validateResource.js';

describe('operationOutcome', () => {
  it('builds a valid R4 OperationOutcome without id', () => {
    const oo = operationOutcome([
      { severity: 'error', code: 'structure', diagnostics: 'Unknown element', expression: ['Patient.foo'] },
    ]);
    expect(oo).toEqual({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'error', code: 'structure', diagnostics: 'Unknown element', expression: ['Patient.foo'] },
      ],
    });
    expect(validateResource(oo).ok).toBe(true);
    const empty = operationOutcome([]);
    expect(empty.issue).toHaveLength(1);
    expect(validateResource(empty).ok).toBe(true);
  });
});

describe('outcomeForError', () => {
  const cases: [string, number, string][] = [
    [MdlErrorCode.BadInput, 400, 'invalid'],
    [MdlErrorCode.Unsupported, 400, 'not-supported'],
    [MdlErrorCode.NotFound, 404, 'not-found'],
    [MdlErrorCode.Gone, 410, 'deleted'],
    [MdlErrorCode.VersionConflict, 412, 'conflict'],
    [MdlErrorCode.MultipleMatches, 412, 'multiple-matches'],
    [MdlErrorCode.Unauthenticated, 401, 'login'],
    [MdlErrorCode.Unavailable, 503, 'transient'],
    [MdlErrorCode.Forbidden, 403, 'forbidden'],
    [MdlErrorCode.RateLimited, 429, 'throttled'],
    [MdlErrorCode.InvalidCredential, 401, 'security'],
    [MdlErrorCode.Replay, 401, 'security'],
    [MdlErrorCode.Conflict, 409, 'conflict'],
  ];
  it.each(cases)('%s → %d %s with the MdlError message', (code, status, issueCode) => {
    const { status: s, outcome } = outcomeForError(new MdlError(code as MdlErrorCode, 'safe message'));
    expect(s).toBe(status);
    expect(outcome.issue).toEqual([{ severity: 'error', code: issueCode, diagnostics: 'safe message' }]);
    expect(validateResource(outcome).ok).toBe(true);
  });

  it('integrity failures get a fixed generic text', () => {
    for (const code of [MdlErrorCode.DecryptFailed, MdlErrorCode.CidMismatch, MdlErrorCode.KeyNotFound]) {
      const r = outcomeForError(new MdlError(code, 'key k-42 for record r-7'));
      expect(r.status).toBe(500);
      expect(r.outcome.issue[0]).toMatchObject({ code: 'exception' });
      expect(r.outcome.issue[0]!.diagnostics).not.toContain('k-42');
    }
  });

  it('anything else is a 500 internal error that never shows the message', () => {
    for (const err of [
      new Error('patient John Doe not found'),
      new MdlError(MdlErrorCode.Config, 'DATABASE_URL=postgres://secret'),
      'string thrown',
      undefined,
    ]) {
      const r = outcomeForError(err);
      expect(r).toEqual({
        status: 500,
        outcome: {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'exception', diagnostics: 'internal error' }],
        },
      });
    }
  });

  it('answers an error’s own issues with its code’s status (a transaction entry’s 404 stays a 404)', () => {
    const err = new MdlError(MdlErrorCode.NotFound, 'resource not found', {
      issues: [
        {
          severity: 'error',
          code: 'not-found',
          diagnostics: 'resource not found',
          expression: ['Bundle.entry[1]'],
        },
      ],
    });
    const r = outcomeForError(err);
    expect(r.status).toBe(404);
    expect(r.outcome.issue).toEqual([
      {
        severity: 'error',
        code: 'not-found',
        diagnostics: 'resource not found',
        expression: ['Bundle.entry[1]'],
      },
    ]);
    const conflict = outcomeForError(new MdlError(MdlErrorCode.VersionConflict, 'x', { issues: err.issues }));
    expect(conflict.status).toBe(412);
  });

  it('maps every code (the compiler checks the table is complete; this checks none is a 500 by accident)', () => {
    const serverSide = ['MDL_DECRYPT_FAILED', 'MDL_CID_MISMATCH', 'MDL_KEY_NOT_FOUND', 'MDL_CONFIG'];
    for (const code of Object.values(MdlErrorCode)) {
      const { status } = outcomeForError(new MdlError(code, 'safe message'));
      expect(status >= 500).toBe(
        serverSide.includes(code) || code.startsWith('MDL_KEYSTORE') || code === 'MDL_UNAVAILABLE',
      );
    }
  });
});
