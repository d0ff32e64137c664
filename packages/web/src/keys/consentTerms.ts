/**
 * The on-chain terms of a patient's FHIR Consent, derived in the browser exactly as the node derives them
 * (`consentFromFhir` of @medledger/consent, called by the node's consent feature) — so that what the patient
 * signs with their own key is what the node relays and the contract checks. A different derivation would only
 * make the contract refuse the signature; it could never widen a grant.
 *
 * Why not run `consentFromFhir` itself here: it first validates the whole resource against the FHIR R4 JSON
 * schema (@medledger/fhir: Ajv plus the 287 KB gzipped schema, read with node:fs and node:zlib), which neither
 * runs in a browser nor fits the page's budget. This module reads only the Consents the app writes
 * (consentWording's `buildConsent`) and refuses, in words, anything else the node's mapping would treat
 * differently (deny or nested provisions, several actors, member grantees, partial categories, codes, data
 * references, unknown codes). The unit test holds it equal to `consentFromFhir` for the app's consents.
 *
 * Resolvers, as the node's: `Consent.patient` is the patient's own on-chain pseudonym (GET /account/keys,
 * checked against the key file's); `urn:medledger:organisation|<id>` is registry organisation `<id>` with no
 * member. The nonce is the patient's choice (random uint64); the node takes it from the nonce extension.
 */
import { fhirTimeRange, type TimeRangeProblem, U40_MAX } from '@medledger/consent/fhirTimeRange';
import { Action, type ConsentTerms, Purpose, ResourceClass } from '@medledger/contracts/consent';
import { type Hex, zeroAddress } from 'viem';
import {
  CATEGORIES,
  CATEGORY_TYPES,
  CONSENT_ID_SYSTEM,
  type ConsentResource,
  ORGANISATION_SYSTEM,
} from '../patient/consentWording';

const CONSENT_SCOPE = 'http://terminology.hl7.org/CodeSystem/consentscope';
const CONSENT_ACTION = 'http://terminology.hl7.org/CodeSystem/consentaction';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const RESOURCE_TYPES = 'http://hl7.org/fhir/resource-types';

const ACTIONS: Readonly<Record<string, number>> = { access: Action.Read, correct: Action.Write };
const PURPOSES: Readonly<Record<string, number>> = {
  TREAT: Purpose.Treatment,
  HPAYMT: Purpose.Payment,
  HOPERAT: Purpose.Operations,
  HRESCH: Purpose.Research,
  ETREAT: Purpose.Emergency,
};

/** A Consent the browser will not sign, with the reason in words. */
export class ConsentTermsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsentTermsError';
  }
}

const refuse = (path: string, why: string) =>
  new ConsentTermsError(`This consent cannot be signed here (${path}: ${why}).`);

const PROBLEMS: Readonly<Record<TimeRangeProblem, string>> = {
  format: 'not a FHIR date or dateTime',
  fraction: 'fractions of a second',
  range: 'before 1970 or beyond the ledger',
};

/** The seconds a FHIR date or dateTime covers, [start, end), read by the node's own `fhirTimeRange`. */
export function fhirSeconds(value: string, path: string): { start: number; end: number } {
  const range = fhirTimeRange(value);
  if (typeof range === 'string') throw refuse(path, PROBLEMS[range]);
  return range;
}

const nonEmpty = (value: unknown): value is unknown[] => Array.isArray(value) && value.length > 0;

function hasModifierExtension(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasModifierExtension);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, child]) =>
    key === 'modifierExtension' ? nonEmpty(child) : key !== 'contained' && hasModifierExtension(child),
  );
}

export interface TermsOptions {
  /** The patient's on-chain pseudonym (what the node resolves `Consent.patient` to). */
  pseudonym: Hex;
  /** The grant's nonce (uint64). */
  nonce: bigint;
  /** Unix seconds: a period already over is refused, as the node does (default now). */
  now?: number;
}

