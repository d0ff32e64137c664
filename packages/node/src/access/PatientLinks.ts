/**
 * Which on-chain patient a local record belongs to. Records are filed under a node-local pseudonym (a keyed
 * hash of the FHIR Patient id, so the index reveals nothing without the node's key); consent lives on the
 * ledger under the patient's on-chain pseudonym (the hash of the patient's consent-signing account). A
 * Patient resource that carries the identifier `urn:medledger:patient-pseudonym` (the on-chain pseudonym,
 * 0x + 64 hex digits) links the two; the link is written in the same transaction as the Patient version.
 *
 * Limits: one on-chain pseudonym per local patient and one local patient per on-chain pseudonym on a node
 * (a second Patient claiming an already-linked pseudonym is refused: it would let one patient's consent open
 * another's records).
 */

import { MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToHex, hexToBytes } from '@medledger/crypto';
import type { Migration, Queryable } from '@medledger/storage';
import type { Hex } from 'viem';

export const PATIENT_PSEUDONYM_SYSTEM = 'urn:medledger:patient-pseudonym';

export const patientLinkMigrations: Migration[] = [
  {
    name: 'node/002-patient-links',
    sql: `CREATE TABLE patient_links (
  record_pseudonym bytea PRIMARY KEY CHECK (octet_length(record_pseudonym) = 32),
  chain_pseudonym  bytea NOT NULL UNIQUE CHECK (octet_length(chain_pseudonym) = 32),
  linked_at        timestamptz NOT NULL DEFAULT now()
)`,
  },
];

/** The on-chain pseudonym a Patient resource declares, if any; a malformed one is refused. */
export function declaredChainPseudonym(resource: Record<string, unknown>): Hex | undefined {
  if (resource.resourceType !== 'Patient' || !Array.isArray(resource.identifier)) return undefined;
  const values = (resource.identifier as { system?: unknown; value?: unknown }[])
    .filter((i) => i?.system === PATIENT_PSEUDONYM_SYSTEM)
    .map((i) => i.value);
  if (values.length === 0) return undefined;
  if (values.length > 1 || typeof values[0] !== 'string' || !/^0x[0-9a-f]{64}$/.test(values[0])) {
    throw new MdlError(
      MdlErrorCode.BadInput,
      `Patient.identifier: one ${PATIENT_PSEUDONYM_SYSTEM} value, 0x and 64 lower-case hex digits`,
    );
  }
  return values[0] as Hex;
}

/** Links never change once made (link() refuses to move one), so found links are cached; misses are not. */
const CACHE_LIMIT = 10_000;

export class PatientLinks {
  readonly #cache = new Map<string, Hex>();

  /** Records the link (idempotent); refuses to move a pseudonym to another patient or vice versa. */
  async link(q: Queryable, recordPseudonym: Uint8Array, chainPseudonym: Hex): Promise<void> {
    const chain = hexToBytes(chainPseudonym.slice(2));
    const r = await q.query(
      `INSERT INTO patient_links (record_pseudonym, chain_pseudonym) VALUES ($1, $2)
       ON CONFLICT DO NOTHING`,
      [recordPseudonym, chain],
    );
    if (r.rowCount === 1) return;
    const existing = await q.query<{ n: number }>(
      'SELECT count(*)::int8 AS n FROM patient_links WHERE record_pseudonym = $1 AND chain_pseudonym = $2',
      [recordPseudonym, chain],
    );
    if (existing.rows[0]?.n !== 1) {
      throw new MdlError(
        MdlErrorCode.Conflict,
        'this patient is already linked to another on-chain identity',
      );
    }
  }

  async chainPseudonymOf(q: Queryable, recordPseudonym: Uint8Array): Promise<Hex | undefined> {
    const key = bytesToHex(recordPseudonym);
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const r = await q.query<{ chain_pseudonym: Uint8Array }>(
      'SELECT chain_pseudonym FROM patient_links WHERE record_pseudonym = $1',
      [recordPseudonym],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const chain = `0x${bytesToHex(row.chain_pseudonym)}` as Hex;
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(key, chain);
    return chain;
  }

  /** Local record pseudonyms of the given on-chain pseudonyms (unlinked ones are absent from the map). */
  async recordPseudonymsOf(q: Queryable, chainPseudonyms: readonly Hex[]): Promise<Map<Hex, Uint8Array>> {
    if (chainPseudonyms.length === 0) return new Map();
    const r = await q.query<{ record_pseudonym: Uint8Array; chain_pseudonym: Uint8Array }>(
      'SELECT record_pseudonym, chain_pseudonym FROM patient_links WHERE chain_pseudonym = ANY($1::bytea[])',
      [chainPseudonyms.map((p) => hexToBytes(p.slice(2)))],
    );
    return new Map(
      r.rows.map((row) => [`0x${bytesToHex(row.chain_pseudonym)}` as Hex, row.record_pseudonym]),
    );
  }
}
