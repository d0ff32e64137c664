/**
 * The field types of exchange messages and their validators, shared by the request, response and receipt
 * modules. Each validator throws MDL_BAD_INPUT naming the field, never echoing its value (it may be a patient
 * pseudonym). Values on the wire are in one canonical spelling (lower-case hex, sorted category lists), so that
 * both the signer and an auditor re-deriving a message get the same bytes.
 */
import type { Brand } from '@medledger/core';
import { type DataCategory, isDataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import { type KeyId, utf8ToBytes } from '@medledger/crypto';

/** A ledger OrganisationId: uint32, assigned from 1 (0 means none). */
export type OrganisationId = number;
/** 0x-prefixed lower-case hex of 32 bytes (a patient pseudonym or a licence credential hash, as on the ledger). */
export type Bytes32Hex = Brand<string, 'Bytes32Hex'>;
/** 0x-prefixed lower-case hex of a 20-byte EVM address (a member of an organisation). */
export type MemberAddress = Brand<string, 'MemberAddress'>;
/** Lower-case hex SHA-256 of a signed request body: the request's identity, replay key and audit handle. */
export type ExchangeRequestId = Brand<string, 'ExchangeRequestId'>;

/** An organisation as a party to an exchange: its ledger id and the key id of the bundle it uses. */
export interface PartyRef {
  readonly organisation: OrganisationId;
  readonly keyId: KeyId;
}

/** The practitioner on whose behalf a requester asks. */
export interface Practitioner {
  /** The member's account on the ledger (ConsortiumRegistry.memberOf, licenceOf). */
  readonly member: MemberAddress;
  /** The credentialHash of the member's licence as registered on the ledger. */
  readonly licence: Bytes32Hex;
  /** Human-readable name, for the custodian's audit trail only; the ledger decides nothing on it. */
  readonly displayName?: string;
}

/** Signed bytes and the composite signature over them: what a receipt keeps as evidence. */
export interface SignedPart {
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

export const MAX_DISPLAY_NAME_BYTES = 128;
/** Purposes are bit positions of the ledger's uint8 purposes bitmask (Treatment 0 … Emergency 4). */
export const MAX_PURPOSE = 7;
const UINT40_MAX = 2 ** 40 - 1;

export function badInput(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

/** A plain object with exactly the required members and no others than the optional ones. */
export function objectWith(
  value: unknown,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badInput(`${what} must be an object`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!required.includes(key) && !optional.includes(key)) throw badInput(`${what} has an unknown member`);
  }
  for (const key of required) {
    if (!(key in record)) throw badInput(`${what} lacks ${key}`);
  }
  return record;
}

export function checkOrganisationId(value: unknown, what: string): OrganisationId {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 0xffffffff) {
    throw badInput(`${what} must be an organisation id (uint32 ≥ 1)`);
  }
  return value;
}

export function checkKeyId(value: unknown, what: string): KeyId {
  if (typeof value !== 'string' || !/^[0-9a-f]{32}$/.test(value)) {
    throw badInput(`${what} must be a key id (32 lower-case hex characters)`);
  }
  return value as KeyId;
}

export function checkParty(value: unknown, what: string): PartyRef {
  const o = objectWith(value, what, ['organisation', 'keyId']);
  return {
    organisation: checkOrganisationId(o.organisation, `${what}.organisation`),
    keyId: checkKeyId(o.keyId, `${what}.keyId`),
  };
}

/** Accepts either case when creating (EIP-55 checksummed input is common); returns lower case. */
export function normaliseBytes32(value: unknown, what: string): Bytes32Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw badInput(`${what} must be 0x-prefixed hex of 32 bytes`);
  }
  return value.toLowerCase() as Bytes32Hex;
}

export function normaliseMemberAddress(value: unknown, what: string): MemberAddress {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    throw badInput(`${what} must be a 0x-prefixed 20-byte address`);
  }
  return value.toLowerCase() as MemberAddress;
}

/** On the wire only the canonical (lower-case) spelling is accepted. */
export function checkCanonicalHex<T extends string>(
  value: unknown,
  what: string,
  normalise: (v: unknown, w: string) => T,
): T {
  const out = normalise(value, what);
  if (out !== value) throw badInput(`${what} must be lower-case hex`);
  return out;
}

export function checkRequestId(value: unknown, what: string): ExchangeRequestId {
  if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
    throw badInput(`${what} must be a request id (64 lower-case hex characters)`);
  }
  return value as ExchangeRequestId;
}

/** Seconds since the Unix epoch, within the ledger's uint40 (a millisecond timestamp does not fit: caught). */
export function checkSeconds(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > UINT40_MAX) {
    throw badInput(`${what} must be whole seconds since the Unix epoch`);
  }
  return value;
}

/** A ledger counter (e.g. a break-glass session id): a non-negative safe integer. */
export function checkSessionId(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw badInput(`${what} must be a non-negative integer`);
  }
  return value;
}

export function checkPurpose(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_PURPOSE) {
    throw badInput(`${what} must be a purpose bit number (0..${MAX_PURPOSE})`);
  }
  return value;
}

export function checkCategory(value: unknown, what: string): DataCategory {
  if (!isDataCategory(value)) throw badInput(`${what} must be a data category`);
  return value;
}

/** A non-empty set of categories, returned sorted; `strict` (on the wire) requires it to be sorted already. */
export function checkCategories(value: unknown, what: string, strict: boolean): readonly DataCategory[] {
  if (!Array.isArray(value) || value.length === 0) throw badInput(`${what} must be a non-empty list`);
  const categories = value.map((c) => checkCategory(c, `${what}[]`));
  const sorted = [...new Set(categories)].sort((a, b) => a - b);
  if (sorted.length !== categories.length) throw badInput(`${what} has duplicates`);
  if (strict && sorted.some((c, i) => c !== categories[i])) throw badInput(`${what} must be sorted`);
  return Object.freeze(sorted);
}

export function checkDisplayName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value !== value.normalize('NFC')) {
    throw badInput(`${what} must be a non-empty NFC string`);
  }
  if (utf8ToBytes(value).length > MAX_DISPLAY_NAME_BYTES) {
    throw badInput(`${what} must be at most ${MAX_DISPLAY_NAME_BYTES} UTF-8 bytes`);
  }
  // Control characters have no place in a name and could forge lines in an audit log.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value))
    throw badInput(`${what} must not contain control characters`);
  return value;
}

/** A FHIR resource type name, e.g. "Observation". */
export function checkResourceType(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^[A-Z][A-Za-z]{1,63}$/.test(value)) {
    throw badInput(`${what} must be a FHIR resource type name`);
  }
  return value;
}

export function checkHex(value: unknown, what: string, bytes: number): string {
  if (typeof value !== 'string' || value.length !== 2 * bytes || !/^[0-9a-f]*$/.test(value)) {
    throw badInput(`${what} must be ${bytes} bytes of lower-case hex`);
  }
  return value;
}

export function checkList(value: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw badInput(`${what} must be a list`);
  if (value.length > max) throw badInput(`${what} has more than ${max} entries`);
  return value;
}
