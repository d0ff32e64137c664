import { describe, expect, it } from 'vitest';
import { type BreakGlassSession, patientIdOf, reviewErrors, sessionState } from './breakGlassReview';

describe('the break-glass review form', () => {
  it('asks for an outcome and a finding in words, as the node does', () => {
    expect(reviewErrors({ outcome: '', finding: '' })).toEqual({
      outcome: expect.stringMatching(/Choose/),
      finding: expect.stringMatching(/in words/),
    });
    expect(reviewErrors({ outcome: 'justified', finding: '!!!' }).finding).toMatch(/in words/);
    expect(reviewErrors({ outcome: 'justified', finding: '123' }).finding).toMatch(/in words/);
    expect(reviewErrors({ outcome: 'unjustified', finding: 'x'.repeat(4001) }).finding).toMatch(
      /under 4,000/,
    );
    expect(reviewErrors({ outcome: 'justified', finding: 'Unconscious patient, record needed' })).toEqual({});
  });

  it('knows where a session stands and whose log to open', () => {
    const s: BreakGlassSession = {
      id: 1,
      member: '0x1',
      practitioner: null,
      patient: 'Patient/abc-1',
      reason: 'r',
      openedAt: '',
      expiresAt: '',
      active: true,
      transaction: '0x',
    };
    expect(sessionState(s)).toBe('running');
    expect(sessionState({ ...s, active: false })).toBe('to review');
    expect(
      sessionState({
        ...s,
        active: false,
        review: { auditor: '0x2', justified: true, reviewedAt: '', finding: 'ok' },
      }),
    ).toBe('reviewed');
    expect(patientIdOf(s.patient)).toBe('abc-1');
    expect(patientIdOf(null)).toBeUndefined();
  });
});
