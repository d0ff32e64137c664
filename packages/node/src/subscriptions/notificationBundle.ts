/**
 * The Subscriptions Backport IG's R4 shapes: the subscription status (a `Parameters` resource with the
 * backport-subscription-status-r4 profile) and the subscription-notification `Bundle` (type `history`, the
 * status first, then one entry per event focus). Pure.
 */
import { randomUUID } from 'node:crypto';
import type { PayloadContent } from './parseSubscription.js';

export const STATUS_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';
export const NOTIFICATION_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';

export type SubscriptionState = 'requested' | 'active' | 'error' | 'off';
export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status';

export interface NotificationEvent {
  number: number;
  timestamp: Date;
  /** The record the event is about; absent for access-log events (their entries are read at /audit). */
  focus?: { type: string; id: string; version: number; deleted: boolean };
  /** full-resource payloads: the resource as the subscriber may read it now. */
  resource?: Record<string, unknown>;
}

export interface StatusInput {
  base: string;
  subscriptionId: string;
  topicUrl: string;
  status: SubscriptionState;
  type: NotificationType;
  eventsSinceStart: number;
  events?: readonly NotificationEvent[];
  error?: string;
}

/** The SubscriptionStatus as R4 Parameters. */
export function subscriptionStatus(
  s: StatusInput,
  payload: PayloadContent = 'id-only',
): Record<string, unknown> {
  const parameter: Record<string, unknown>[] = [
    { name: 'subscription', valueReference: { reference: `${s.base}/Subscription/${s.subscriptionId}` } },
    { name: 'topic', valueCanonical: s.topicUrl },
    { name: 'status', valueCode: s.status },
    { name: 'type', valueCode: s.type },
    { name: 'events-since-subscription-start', valueString: String(s.eventsSinceStart) },
  ];
  for (const e of s.events ?? []) {
    const part: Record<string, unknown>[] = [
      { name: 'event-number', valueString: String(e.number) },
      { name: 'timestamp', valueInstant: e.timestamp.toISOString() },
    ];
    if (e.focus && payload !== 'empty') {
      part.push({ name: 'focus', valueReference: { reference: `${s.base}/${e.focus.type}/${e.focus.id}` } });
    }
    parameter.push({ name: 'notification-event', part });
  }
  if (s.error) {
    parameter.push({ name: 'error', valueCodeableConcept: { text: s.error } });
  }
  return { resourceType: 'Parameters', meta: { profile: [STATUS_PROFILE] }, parameter };
}

/** A subscription-notification Bundle: the status, then (id-only, full-resource) one entry per focus. */
export function notificationBundle(
  s: StatusInput,
  payload: PayloadContent,
  now = new Date(),
): Record<string, unknown> {
  const entry: Record<string, unknown>[] = [
    {
      fullUrl: `urn:uuid:${randomUUID()}`,
      resource: subscriptionStatus(s, payload),
      request: { method: 'GET', url: `${s.base}/Subscription/${s.subscriptionId}/$status` },
      response: { status: '200' },
    },
  ];
  if (payload !== 'empty') {
    for (const e of s.events ?? []) {
      if (!e.focus) continue;
      const f = e.focus;
      entry.push({
        fullUrl: `${s.base}/${f.type}/${f.id}`,
        ...(payload === 'full-resource' && e.resource ? { resource: e.resource } : {}),
        request: {
          method: f.deleted ? 'DELETE' : f.version === 1 ? 'POST' : 'PUT',
          url: `${f.type}/${f.id}`,
        },
        response: { status: f.deleted ? '204' : f.version === 1 ? '201' : '200' },
      });
    }
  }
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: now.toISOString(),
    entry,
  };
}
