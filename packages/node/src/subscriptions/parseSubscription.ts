/**
 * Reading a client's R4 Subscription in the Subscriptions Backport IG's form: the topic's canonical URL in
 * `criteria`, the patient filter in the `backport-filter-criteria` extension on `_criteria`, the payload
 * content in `backport-payload-content` on `channel._payload`, and the heartbeat period, timeout and max count
 * as `backport-*` extensions on `channel`. Anything this node does not do is refused here with a 400 naming
 * the element — never silently ignored. Pure: no I/O.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { validateResource } from '@medledger/fhir';
import { type Topic, type TopicName, topicOf } from './topics.js';

export const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const FILTER_CRITERIA = `${BACKPORT}/backport-filter-criteria`;
export const PAYLOAD_CONTENT = `${BACKPORT}/backport-payload-content`;
export const HEARTBEAT_PERIOD = `${BACKPORT}/backport-heartbeat-period`;
export const TIMEOUT = `${BACKPORT}/backport-timeout`;
export const MAX_COUNT = `${BACKPORT}/backport-max-count`;
export const CHANNEL_TYPE = `${BACKPORT}/backport-channel-type`;

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
export type ChannelType = 'websocket' | 'rest-hook';

export interface ParsedSubscription {
  topic: TopicName;
  patientId: string;
  channel: ChannelType;
  /** rest-hook only: where notifications are POSTed. */
  endpoint?: string;
  /** rest-hook only: `Name: value` headers sent with every notification (e.g. the endpoint's credential). */
  headers: string[];
  payload: PayloadContent;
  heartbeatSeconds?: number;
  timeoutSeconds: number;
  end?: Date;
}

/** Refuses a request's Subscription: 400 with one issue naming the element. */
function bad(expression: string, diagnostics: string): never {
  throw new MdlError(MdlErrorCode.BadInput, `${expression}: ${diagnostics}`, {
    issues: [
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: `${expression}: ${diagnostics}`,
        expression: [expression],
      },
    ],
  });
}

type Extension = { url?: unknown } & Record<string, unknown>;
const extensionsOf = (element: unknown): Extension[] => {
  const ext = (element as { extension?: unknown } | undefined)?.extension;
  return Array.isArray(ext) ? (ext as Extension[]) : [];
};

function boundedInteger(
  channel: unknown,
  url: string,
  key: string,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const found = extensionsOf(channel).filter((e) => e.url === url);
  if (found.length === 0) return undefined;
  if (found.length > 1) bad(`Subscription.channel.extension(${name})`, 'may appear once');
  const v = found[0]![key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(`Subscription.channel.extension(${name})`, `${key} must be an integer from ${min} to ${max}`);
  }
  return v;
}

/** A patient filter: `patient=Patient/<id>` (or `<Type>?patient=…` with one of the topic's types, or a bare id). */
function patientOf(topic: Topic, criteria: unknown): string {
  const filters = extensionsOf(criteria).filter((e) => e.url === FILTER_CRITERIA);
  if (filters.length !== 1) {
    bad(
      'Subscription.criteria.extension(backport-filter-criteria)',
      'exactly one filter is required: patient=Patient/<id>',
    );
  }
  const raw = filters[0]!.valueString;
  if (typeof raw !== 'string')
    bad('Subscription.criteria.extension(backport-filter-criteria)', 'valueString is required');
  const m = /^(?:([A-Za-z]+)\?)?patient=(?:Patient\/)?([A-Za-z0-9\-.]{1,64})$/.exec(raw);
  if (!m) {
    bad(
      'Subscription.criteria.extension(backport-filter-criteria)',
      'the only filter supported is patient=Patient/<id>',
    );
  }
  if (m[1] !== undefined && !topic.resourceTypes.includes(m[1])) {
    bad(
      'Subscription.criteria.extension(backport-filter-criteria)',
      'the filter names a type this topic does not cover',
    );
  }
  return m[2]!;
}

export interface ParseOptions {
  /** This node's FHIR base URL (the topics' canonical URLs start with it). */
  base: string;
  /** Whether a rest-hook endpoint may be notified (the node's allow-list; restHook.ts). */
  endpointAllowed: (url: URL) => boolean;
  now: Date;
}

