import { describe, expect, it } from 'vitest';
import { findDuplicateMember, parseJsonBody } from '../src/parseJsonBody.js';

const enc = new TextEncoder();

describe('parseJsonBody', () => {
  it('parses strings and UTF-8 bytes', () => {
    expect(parseJsonBody('{"resourceType":"Patient","name":[{"family":"Ødegård"}]}', 1000)).toEqual({
      ok: true,
      value: { resourceType: 'Patient', name: [{ family: 'Ødegård' }] },
    });
    expect(parseJsonBody(enc.encode('{"a":"€"}'), 100)).toEqual({ ok: true, value: { a: '€' } });
  });

  it('rejects oversize bodies before parsing, counting UTF-8 bytes', () => {
    const r = parseJsonBody('{"a":"x"}', 8);
    expect(r).toMatchObject({ ok: false, issues: [{ code: 'too-long' }] });
    expect(parseJsonBody('"€€€"', 10)).toMatchObject({ ok: false, issues: [{ code: 'too-long' }] }); // 11 bytes
    expect(parseJsonBody('"€€€"', 11).ok).toBe(true);
    // Not valid JSON, but too long is reported first: the parser never sees it.
    expect(parseJsonBody(new Uint8Array(2000), 1000)).toMatchObject({
      ok: false,
      issues: [{ code: 'too-long' }],
    });
  });

  it('rejects invalid UTF-8 and invalid JSON without quoting the input', () => {
    const badUtf8 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]);
    expect(parseJsonBody(badUtf8, 100)).toMatchObject({ ok: false, issues: [{ code: 'structure' }] });
    for (const text of ['{"name": "Alice Secret"', '', "{'a':1}", '{"a":1,}', 'NaN']) {
      const r = parseJsonBody(text, 100);
      expect(r.ok, text).toBe(false);
      if (!r.ok) {
        expect(r.issues[0]!.code).toBe('structure');
        expect(r.issues[0]!.diagnostics).not.toContain('Alice');
      }
    }
  });

  it('rejects duplicate member names, also when spelled with escapes, and names the element', () => {
    expect(parseJsonBody('{"resourceType":"Patient","gender":"male","gender":"female"}', 100)).toMatchObject({
      ok: false,
      issues: [{ code: 'structure', expression: ['Patient.gender'] }],
    });
    expect(
      parseJsonBody('{"resourceType":"Patient","name":[{"family":"a"},{"given":[],"giv\\u0065n":[]}]}', 200),
    ).toMatchObject({ ok: false, issues: [{ expression: ['Patient.name[1].given'] }] });
    // The same name in sibling objects, and names inside string values, are not duplicates.
    expect(parseJsonBody('[{"a":1},{"a":2},{"b":"\\"a\\":1,\\"a\\""}]', 100).ok).toBe(true);
    expect(findDuplicateMember('{"a":{"b":1,"c":[1,{"d":1,"d":2}]}}')).toEqual(['a', 'c', 1, 'd']);
  });
});
