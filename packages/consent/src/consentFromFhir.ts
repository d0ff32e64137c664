/**
 * Maps an R4 Consent to the terms of one on-chain grant — exactly, or not at all. The Consent must be a
 * patient-privacy consent, `active`, whose root provision is a `permit` naming one grantee actor and listing its
 * actions, purposes, resource classes and, optionally, validity and data periods. Whatever the ledger cannot
 * hold exactly is refused with MDL_BAD_INPUT naming the element, never widened:
 * deny or untyped provisions, nested provisions, security labels, codes, specific data references, modifier
 * extensions, several actors, unknown roles / actions / purposes / classes, a class list that covers only part
 * of a data category, sub-second or pre-1970 times. Absent actions, purposes or classes are refused too (FHIR
 * would read them as "all"; a grant of everything must be spelt out).
 *
 * `policy` / `policyRule` are not read: the ledger has no base policy (nothing is permitted without a grant), so
 * the grant is the permit provision alone — at most narrower than a reader of an OPTIN base policy might think.
 * docs/consent.md has the full table.
 */
import { type ConsentTerms, RESOURCE_CLASS_COUNT } from '@medledger/contracts';
import { type DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import { dataCategoryOf, validateResource } from '@medledger/fhir';
import { type Address, getAddress, type Hex, isAddress, zeroAddress } from 'viem';
import {
  ACTION_CODES,
  CATEGORY_NAMES,
  CONSENT_ACTION_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  GRANTEE_ROLES,
  PARTICIPATION_TYPE_SYSTEM,
  PURPOSE_CODES,
  PURPOSE_OF_USE_SYSTEM,
  RESOURCE_TYPES_SYSTEM,
  resourceTypesOfCategory,
} from './fhirConsentVocabulary.js';
import { fhirTimeRange, U40_MAX } from './fhirTimeRange.js';

/** A FHIR Reference (only the parts a resolver may look at). */
export interface FhirReference {
  reference?: string;
  type?: string;
  identifier?: { system?: string; value?: string };
  display?: string;
}

/** Who a grant goes to: an organisation, optionally narrowed to one member account. */
export interface ResolvedActor {
  organisation: number;
  member?: Address;
}

type MaybePromise<T> = T | Promise<T>;

export interface ConsentFromFhirOptions {
  /** Consent.patient → the patient's on-chain pseudonym (undefined: unknown patient). */
  resolvePatient(reference: FhirReference): MaybePromise<Hex | undefined>;
  /** Consent.provision.actor[0].reference → the grantee (undefined: unknown actor). */
  resolveActor(reference: FhirReference): MaybePromise<ResolvedActor | undefined>;
  /** The grant's nonce (uint64), chosen by the patient's app so identical terms can be granted again. */
  nonce: bigint;
  /** Unix seconds used to refuse a period that is already over (default: now). */
  now?: number;
}

interface Coding {
  system?: string;
  code?: string;
}
interface CodeableConcept {
  coding?: Coding[];
}
interface Period {
  start?: string;
  end?: string;
}
interface Provision {
  type?: string;
  period?: Period;
  actor?: { role?: CodeableConcept; reference?: FhirReference }[];
  action?: CodeableConcept[];
  securityLabel?: Coding[];
  purpose?: Coding[];
  class?: Coding[];
  code?: CodeableConcept[];
  dataPeriod?: Period;
  data?: unknown[];
  provision?: unknown[];
}
interface ConsentResource {
  resourceType: string;
  status?: string;
  scope?: CodeableConcept;
  patient?: FhirReference;
  implicitRules?: string;
  provision?: Provision;
}

function refuse(path: string, why: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, `${path}: ${why}`);
}

const nonEmpty = (value: unknown[] | undefined): value is unknown[] =>
  Array.isArray(value) && value.length > 0;

