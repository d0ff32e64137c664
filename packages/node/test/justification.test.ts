/**
 * Free text that justifies an action (a break-glass reason, a review finding) must say something in words:
 * invisible characters, punctuation or symbols alone are refused with a 400 naming the field, never echoing it.
 */
import { describe, expect, it } from 'vitest';
import { justification, text } from '../src/features/careRequests.js';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return error as { code: string; message: string; issues: { expression: string[] }[] };
  }
  return expect.fail('expected a refusal');
};

describe('justifications', () => {
  it('refuses text made only of format characters, whitespace, punctuation or symbols, or too short', () => {
    for (const value of [
      '\u200b', // zero-width space
      '\u200f', // right-to-left mark
      '\u202e\u2066\u2069', // bidi override and isolates
      '\ufeff\u2060 \u00a0\n\t',
      '...',
      '!!!???',
      '— · —',
      '🚑🚑🚑',
      'ok',
      '\u200bo\u200bk\u200b',
      '123',
    ]) {
      const error = refusal(() => justification(value, 'reason', 1000));
      expect(error.code, JSON.stringify(value)).toBe('MDL_BAD_INPUT');
      expect(error.issues[0]!.expression).toEqual(['reason']);
      expect(error.message).not.toContain(value.trim() || '\u0000');
    }
  });

  it('accepts real reasons in any script, marks and all, as given (trimmed, NFC)', () => {
    for (const value of [
      'Unconscious on arrival; allergy history needed',
      'Pt unresponsive, ED bed 4',
      '\u200fהמטופל מחוסר הכרה\u200f',
      'المريض فاقد الوعي',
      '病人昏迷',
      'GCS 3 — no ID',
    ]) {
      expect(justification(` ${value}\n`, 'reason', 1000)).toBe(value.normalize('NFC'));
    }
  });

  it('counts a text of invisible characters as empty for every free-text field', () => {
    expect(refusal(() => text('\u200b\u200c', 'displayName', 200)).message).toBe(
      'displayName: must not be empty',
    );
    expect(text('Dr\u200b Who', 'displayName', 200)).toBe('Dr\u200b Who');
  });
});
