/**
 * Shared test fixtures: real key bundles for three organisations (generated once per test file — ML-DSA
 * signing is slow, so tests reuse them), real records sealed under real category keys, and helpers to make a
 * request the way a requester node would. Nothing here is mocked.
 */
import { randomBytes } from 'node:crypto';
import { DataCategory, isMdlError, type MdlErrorCode } from '@medledger/core';
import {
  CategoryKey,
  type Cid,
  canonicalBytes,
  computeCid,
  generateKeyBundle,
  type KeyBundle,
  type PublicKeyBundle,
  sealRecord,
} from '@medledger/crypto';
import { expect } from 'vitest';
import {
  createExchangeRequest,
  type ExchangeRequestId,
  OrganisationKeys,
  openExchangeRequest,
  type ReceivedExchangeRequest,
} from '../src/index.js';

export const HOSPITAL = 7; // requester
export const LAB = 3; // custodian
export const CLINIC = 9; // a third organisation: another custodian, or an impostor

export interface Org {
  id: number;
  bundle: KeyBundle;
  keys: OrganisationKeys;
  publicBundle: PublicKeyBundle;
}

function org(id: number): Org {
  const bundle = generateKeyBundle(1_700_000_000);
  return { id, bundle, keys: OrganisationKeys.fromKeyBundle(id, bundle), publicBundle: bundle.publicBundle };
}

export function makeOrgs() {
  return { hospital: org(HOSPITAL), lab: org(LAB), clinic: org(CLINIC) };
}

export type Orgs = ReturnType<typeof makeOrgs>;

/** The registry as a node sees it: ledger id → public bundle. */
export function registry(orgs: Orgs) {
  const byId = new Map<number, PublicKeyBundle>(
    Object.values(orgs).map((o): [number, PublicKeyBundle] => [o.id, o.publicBundle]),
  );
  return (id: number) => byId.get(id);
}

/** A replay store as a node would keep it (in memory here; the node persists it). */
export function replayStore() {
  const seen = new Map<string, number>();
  const calls: string[] = [];
  const check = (id: ExchangeRequestId, expiresAt: number) => {
    calls.push(id);
    if (seen.has(id)) return false;
    seen.set(id, expiresAt);
    return true;
  };
  return { check, seen, calls };
}

export const NOW = 1_760_000_000;
export const PATIENT = `0x${'ab'.repeat(32)}`;
export const PRACTITIONER = {
  member: '0x5B38Da6a701c568545dCfcB03FcB875f56beddC4',
  licence: `0x${'cd'.repeat(32)}`,
  displayName: 'Dr Ada Lovelace',
};

/** Distinctive plaintext markers that must never appear in any transcript. */
export const MARKERS = ['Zyxwv-Marker-Resource', 'glucose-unique-7731'];

export interface StoredRecord {
  envelope: Uint8Array;
  cid: Cid;
  resourceType: string;
  plaintext: Uint8Array;
}

/**
 * The custodian's store for one patient: category keys (Observations at epochs 0 and 1, Conditions at 0) and
 * `count` sealed records spread over them, as the node stores them.
 */
export function makeCustodianStore(count: number) {
  const pseudonym = new Uint8Array(randomBytes(32)); // the custodian's own storage pseudonym
  const obs0 = CategoryKey.generate({ pseudonym, category: DataCategory.Observations, epoch: 0 });
  const obs1 = obs0.rotate();
  const cond = CategoryKey.generate({ pseudonym, category: DataCategory.Conditions, epoch: 0 });
  const keys = [obs0, obs1, cond];
  const records: StoredRecord[] = [];
  for (let i = 0; i < count; i++) {
    const key = keys[i % keys.length]!;
    const resourceType = key.ref.category === DataCategory.Conditions ? 'Condition' : 'Observation';
    const resource = {
      resourceType,
      id: `r${i}`,
      subject: { reference: 'Patient/p1' },
      note: [{ text: `${MARKERS[0]} ${MARKERS[1]} #${i}` }],
      valueQuantity: { value: 5.4 + i, unit: 'mmol/L' },
    };
    const plaintext = canonicalBytes(resource);
    const envelope = sealRecord(key, { recordId: `${resourceType}/r${i}`, recordVersion: 1 }, plaintext);
    records.push({ envelope, cid: computeCid(envelope), resourceType, plaintext });
  }
  return { pseudonym, keys, records };
}

export function requestInput(
  orgs: Orgs,
  overrides: Partial<Parameters<typeof createExchangeRequest>[0]> = {},
) {
  return {
    requester: orgs.hospital.keys,
    custodian: { organisation: LAB, bundle: orgs.lab.publicBundle },
    practitioner: PRACTITIONER,
    patient: PATIENT,
    purpose: 0,
    categories: [DataCategory.Observations, DataCategory.Conditions],
    issuedAt: NOW,
    expiresAt: NOW + 60,
    ...overrides,
  };
}

/** The custodian (lab) opening a request with its registry and a fresh replay store. */
export function openAsLab(
  orgs: Orgs,
  bytes: Uint8Array,
  overrides: { now?: number; replay?: ReturnType<typeof replayStore> } = {},
) {
  const store = overrides.replay ?? replayStore();
  return openExchangeRequest(bytes, {
    custodian: orgs.lab.keys,
    resolveRequesterBundle: registry(orgs),
    now: overrides.now ?? NOW + 1,
    replay: store.check,
  });
}

export async function receivedRequest(orgs: Orgs): Promise<{
  bytes: Uint8Array;
  sent: ReturnType<typeof createExchangeRequest>['request'];
  received: ReceivedExchangeRequest;
}> {
  const { bytes, request } = createExchangeRequest(requestInput(orgs));
  return { bytes, sent: request, received: await openAsLab(orgs, bytes) };
}

/** Asserts `fn` throws (or rejects with) an MdlError of `code` and returns its message. */
export async function expectMdl(fn: () => unknown, code: MdlErrorCode): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!isMdlError(e)) throw e;
    expect(e.code).toBe(code);
    return e.message;
  }
  throw new Error(`expected an MdlError ${code}, but nothing was thrown`);
}

/** True iff `needle` occurs in `haystack` as a byte string. */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).includes(Buffer.from(needle));
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >>> 3]! ^= 1 << (bit & 7);
  return out;
}