export function parseSubscription(body: unknown, o: ParseOptions): ParsedSubscription {
  const validated = validateResource(body);
  if (!validated.ok) {
    throw new MdlError(MdlErrorCode.BadInput, validated.issues[0]?.diagnostics ?? 'invalid resource', {
      issues: validated.issues,
    });
  }
  // biome-ignore lint/suspicious/noExplicitAny: a client's resource, every element checked below before use
  const s = validated.resource as Record<string, any>;
  if (s.resourceType !== 'Subscription') bad('Subscription.resourceType', 'must be Subscription');
  if (s.status !== 'requested' && s.status !== 'active') {
    bad('Subscription.status', 'a client asks for requested (or active); the server sets the rest');
  }
  if (typeof s.reason !== 'string' || s.reason.length === 0) bad('Subscription.reason', 'is required');
  if (typeof s.criteria !== 'string') bad('Subscription.criteria', 'is required: the topic’s canonical URL');
  const topic = topicOf(o.base, s.criteria);
  if (!topic)
    bad('Subscription.criteria', `must be one of this server’s topics, ${o.base}/SubscriptionTopic/<name>`);
  const patientId = patientOf(topic, s._criteria);

  // biome-ignore lint/suspicious/noExplicitAny: as above
  const channel = s.channel as Record<string, any> | undefined;
  if (!channel || typeof channel !== 'object') bad('Subscription.channel', 'is required');
  const declared = extensionsOf(channel._type).find((e) => e.url === CHANNEL_TYPE)?.valueCoding as
    | { code?: unknown }
    | undefined;
  const type = declared?.code ?? channel.type;
  if (type !== 'websocket' && type !== 'rest-hook') {
    bad('Subscription.channel.type', 'this server supports websocket and rest-hook');
  }
  if (
    channel.payload !== undefined &&
    channel.payload !== 'application/fhir+json' &&
    channel.payload !== 'application/json'
  ) {
    bad('Subscription.channel.payload', 'must be application/fhir+json');
  }
  const contents = extensionsOf(channel._payload).filter((e) => e.url === PAYLOAD_CONTENT);
  if (contents.length > 1)
    bad('Subscription.channel.payload.extension(backport-payload-content)', 'may appear once');
  const payload = contents[0]?.valueCode ?? 'id-only';
  if (payload !== 'empty' && payload !== 'id-only' && payload !== 'full-resource') {
    bad(
      'Subscription.channel.payload.extension(backport-payload-content)',
      'must be empty, id-only or full-resource',
    );
  }

  let endpoint: string | undefined;
  const headers: string[] = [];
  if (type === 'rest-hook') {
    if (typeof channel.endpoint !== 'string')
      bad('Subscription.channel.endpoint', 'is required for rest-hook');
    let url: URL;
    try {
      url = new URL(channel.endpoint);
    } catch {
      bad('Subscription.channel.endpoint', 'is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      bad('Subscription.channel.endpoint', 'must be http or https');
    if (url.username || url.password)
      bad('Subscription.channel.endpoint', 'must not carry credentials (use channel.header)');
    if (!o.endpointAllowed(url)) {
      bad(
        'Subscription.channel.endpoint',
        'this host is not on the node’s allow-list of notification endpoints',
      );
    }
    endpoint = url.toString();
    const given = channel.header === undefined ? [] : channel.header;
    if (!Array.isArray(given) || given.length > 8) bad('Subscription.channel.header', 'at most 8 headers');
    for (const h of given) {
      if (typeof h !== 'string' || !/^[A-Za-z0-9-]{1,64}: ?[\x20-\x7e]{1,2048}$/.test(h)) {
        bad('Subscription.channel.header', 'each header is "Name: value" in printable ASCII');
      }
      if (/^(host|content-type|content-length|transfer-encoding|connection)\s*:/i.test(h)) {
        bad(
          'Subscription.channel.header',
          'may not set Host, Content-Type, Content-Length or hop-by-hop headers',
        );
      }
      headers.push(h);
    }
  } else {
    if (channel.endpoint !== undefined)
      bad('Subscription.channel.endpoint', 'a websocket subscription has none (bind at /fhir/ws)');
    if (channel.header !== undefined)
      bad('Subscription.channel.header', 'only rest-hook subscriptions send headers');
  }

  const heartbeatSeconds = boundedInteger(
    channel,
    HEARTBEAT_PERIOD,
    'valueUnsignedInt',
    'backport-heartbeat-period',
    1,
    3600,
  );
  const timeoutSeconds =
    boundedInteger(channel, TIMEOUT, 'valueUnsignedInt', 'backport-timeout', 1, 60) ?? 10;
  const maxCount = boundedInteger(channel, MAX_COUNT, 'valuePositiveInt', 'backport-max-count', 1, 1000);
  void maxCount; // every notification carries one event, which any max count allows

  let end: Date | undefined;
  if (s.end !== undefined) {
    end = new Date(s.end);
    if (Number.isNaN(end.getTime())) bad('Subscription.end', 'is not an instant');
    if (end <= o.now) bad('Subscription.end', 'is in the past');
  }
  return {
    topic: topic.name,
    patientId,
    channel: type,
    ...(endpoint ? { endpoint } : {}),
    headers,
    payload,
    ...(heartbeatSeconds !== undefined ? { heartbeatSeconds } : {}),
    timeoutSeconds,
    ...(end ? { end } : {}),
  };
}
