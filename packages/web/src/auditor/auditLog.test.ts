import { describe, expect, it } from 'vitest';
import {
  describeEntry,
  explainVerification,
  filterErrors,
  isFiltered,
  matchesFilter,
  NO_FILTER,
  newestWindow,
  olderWindow,
  type ProvenEntry,
} from './auditLog';

const entry = (over: Partial<ProvenEntry['event']> = {}, breakGlass = false): ProvenEntry => ({
  index: 7,
  commitment: 'c',
  proof: [],
  breakGlass,
  event: {
    resourceType: 'AuditEvent',
    action: 'R',
    recorded: '2026-12-07T10:00:00.000Z',
    outcome: '0',
    agent: [
      {
        role: [{ coding: [{ system: 'urn:medledger:role', code: 'doctor' }] }],
        who: { identifier: { system: 'urn:medledger:account', value: 'acc-0123456789' } },
        altId: 'urn:medledger:member:0xabcdef0000000000000000000000000000000001',
        requestor: true,
        purposeOfUse: [{ coding: [{ code: 'ETREAT' }] }],
        network: { address: '127.0.0.1', type: '2' },
      },
    ],
    entity: [
      { what: { reference: 'Observation/42' } },
      { what: { identifier: { system: 'urn:medledger:record-pseudonym', value: 'ab12cd34ef56' } } },
    ],
    extension: [{ url: 'urn:medledger:route', valueString: 'GET /fhir/:type/:id' }],
    ...over,
  },
});

describe('an access-log entry in words', () => {
  it('names the role, account, member, resource, patient pseudonym, purpose and outcome', () => {
    const v = describeEntry(entry());
    expect(v).toMatchObject({
      who: 'doctor · account acc-0123…',
      account: 'acc-0123456789',
      member: '0xabcdef0000000000000000000000000000000001',
      actionLabel: 'Read',
      resource: 'Observation/42',
      patient: 'ab12cd34ef56',
      purpose: 'emergency treatment',
      outcomeLabel: 'Success',
      route: 'GET /fhir/:type/:id',
      address: '127.0.0.1',
      breakGlass: false,
    });
  });

  it('says who an unauthenticated request came from and why it was refused', () => {
    const v = describeEntry(
      entry({
        agent: [{ who: { display: 'unauthenticated client' }, requestor: true }],
        outcome: '4',
        outcomeDesc: 'denied by the access policy',
      }),
    );
    expect(v.who).toBe('unauthenticated client');
    expect(v.outcomeLabel).toBe('Refused or failed');
    expect(v.outcomeDesc).toBe('denied by the access policy');
    expect(v.patient).toBe('ab12cd34ef56');
  });
});

describe('filters', () => {
  const v = describeEntry(entry({}, true));
  it('match on dates (inclusive, local days), person, action, outcome and break-glass', () => {
    expect(matchesFilter(v, NO_FILTER)).toBe(true);
    const day = new Date('2026-12-07T10:00:00.000Z');
    const local = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}`;
    expect(matchesFilter(v, { ...NO_FILTER, from: local, to: local })).toBe(true);
    expect(matchesFilter(v, { ...NO_FILTER, from: '2026-12-08' })).toBe(false);
    expect(matchesFilter(v, { ...NO_FILTER, to: '2026-12-06' })).toBe(false);
    expect(matchesFilter(v, { ...NO_FILTER, person: 'ACC-0123' })).toBe(true);
    expect(matchesFilter(v, { ...NO_FILTER, person: '0xabcdef' })).toBe(true);
    expect(matchesFilter(v, { ...NO_FILTER, person: 'nurse' })).toBe(false);
    expect(matchesFilter(v, { ...NO_FILTER, action: 'C' })).toBe(false);
    expect(matchesFilter(v, { ...NO_FILTER, outcome: '0', breakGlassOnly: true })).toBe(true);
    expect(matchesFilter(describeEntry(entry()), { ...NO_FILTER, breakGlassOnly: true })).toBe(false);
    expect(isFiltered(NO_FILTER)).toBe(false);
    expect(isFiltered({ ...NO_FILTER, breakGlassOnly: true })).toBe(true);
  });

  it('say what to correct: malformed dates, an end before the start, a malformed patient id', () => {
    expect(filterErrors(NO_FILTER)).toEqual({});
    expect(filterErrors({ ...NO_FILTER, from: '07/12/2026' }).from).toMatch(/date such as/);
    expect(filterErrors({ ...NO_FILTER, from: '2026-12-07', to: '2026-12-01' }).to).toMatch(
      /before the start/,
    );
    expect(filterErrors({ ...NO_FILTER, patient: 'a b' }).patient).toMatch(/Patient id/);
    expect(filterErrors({ ...NO_FILTER, patient: 'e3b0c442-98fc' })).toEqual({});
  });
});

describe('paging the log newest first', () => {
  it('starts at the last page and walks back to the first entry', () => {
    expect(newestWindow(0)).toBeUndefined();
    expect(newestWindow(42)).toEqual({ cursor: 0, count: 42 });
    const first = newestWindow(250, 100)!;
    expect(first).toEqual({ cursor: 150, count: 100 });
    const second = olderWindow(first, 100)!;
    expect(second).toEqual({ cursor: 50, count: 100 });
    const third = olderWindow(second, 100)!;
    expect(third).toEqual({ cursor: 0, count: 50 });
    expect(olderWindow(third, 100)).toBeUndefined();
  });
});

describe('the verification report in words', () => {
  it('says the log is intact and what was checked', () => {
    const r = explainVerification({ ok: true, size: 1234, checkpoints: 5, unsignedEntries: 2, anchors: 3 });
    expect(r.ok).toBe(true);
    expect(r.headline).toBe('The audit log is intact.');
    expect(r.details.join(' ')).toContain('1,234 entries recomputed');
    expect(r.details.join(' ')).toContain('3 on-chain anchors');
    expect(r.details.join(' ')).toContain('2 entries not yet covered');
  });

  it('explains each kind of divergence', () => {
    const bad = (divergence: Record<string, unknown>) =>
      explainVerification({ ok: false, size: 10, checkpoints: 1, unsignedEntries: 0, anchors: 1, divergence })
        .details[0];
    expect(bad({ kind: 'entry', index: 3, reason: 'missing' })).toMatch(/^Entry 3 is missing/);
    expect(bad({ kind: 'entry', index: 3, reason: 'commitment' })).toMatch(/does not match its commitment/);
    expect(bad({ kind: 'anchor', size: 9, reason: 'root' })).toMatch(
      /anchored on-chain for 9 entries .* rewritten/,
    );
    expect(bad({ kind: 'checkpoint', id: 2, size: 8, position: 1, reason: 'root', entriesFrom: 4 })).toMatch(
      /Checkpoint 2 \(8 entries\): .* from 4 on was changed/,
    );
    expect(bad({ kind: 'checkpoint', id: 2, size: 8, position: 1, reason: 'signature' })).toMatch(
      /signature/,
    );
    expect(
      explainVerification({ ok: false, size: 0, checkpoints: 0, unsignedEntries: 0, anchors: 0 }).headline,
    ).toBe('The audit log does not verify.');
  });
});
