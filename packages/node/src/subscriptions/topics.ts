/**
 * The subscription topics this node offers (FHIR Subscriptions R5 Backport IG, topic-based subscriptions on R4).
 * Every topic is about one patient, named by the `patient` filter a subscription must carry:
 *
 * | topic (canonical `[base]/SubscriptionTopic/<name>`) | triggers on |
 * |---|---|
 * | `patient-results` | a new, updated or deleted Observation or DiagnosticReport of the patient |
 * | `patient-consent` | a change to one of the patient's Consent records (a grant made, withdrawn, revoked) |
 * | `patient-break-glass` | a break-glass notice written to the patient (features/breakGlassNotices.ts) |
 * | `patient-access-log` | a new entry of the patient's access log (an AuditEvent naming them, audit/) |
 *
 * R4 has no SubscriptionTopic resource: the topics are served as `Basic` resources carrying the R5
 * SubscriptionTopic elements as cross-version extensions, and listed on the CapabilityStatement with the
 * backport's `capabilitystatement-subscriptiontopic-canonical` extension.
 */
import { BREAK_GLASS_SESSION_SYSTEM } from '../features/breakGlassNotices.js';
import type { CommittedWrite } from '../services/RecordService.js';

export type TopicName = 'patient-results' | 'patient-consent' | 'patient-break-glass' | 'patient-access-log';

export interface Topic {
  name: TopicName;
  title: string;
  description: string;
  /** Resource types whose writes trigger it (empty: the access log, which is not a FHIR resource type here). */
  resourceTypes: readonly string[];
}

export const TOPICS: readonly Topic[] = [
  {
    name: 'patient-results',
    title: 'New or updated results for a patient',
    description: 'An Observation or DiagnosticReport of the patient was created, updated or deleted.',
    resourceTypes: ['Observation', 'DiagnosticReport'],
  },
  {
    name: 'patient-consent',
    title: 'Consent changes for a patient',
    description: 'A Consent of the patient was recorded, withdrawn or revoked.',
    resourceTypes: ['Consent'],
  },
  {
    name: 'patient-break-glass',
    title: 'Break-glass notices for a patient',
    description: 'Someone broke the glass on the patient’s record; the notice (a Communication) was written.',
    resourceTypes: ['Communication'],
  },
  {
    name: 'patient-access-log',
    title: 'Access-log entries for a patient',
    description:
      'A new entry naming the patient was added to the node’s audit log (read it at /audit/patients/{id}/events).',
    resourceTypes: [],
  },
];

export function topicUrl(base: string, name: TopicName): string {
  return `${base}/SubscriptionTopic/${name}`;
}

/** The topic a canonical URL names (this node's base, or any base ending in /SubscriptionTopic/<name>). */
export function topicOf(base: string, canonical: string): Topic | undefined {
  return TOPICS.find((t) => canonical === topicUrl(base, t.name));
}

/** The record topic a committed write triggers, if any. */
export function topicOfWrite(w: CommittedWrite): TopicName | undefined {
  if (w.type === 'Observation' || w.type === 'DiagnosticReport') return 'patient-results';
  if (w.type === 'Consent') return 'patient-consent';
  if (w.type === 'Communication' && w.markers.includes(BREAK_GLASS_SESSION_SYSTEM))
    return 'patient-break-glass';
  return undefined;
}

const XV = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';

/** A topic in its R4 form: a Basic resource with the R5 SubscriptionTopic elements as cross-version extensions. */
export function topicResource(base: string, t: Topic): Record<string, unknown> {
  return {
    resourceType: 'Basic',
    id: t.name,
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
    extension: [
      { url: `${XV}.url`, valueUri: topicUrl(base, t.name) },
      { url: `${XV}.title`, valueString: t.title },
      { url: `${XV}.status`, valueCode: 'active' },
      { url: `${XV}.description`, valueMarkdown: t.description },
      ...t.resourceTypes.map((type) => ({
        url: `${XV}.resourceTrigger`,
        extension: [
          { url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${type}` },
          { url: 'supportedInteraction', valueCode: 'create' },
          { url: 'supportedInteraction', valueCode: 'update' },
          { url: 'supportedInteraction', valueCode: 'delete' },
        ],
      })),
      {
        url: `${XV}.canFilterBy`,
        extension: [
          { url: 'filterParameter', valueString: 'patient' },
          { url: 'description', valueMarkdown: 'Required: the patient, as Patient/<id>.' },
        ],
      },
      {
        url: `${XV}.notificationShape`,
        extension: [{ url: 'resource', valueUri: t.resourceTypes[0] ?? 'AuditEvent' }],
      },
    ],
  };
}
