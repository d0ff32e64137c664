import { describe, expect, it } from 'vitest';
import { listWords, sentence, summariseAccess } from './accessSummary';

const allowed = (code: string, action: string, via: string, until?: string) => ({
  name: 'allowed',
  part: [
    { name: 'category', valueCoding: { code, display: code[0]!.toUpperCase() + code.slice(1) } },
    { name: 'action', valueCode: action },
    { name: 'via', valueCode: via },
    ...(until ? [{ name: 'until', valueInstant: until }] : []),
  ],
});

describe('what the clinician may see, in words', () => {
  it('groups categories by action, reason and end, and finds the break-glass session', () => {
    const summary = summariseAccess({
      resourceType: 'Parameters',
      parameter: [
        { name: 'purpose', valueCode: 'TREAT' },
        allowed('observations', 'read', 'grant', '2026-12-08T18:00:00.000Z'),
        allowed('conditions', 'read', 'grant', '2026-12-08T18:00:00.000Z'),
        allowed('observations', 'write', 'grant', '2026-12-08T18:00:00.000Z'),
        allowed('medications', 'read', 'break-glass', '2026-12-07T16:30:00.000Z'),
        {
          name: 'breakGlass',
          part: [
            { name: 'session', valueString: '7' },
            { name: 'expires', valueInstant: '2026-12-07T16:30:00.000Z' },
          ],
        },
      ],
    });
    expect(summary.purpose).toBe('TREAT');
    expect(summary.breakGlass).toEqual({ session: '7', expires: '2026-12-07T16:30:00.000Z' });
    expect(summary.lines.map((l) => sentence(l, 'UTC'))).toEqual([
      'You may read observations and conditions with the patient’s consent, until 8 Dec 2026 18:00.',
      'You may add observations with the patient’s consent, until 8 Dec 2026 18:00.',
      'You may read medications under emergency access, until 16:30.',
    ]);
  });

  it('says nothing when nothing is allowed, and lists words naturally', () => {
    expect(summariseAccess({ resourceType: 'Parameters' }).lines).toEqual([]);
    expect(listWords([])).toBe('');
    expect(listWords(['a'])).toBe('a');
    expect(listWords(['a', 'b', 'c'])).toBe('a, b and c');
  });
});
