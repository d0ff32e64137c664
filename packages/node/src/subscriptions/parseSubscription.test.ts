import { DataCategory, MdlError } from '@medledger/core';
import { describe, expect, it } from 'vitest';
import { notificationBundle } from './notificationBundle.js';
import { BACKPORT, parseSubscription } from './parseSubscription.js';
import { hookTargetAllowed } from './restHook.js';
import { topicOfWrite } from './topics.js';

const base = 'https://node.example/fhir';
const options = {
  base,
  endpointAllowed: (url: URL) => hookTargetAllowed(url, ['hooks.example', '127.0.0.1:9000']),
  now: new Date('2026-12-07T12:00:00Z'),
};
const subscription = (
  channel: Record<string, unknown> = { type: 'websocket' },
  filter = 'patient=Patient/p-1',
) => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'r',
  criteria: `${base}/SubscriptionTopic/patient-results`,
  _criteria: { extension: [{ url: `${BACKPORT}/backport-filter-criteria`, valueString: filter }] },
  channel,
});
const refusal = (body: unknown): string => {
  try {
    parseSubscription(body, options);
  } catch (error) {
    expect(error).toBeInstanceOf(MdlError);
    return (error as MdlError).message;
  }
  throw new Error('accepted');
};

describe('parseSubscription', () => {
  it('reads the backport form: topic, patient filter, channel, payload content, heartbeat', () => {
    const parsed = parseSubscription(
      subscription({
        type: 'websocket',
        payload: 'application/fhir+json',
        _payload: {
          extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'full-resource' }],
        },
        extension: [{ url: `${BACKPORT}/backport-heartbeat-period`, valueUnsignedInt: 30 }],
      }),
      options,
    );
    expect(parsed).toEqual({
      topic: 'patient-results',
      patientId: 'p-1',
      channel: 'websocket',
      headers: [],
      payload: 'full-resource',
      heartbeatSeconds: 30,
      timeoutSeconds: 10,
    });
    expect(parseSubscription(subscription(undefined, 'Observation?patient=p-1'), options).patientId).toBe(
      'p-1',
    );
    expect(
      parseSubscription(
        subscription({ type: 'rest-hook', endpoint: 'https://hooks.example/in', header: ['X-Key: abc'] }),
        options,
      ),
    ).toMatchObject({ channel: 'rest-hook', endpoint: 'https://hooks.example/in', headers: ['X-Key: abc'] });
  });

  it('refuses what it does not do, naming the element', () => {
    expect(refusal(subscription(undefined, 'code=123'))).toContain('backport-filter-criteria');
    expect(refusal(subscription(undefined, 'Consent?patient=p-1'))).toContain(
      'type this topic does not cover',
    );
    expect(
      refusal({
        ...subscription(),
        criteria: 'https://elsewhere.example/fhir/SubscriptionTopic/patient-results',
      }),
    ).toContain('Subscription.criteria');
    expect(refusal(subscription({ type: 'email' }))).toContain('Subscription.channel.type');
    expect(refusal(subscription({ type: 'rest-hook', endpoint: 'http://10.0.0.8/' }))).toContain(
      'allow-list',
    );
    expect(refusal(subscription({ type: 'rest-hook', endpoint: 'http://127.0.0.1:9001/' }))).toContain(
      'allow-list',
    );
    expect(refusal(subscription({ type: 'rest-hook', endpoint: 'https://u:p@hooks.example/' }))).toContain(
      'credentials',
    );
    expect(
      refusal(subscription({ type: 'rest-hook', endpoint: 'https://hooks.example/', header: ['Host: x'] })),
    ).toContain('channel.header');
    expect(refusal(subscription({ type: 'websocket', endpoint: 'https://hooks.example/' }))).toContain(
      'endpoint',
    );
    expect(
      refusal(
        subscription({
          type: 'websocket',
          extension: [{ url: `${BACKPORT}/backport-timeout`, valueUnsignedInt: 600 }],
        }),
      ),
    ).toContain('backport-timeout');
    expect(refusal({ ...subscription(), end: '2026-12-07T11:00:00Z' })).toContain('Subscription.end');
    expect(refusal({ ...subscription(), status: 'error' })).toContain('Subscription.status');
  });
});

describe('rest-hook allow-list', () => {
  it('matches the URL’s host exactly, with the port when the entry names one', () => {
    const list = ['hooks.example', '127.0.0.1:9000', '[::1]'];
    expect(hookTargetAllowed(new URL('https://hooks.example/x'), list)).toBe(true);
    expect(hookTargetAllowed(new URL('https://evil.hooks.example/x'), list)).toBe(false);
    expect(hookTargetAllowed(new URL('https://hooks.example.evil/x'), list)).toBe(false);
    expect(hookTargetAllowed(new URL('http://127.0.0.1:9000/'), list)).toBe(true);
    expect(hookTargetAllowed(new URL('http://127.0.0.1:9001/'), list)).toBe(false);
    expect(hookTargetAllowed(new URL('http://[::1]:8080/'), list)).toBe(true);
    expect(hookTargetAllowed(new URL('file:///etc/passwd'), list)).toBe(false);
    expect(hookTargetAllowed(new URL('https://hooks.example/x'), [])).toBe(false);
  });
});

describe('notifications and topics', () => {
  const write = {
    id: 'c1',
    version: 1,
    deleted: false,
    lastUpdated: new Date(),
    pseudonym: new Uint8Array(32),
    category: DataCategory.Observations,
    systemOwned: true,
  };
  it('maps committed writes to topics: results, consent, break-glass notices only when marked as such', () => {
    expect(topicOfWrite({ ...write, type: 'DiagnosticReport', markers: [] })).toBe('patient-results');
    expect(topicOfWrite({ ...write, type: 'Consent', markers: [] })).toBe('patient-consent');
    expect(topicOfWrite({ ...write, type: 'Communication', markers: [] })).toBeUndefined();
    expect(
      topicOfWrite({ ...write, type: 'Communication', markers: ['urn:medledger:break-glass-session'] }),
    ).toBe('patient-break-glass');
    expect(topicOfWrite({ ...write, type: 'Condition', markers: [] })).toBeUndefined();
  });

  it('builds a history Bundle: the status first, then the focus (with the resource only for full-resource)', () => {
    const input = {
      base,
      subscriptionId: 's1',
      topicUrl: `${base}/SubscriptionTopic/patient-results`,
      status: 'active' as const,
      type: 'event-notification' as const,
      eventsSinceStart: 3,
      events: [
        {
          number: 3,
          timestamp: new Date(),
          focus: { type: 'Observation', id: 'o1', version: 2, deleted: false },
          resource: { resourceType: 'Observation', id: 'o1' },
        },
      ],
    };
    const idOnly = notificationBundle(input, 'id-only') as { type: string; entry: Record<string, any>[] };
    expect(idOnly.type).toBe('history');
    expect(idOnly.entry[0]!.resource.resourceType).toBe('Parameters');
    expect(idOnly.entry[1]).toEqual({
      fullUrl: `${base}/Observation/o1`,
      request: { method: 'PUT', url: 'Observation/o1' },
      response: { status: '200' },
    });
    const full = notificationBundle(input, 'full-resource') as { entry: Record<string, any>[] };
    expect(full.entry[1]!.resource.id).toBe('o1');
    const empty = notificationBundle(input, 'empty') as { entry: Record<string, any>[] };
    expect(empty.entry).toHaveLength(1);
    expect(JSON.stringify(empty)).not.toContain('o1');
  });
});