/** The ConsentTerms the node will derive from `consent` (a grant the app built), or ConsentTermsError. */
export function consentTermsOf(consent: ConsentResource, options: TermsOptions): ConsentTerms {
  if (consent.resourceType !== 'Consent') throw refuse('resourceType', 'must be Consent');
  if (hasModifierExtension(consent)) throw refuse('modifierExtension', 'not understood');
  if (consent.implicitRules !== undefined) throw refuse('implicitRules', 'cannot be honoured');
  if (consent.status !== 'active') throw refuse('status', 'only an active consent is granted');
  const scope = (consent.scope as { coding?: { system?: string; code?: string }[] } | undefined)?.coding;
  if (!(scope ?? []).some((c) => c.system === CONSENT_SCOPE && c.code === 'patient-privacy'))
    throw refuse('scope', 'must be patient-privacy');
  if (typeof options.nonce !== 'bigint' || options.nonce < 0n || options.nonce >= 1n << 64n)
    throw refuse('nonce', 'must be a uint64');
  if (!/^0x[0-9a-fA-F]{64}$/.test(options.pseudonym)) throw refuse('patient', 'no on-chain pseudonym');
  if (!consent.patient?.reference) throw refuse('patient', 'is required');

  const p = consent.provision as
    | (NonNullable<ConsentResource['provision']> & Record<string, unknown> & { dataPeriod?: unknown })
    | undefined;
  if (!p) throw refuse('provision', 'is required');
  if (p.type !== 'permit') throw refuse('provision.type', 'must be permit');
  for (const key of ['provision', 'securityLabel', 'code', 'data'] as const) {
    if (nonEmpty(p[key])) throw refuse(`provision.${key}`, 'cannot be expressed on the ledger');
  }

  if (!nonEmpty(p.actor) || p.actor.length !== 1) throw refuse('provision.actor', 'exactly one grantee');
  const actor = p.actor[0]!;
  if (
    !(actor.role?.coding ?? []).some(
      (c) => c.system === PARTICIPATION && (c.code === 'PRCP' || c.code === 'IRCP'),
    )
  )
    throw refuse('provision.actor[0].role', 'must be an information recipient');
  const { system, value } = actor.reference?.identifier ?? {};
  if (system !== ORGANISATION_SYSTEM || !value || !/^[1-9]\d{0,9}$/.test(value) || Number(value) > 0xffffffff)
    throw refuse('provision.actor[0].reference', 'the grantee must be an organisation of the consortium');
  const grantee = Number(value);

  if (!nonEmpty(p.action)) throw refuse('provision.action', 'list the actions');
  let actions = 0;
  p.action.forEach((concept, i) => {
    const codes = [
      ...new Set((concept.coding ?? []).filter((c) => c.system === CONSENT_ACTION).map((c) => c.code ?? '')),
    ];
    const bit = codes.length === 1 && Object.hasOwn(ACTIONS, codes[0]!) ? ACTIONS[codes[0]!] : undefined;
    if (bit === undefined) throw refuse(`provision.action[${i}]`, 'only access and correct');
    actions |= 1 << bit;
  });

  if (!nonEmpty(p.purpose)) throw refuse('provision.purpose', 'list the purposes');
  let purposes = 0;
  p.purpose.forEach((coding, i) => {
    const bit =
      coding.system === ACT_REASON && coding.code !== undefined && Object.hasOwn(PURPOSES, coding.code)
        ? PURPOSES[coding.code]
        : undefined;
    if (bit === undefined) throw refuse(`provision.purpose[${i}]`, 'unknown purpose');
    purposes |= 1 << bit;
  });

  if (!nonEmpty(p.class)) throw refuse('provision.class', 'list the resource types');
  const known = new Set(Object.values(CATEGORY_TYPES).flat());
  const listed = new Set<string>();
  p.class.forEach((coding, i) => {
    if (coding.system !== RESOURCE_TYPES || !coding.code || !known.has(coding.code))
      throw refuse(`provision.class[${i}]`, 'must be a resource type of patient data');
    listed.add(coding.code);
  });
  let resourceClasses = 0;
  for (const { key } of CATEGORIES) {
    const types = CATEGORY_TYPES[key];
    const present = types.filter((t) => listed.has(t));
    if (present.length === 0) continue;
    if (present.length < types.length) throw refuse('provision.class', `only part of ${key}`);
    resourceClasses |= 1 << ResourceClass[key];
  }

  const start = p.period?.start ? fhirSeconds(p.period.start, 'provision.period.start') : undefined;
  const end = p.period?.end ? fhirSeconds(p.period.end, 'provision.period.end') : undefined;
  const validFrom = start?.start ?? 0;
  const validUntil = end?.end ?? U40_MAX;
  if (validUntil > U40_MAX) throw refuse('provision.period.end', 'beyond the ledger');
  if (validFrom >= validUntil) throw refuse('provision.period', 'is empty');
  if (validUntil <= (options.now ?? Math.floor(Date.now() / 1000)))
    throw refuse('provision.period.end', 'is already over');

  const dataPeriod = p.dataPeriod as { start?: string; end?: string } | undefined;
  const dataStart = dataPeriod?.start
    ? fhirSeconds(dataPeriod.start, 'provision.dataPeriod.start')
    : undefined;
  const dataEnd = dataPeriod?.end ? fhirSeconds(dataPeriod.end, 'provision.dataPeriod.end') : undefined;
  const dataFrom = dataStart?.start ?? 0;
  const dataUntil = dataEnd ? dataEnd.end - 1 : 0;
  if (dataEnd && dataUntil < 1) throw refuse('provision.dataPeriod.end', 'before 1970');
  if (dataEnd && dataFrom > dataUntil) throw refuse('provision.dataPeriod', 'is empty');

  return {
    patient: options.pseudonym.toLowerCase() as Hex,
    grantee,
    granteeMember: zeroAddress,
    actions,
    resourceClasses,
    purposes,
    validFrom,
    validUntil,
    dataFrom,
    dataUntil,
    nonce: options.nonce,
  };
}

/** A fresh grant nonce: a random uint64 (so identical terms can be granted again). */
export function randomNonce(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

/** The on-chain id of a stored grant (its `urn:medledger:consent-id` identifier), which a revocation signs. */
export function grantIdOf(stored: ConsentResource): Hex {
  const id = (stored.identifier ?? []).find((i) => i.system === CONSENT_ID_SYSTEM)?.value;
  if (!id || !/^0x[0-9a-fA-F]{64}$/.test(id))
    throw new ConsentTermsError('This sharing has no grant on the ledger to withdraw.');
  return id as Hex;
}