/** Path of the first non-empty modifierExtension, if any (modifiers change meaning; none is understood here). */
function modifierExtensionPath(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = modifierExtensionPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'modifierExtension' && nonEmpty(child as unknown[])) return `${path}.modifierExtension`;
      if (key === 'contained') continue;
      const found = modifierExtensionPath(child, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

function hasCoding(concept: CodeableConcept | undefined, system: string, codes: readonly string[]): boolean {
  return (concept?.coding ?? []).some(
    (c) => c.system === system && c.code !== undefined && codes.includes(c.code),
  );
}

function range(value: string | undefined, path: string): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  const r = fhirTimeRange(value);
  if (r === 'format') throw refuse(path, 'not a FHIR date or dateTime');
  if (r === 'fraction') throw refuse(path, 'fractions of a second cannot be expressed on the ledger');
  if (r === 'range')
    throw refuse(path, 'only times from 1970 to the uint40 limit of the ledger can be expressed');
  return r;
}

export async function consentFromFhir(
  resource: unknown,
  options: ConsentFromFhirOptions,
): Promise<ConsentTerms> {
  const validation = validateResource(resource);
  if (!validation.ok) {
    const first = validation.issues[0];
    throw refuse(first?.expression[0] ?? 'Consent', first?.diagnostics ?? 'invalid resource');
  }
  const consent = validation.resource as unknown as ConsentResource;
  if (consent.resourceType !== 'Consent') throw refuse('resourceType', 'must be Consent');
  const modifier = modifierExtensionPath(consent, 'Consent');
  if (modifier) throw refuse(modifier, 'modifier extensions cannot be expressed on the ledger');
  if (consent.implicitRules !== undefined)
    throw refuse('Consent.implicitRules', 'implicit rules cannot be honoured');
  if (consent.status !== 'active') throw refuse('Consent.status', 'only an active consent becomes a grant');
  if (!hasCoding(consent.scope, CONSENT_SCOPE_SYSTEM, ['patient-privacy'])) {
    throw refuse('Consent.scope', 'must be patient-privacy');
  }
  if (typeof options.nonce !== 'bigint' || options.nonce < 0n || options.nonce >= 1n << 64n) {
    throw new MdlError(MdlErrorCode.BadInput, 'consent nonce must be a uint64');
  }

  if (!consent.patient) throw refuse('Consent.patient', 'is required');
  const patient = await options.resolvePatient(consent.patient);
  if (typeof patient !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(patient)) {
    throw refuse('Consent.patient', 'unknown patient');
  }

  const p = consent.provision;
  if (!p) throw refuse('Consent.provision', 'is required: the permit the grant records');
  if (p.type === undefined)
    throw refuse('Consent.provision.type', 'must be permit (an absent type is ambiguous in R4)');
  if (p.type !== 'permit')
    throw refuse('Consent.provision.type', 'deny provisions cannot be expressed on the ledger');
  if (nonEmpty(p.provision))
    throw refuse('Consent.provision.provision', 'nested provisions cannot be expressed');
  if (nonEmpty(p.securityLabel))
    throw refuse('Consent.provision.securityLabel', 'security labels cannot be expressed');
  if (nonEmpty(p.code)) throw refuse('Consent.provision.code', 'codes cannot be expressed');
  if (nonEmpty(p.data)) throw refuse('Consent.provision.data', 'specific resources cannot be expressed');

  // Actor: exactly one, a recipient, resolving to an organisation (and maybe a member).
  if (!nonEmpty(p.actor)) throw refuse('Consent.provision.actor', 'the grantee is required');
  if (p.actor.length > 1)
    throw refuse('Consent.provision.actor', 'exactly one actor (the grantee) can be expressed');
  const actor = p.actor[0]!;
  if (!hasCoding(actor.role, PARTICIPATION_TYPE_SYSTEM, GRANTEE_ROLES)) {
    throw refuse('Consent.provision.actor[0].role', 'must be an information recipient (v3 PRCP or IRCP)');
  }
  if (!actor.reference) throw refuse('Consent.provision.actor[0].reference', 'is required');
  const grantee = await options.resolveActor(actor.reference);
  if (
    !grantee ||
    !Number.isInteger(grantee.organisation) ||
    grantee.organisation < 1 ||
    grantee.organisation > 0xffffffff
  ) {
    throw refuse('Consent.provision.actor[0].reference', 'unknown grantee');
  }
  if (grantee.member !== undefined && !isAddress(grantee.member, { strict: false })) {
    throw refuse('Consent.provision.actor[0].reference', 'grantee member is not an account');
  }

  // Actions.
  if (!nonEmpty(p.action)) throw refuse('Consent.provision.action', 'list the actions (access, correct)');
  let actions = 0;
  p.action.forEach((concept, i) => {
    const path = `Consent.provision.action[${i}]`;
    const codes = [
      ...new Set(
        (concept.coding ?? []).filter((c) => c.system === CONSENT_ACTION_SYSTEM).map((c) => c.code ?? ''),
      ),
    ];
    if (codes.length === 0) throw refuse(path, 'no consentaction code');
    if (codes.length > 1) throw refuse(path, 'one action per concept');
    const bit = Object.hasOwn(ACTION_CODES, codes[0]!) ? ACTION_CODES[codes[0]!] : undefined;
    if (bit === undefined) throw refuse(path, 'only access and correct can be expressed');
    actions |= 1 << bit;
  });

  // Purposes.
  if (!nonEmpty(p.purpose)) throw refuse('Consent.provision.purpose', 'list the purposes of use');
  let purposes = 0;
  p.purpose.forEach((coding, i) => {
    const bit =
      coding.system === PURPOSE_OF_USE_SYSTEM &&
      coding.code !== undefined &&
      Object.hasOwn(PURPOSE_CODES, coding.code)
        ? PURPOSE_CODES[coding.code]
        : undefined;
    if (bit === undefined) {
      throw refuse(
        `Consent.provision.purpose[${i}]`,
        'only TREAT, HPAYMT, HOPERAT, HRESCH and ETREAT can be expressed',
      );
    }
    purposes |= 1 << bit;
  });

  // Classes: resource types, covering whole data categories.
  if (!nonEmpty(p.class)) throw refuse('Consent.provision.class', 'list the resource types');
  const listed = new Set<string>();
  p.class.forEach((coding, i) => {
    const category =
      coding.system === RESOURCE_TYPES_SYSTEM && coding.code !== undefined
        ? dataCategoryOf(coding.code)
        : undefined;
    if (category === undefined) {
      throw refuse(`Consent.provision.class[${i}]`, 'must be a resource type of patient data');
    }
    listed.add(coding.code!);
  });
  let resourceClasses = 0;
  for (let category = 0; category < RESOURCE_CLASS_COUNT; category++) {
    const types = resourceTypesOfCategory(category as DataCategory);
    const present = types.filter((t) => listed.has(t));
    if (present.length === 0) continue;
    if (present.length < types.length) {
      const missing = types.filter((t) => !listed.has(t)).join(', ');
      throw refuse(
        'Consent.provision.class',
        `grants cover whole data categories: ${CATEGORY_NAMES[category]} also needs ${missing}`,
      );
    }
    resourceClasses |= 1 << category;
  }

  // Validity period: [start, end] with the end inclusive at its precision.
  const start = range(p.period?.start, 'Consent.provision.period.start');
  const end = range(p.period?.end, 'Consent.provision.period.end');
  const validFrom = start?.start ?? 0;
  const validUntil = end?.end ?? U40_MAX;
  if (validUntil > U40_MAX)
    throw refuse('Consent.provision.period.end', 'beyond the uint40 limit of the ledger');
  if (validFrom >= validUntil) throw refuse('Consent.provision.period', 'is empty');
  if (validUntil <= (options.now ?? Math.floor(Date.now() / 1000))) {
    throw refuse('Consent.provision.period.end', 'is already over');
  }

  // Data period: dataFrom and dataUntil are inclusive seconds, 0 meaning "no bound".
  const dataStart = range(p.dataPeriod?.start, 'Consent.provision.dataPeriod.start');
  const dataEnd = range(p.dataPeriod?.end, 'Consent.provision.dataPeriod.end');
  const dataFrom = dataStart?.start ?? 0;
  const dataUntil = dataEnd ? dataEnd.end - 1 : 0;
  if (dataEnd && dataUntil < 1)
    throw refuse('Consent.provision.dataPeriod.end', 'must be after 1970-01-01T00:00:00Z');
  if (dataEnd && dataFrom > dataUntil) throw refuse('Consent.provision.dataPeriod', 'is empty');

  return {
    patient: patient.toLowerCase() as Hex,
    grantee: grantee.organisation,
    granteeMember: grantee.member === undefined ? zeroAddress : getAddress(grantee.member),
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
