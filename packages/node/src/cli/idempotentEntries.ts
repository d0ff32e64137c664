/**
 * What makes `medledger import` idempotent: every POST entry of a bundle becomes a standard FHIR conditional
 * create (`request.ifNoneExist`) on an identifier of its resource, so importing the same bundle again finds
 * each resource the first import created — and references to the entry resolve to it — instead of creating it
 * again. The identifier is, in this order:
 *  1. the resource's own business identifier (its first one with both a system and a value); resources that
 *     several bundles share (Synthea's Organization and Practitioner) then become one resource;
 *  2. else the identity the source gave the entry, its fullUrl (`urn:uuid:…`, or an absolute URL), added to
 *     the resource as a URI identifier (system `urn:ietf:rfc:3986`, FHIR's system for "the value is a URI"),
 *     which also records where the resource came from;
 *  3. else (an entry without a fullUrl) its content: the SHA-256 of its canonical JSON (RFC 8785, without
 *     `id` and `meta`), numbered when a bundle holds the same content more than once.
 * Left as they are: entries other than POST (a PUT names its target already), entries with their own
 * ifNoneExist, and resources whose type has no `identifier` (nothing to search on: they are created anew).
 */
import { createHash } from 'node:crypto';
import { canonicalBytes } from '@medledger/crypto';
import { searchParametersOf } from '@medledger/fhir';

/** The R4 resource types whose `identifier` is 0..1 (a single object): from the R4 JSON schema. */
const SINGLE_IDENTIFIER = new Set([
  'AdverseEvent',
  'Bundle',
  'Composition',
  'ConceptMap',
  'MedicinalProductIngredient',
  'QuestionnaireResponse',
  'SpecimenDefinition',
  'SubstanceSpecification',
  'TestReport',
  'TestScript',
]);

/** FHIR's system for an identifier whose value is a URI. */
export const URI_SYSTEM = 'urn:ietf:rfc:3986';
/** The system of an identifier made from an entry's content (step 3 above). */
export const CONTENT_SYSTEM = 'urn:medledger:import:sha256';

export interface IdempotencyCounts {
  /** Entries made conditional on the resource's own identifier, its source fullUrl, or its content. */
  byIdentifier: number;
  bySource: number;
  byContent: number;
  /** POST entries that stay plain creates (their type has no identifier to search on). */
  plain: number;
}

interface Identifier {
  system?: unknown;
  value?: unknown;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A token search value with FHIR's escapes (`\` `|` `,` `$`), URL-encoded for a query string. */
function tokenPart(s: string): string {
  return encodeURIComponent(s.replace(/[\\|,$]/g, (c) => `\\${c}`));
}

function criteriaOf(system: string, value: string): string {
  return `identifier=${tokenPart(system)}|${tokenPart(value)}`;
}

function businessIdentifier(resource: Json): { system: string; value: string } | undefined {
  const raw = resource.identifier;
  const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) as Identifier[];
  const found = list.find(
    (i) => isObject(i) && typeof i.system === 'string' && i.system !== '' && typeof i.value === 'string',
  );
  return found ? { system: found.system as string, value: found.value as string } : undefined;
}

/** Adds an identifier to a resource; false when its single identifier slot is taken. */
function addIdentifier(resource: Json, identifier: { system: string; value: string }): boolean {
  const raw = resource.identifier;
  if (Array.isArray(raw)) {
    resource.identifier = [...raw, identifier];
    return true;
  }
  if (raw !== undefined) return false;
  resource.identifier = SINGLE_IDENTIFIER.has(String(resource.resourceType)) ? identifier : [identifier];
  return true;
}

/** An absolute URI (a urn:uuid, urn:oid or a URL): what FHIR requires of a fullUrl. */
function isAbsoluteUri(s: unknown): s is string {
  return typeof s === 'string' && /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(s);
}

function contentDigest(resource: Json): string {
  const { id: _id, meta: _meta, ...content } = resource;
  return createHash('sha256').update(canonicalBytes(content)).digest('hex');
}

/**
 * Rewrites the POST entries of a transaction or batch bundle (in place) into conditional creates, as described
 * above, and says how many entries got which key.
 */
export function makeIdempotent(bundle: { entry?: unknown }): IdempotencyCounts {
  const counts: IdempotencyCounts = { byIdentifier: 0, bySource: 0, byContent: 0, plain: 0 };
  const seenContent = new Map<string, number>();
  const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
  for (const entry of entries) {
    if (!isObject(entry) || !isObject(entry.request) || !isObject(entry.resource)) continue;
    const request = entry.request;
    const resource = entry.resource;
    if (request.method !== 'POST' || request.ifNoneExist !== undefined) continue;
    if (searchParametersOf(String(resource.resourceType)).identifier === undefined) {
      counts.plain++;
      continue;
    }
    const own = businessIdentifier(resource);
    if (own) {
      request.ifNoneExist = criteriaOf(own.system, own.value);
      counts.byIdentifier++;
      continue;
    }
    let key: { system: string; value: string };
    if (isAbsoluteUri(entry.fullUrl)) {
      key = { system: URI_SYSTEM, value: entry.fullUrl };
    } else {
      const digest = contentDigest(resource);
      const n = seenContent.get(digest) ?? 0;
      seenContent.set(digest, n + 1);
      key = { system: CONTENT_SYSTEM, value: n === 0 ? digest : `${digest}-${n + 1}` };
    }
    if (!addIdentifier(resource, key)) {
      counts.plain++;
      continue;
    }
    request.ifNoneExist = criteriaOf(key.system, key.value);
    if (key.system === URI_SYSTEM) counts.bySource++;
    else counts.byContent++;
  }
  return counts;
}
