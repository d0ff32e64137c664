/** Access-log entries in plain words, from events shaped as the node writes them (auditEventsOf). */
import { describe, expect, it } from 'vitest';
import { describeAccess, noticesOf, recordWords, whenWords } from './accessWording';

const self = { displayName: 'Pat Jones' };
const event = (over: Record<string, unknown> = {}) => ({
  resourceType: 'AuditEvent',
  subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
  action: 'R',
  recorded: '2026-12-07T14:03:00.000Z',
  outcome: '0',
  agent: [
    {
      who: { identifier: { system: 'urn:medledger:account', value: 'a1' } },
      requestor: true,
      purposeOfUse: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }] },
      ],
    },
  ],
  entity: [{ what: { reference: 'Observation/o1' } }],
  extension: [{ url: 'urn:medledger:route', valueString: 'GET /fhir/:type/:id' }],
  ...over,
});
const doctor = [{ person: 'Dr Meredith Grey', organisation: 'Hospital 1', role: 'doctor', requestor: true }];

describe('access-log entries in plain words', () => {
  it('says who read which kind of record, why and when', () => {
    expect(describeAccess(event(), doctor, false, self, 'UTC')).toEqual({
      when: '7 Dec 2026, 14:03',
      at: '2026-12-07T14:03:00.000Z',
      who: 'Dr Meredith Grey (doctor), Hospital 1',
      what: 'Read your test results',
      why: 'For your treatment',
      refused: false,
      breakGlass: false,
    });
  });

  it('calls the patient’s own accesses “You”', () => {
    const mine = [{ person: 'Pat Jones', organisation: 'Hospital 1', role: 'patient', requestor: true }];
    const e = event({
      agent: [{ requestor: true }],
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'create' }],
      entity: [{ what: { type: 'Consent' } }],
    });
    expect(describeAccess(e, mine, false, self)).toMatchObject({
      who: 'You',
      what: 'Added to your sharing choices',
      why: 'You, using your portal',
    });
  });

  it('finds the kind of record in the route when the event names no resource', () => {
    const created = event({
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'create' }],
      entity: undefined,
      extension: [{ url: 'urn:medledger:route', valueString: 'POST /fhir/Consent' }],
    });
    expect(describeAccess(created, doctor, false, self).what).toBe('Added to your sharing choices');
    const live = event({
      entity: undefined,
      extension: [{ url: 'urn:medledger:route', valueString: 'POST /fhir/Subscription' }],
    });
    expect(describeAccess(live, doctor, false, self).what).toBe('Followed live updates');
  });

  it('flags emergency access and refusals', () => {
    const bg = event({ subtype: [{ system: 'urn:medledger:operation', code: '$break-glass' }] });
    expect(describeAccess(bg, doctor, true, self)).toMatchObject({
      what: 'Opened emergency access to your record',
      why: 'Emergency access (“break the glass”)',
      breakGlass: true,
    });
    expect(describeAccess(event({ outcome: '4' }), doctor, false, self).refused).toBe(true);
  });

  it('names an exchange by the other organisation and its member, in one line', () => {
    const agents = [
      { organisation: 'Riverside Lab', requestor: true },
      { person: 'a member of staff', organisation: 'Riverside Lab', requestor: true },
    ];
    const e = event({
      subtype: [
        { system: 'http://hl7.org/fhir/restful-interaction', code: 'operation' },
        { system: 'urn:medledger:operation', code: '$exchange-request' },
      ],
    });
    expect(describeAccess(e, agents, false, self)).toMatchObject({
      who: 'a member of staff, Riverside Lab',
      what: 'Asked another organisation for your records',
    });
  });

  it('words record kinds without codes', () => {
    expect(recordWords('MedicationRequest')).toBe('your medicines');
    expect(recordWords('Communication')).toBe('your documents and care plans');
    expect(recordWords('Basic')).toBe('your record');
    expect(recordWords(undefined)).toBe('your record');
    expect(whenWords('nonsense')).toBe('nonsense');
  });
});

describe('break-glass notices', () => {
  it('lists the Communications naming a break-glass session, newest first, with who, when, why and until', () => {
    const notice = (id: string, sent: string) => ({
      resourceType: 'Communication',
      id,
      identifier: [{ system: 'urn:medledger:break-glass-session', value: id }],
      sender: { display: 'Dr Meredith Grey (this organisation)' },
      sent,
      reasonCode: [{ text: 'Unconscious in the emergency department' }],
      extension: [{ url: 'urn:medledger:break-glass-expires', valueDateTime: '2026-12-07T15:00:00Z' }],
    });
    const other = { resourceType: 'Communication', id: 'x', sent: '2026-12-08T00:00:00Z' };
    expect(
      noticesOf([notice('1', '2026-12-07T14:00:00Z'), other, notice('2', '2026-12-07T14:30:00Z')]),
    ).toEqual([
      {
        id: '2',
        who: 'Dr Meredith Grey (this organisation)',
        from: '2026-12-07T14:30:00Z',
        until: '2026-12-07T15:00:00Z',
        reason: 'Unconscious in the emergency department',
      },
      expect.objectContaining({ id: '1' }),
    ]);
  });
});
