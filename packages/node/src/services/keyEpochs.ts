/**
 * When a category key starts a new epoch, and which epochs an exchange may release (docs/consent.md, *Key
 * epochs*). A grant that covered a (patient, category) and has ended — revoked on the chain, or past its
 * validUntil — may have let its holder receive that category's key; the next key sealed for that patient and
 * category must be one it never got. The key ring (CategoryKeyRing) asks `GrantEndings` on every write which such
 * grants there are, and starts a new epoch for those not yet accounted for; the accounting is the table below,
 * written in the same transaction as the new epoch's wrapped key, so a crash leaves either both or neither and a
 * repeated check (another write, a re-delivered revocation event) finds the grant accounted for and rotates no
 * further.
 *
 * Expiry has no chain event: it is noticed by the same check on the write path, which is the only moment a new
 * epoch matters (nothing is sealed under it before). Revocation events additionally rotate at once
 * (`rotateOnRevocation`), so the first write after a revocation does not pay for the X-Wing wrap; that reaction
 * is best effort — a crash before it is repaired by the next write's check.
 *
 * Limits: break-glass sessions release keys too, and their end does not rotate; a grant is considered per
 * category, whatever its grantee, purpose or data period (rotating once too often costs one wrap).
 */

import type { ConsentIndex, IndexedGrant } from '@medledger/consent';
import { DataCategory, MdlError, MdlErrorCode, type RecordCategory } from '@medledger/core';
import { bytesToHex, hexToBytes } from '@medledger/crypto';
import { type Migration, type Queryable, RecordIndex } from '@medledger/storage';
import type { Hex } from 'viem';
import type { PatientLinks } from '../access/PatientLinks.js';

export const keyEpochMigrations: Migration[] = [
  {
    name: 'node/key-epoch-rotations',
    // epoch: the first epoch of (pseudonym, category) the grant's holder cannot have received.
    sql: `CREATE TABLE category_key_rotations (
  pseudonym  bytea NOT NULL CHECK (octet_length(pseudonym) = 32),
  category   int2  NOT NULL,
  consent_id bytea NOT NULL CHECK (octet_length(consent_id) = 32),
  epoch      int4  NOT NULL CHECK (epoch >= 0),
  rotated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pseudonym, category, consent_id)
)`,
  },
];

/** Ids (0x + 64 lower-case hex) of the grants that covered this patient's category and have ended by now. */
export type GrantEndings = (
  q: Queryable,
  pseudonym: Uint8Array,
  category: RecordCategory,
) => Promise<readonly string[]>;

const hexId = (bytes: Uint8Array) => `0x${bytesToHex(bytes)}`;
const idBytes = (id: string) => hexToBytes(id.slice(2));

/** The grants already accounted for by an epoch of (pseudonym, category). */
export async function accountedGrants(
  q: Queryable,
  pseudonym: Uint8Array,
  category: RecordCategory,
): Promise<Set<string>> {
  const { rows } = await q.query<{ consent_id: Uint8Array }>(
    'SELECT consent_id FROM category_key_rotations WHERE pseudonym = $1 AND category = $2',
    [pseudonym, category],
  );
  return new Set(rows.map((r) => hexId(r.consent_id)));
}

/** Records that `epoch` is the first the holders of these grants cannot have; the ids newly recorded. */
export async function recordRotation(
  q: Queryable,
  pseudonym: Uint8Array,
  category: RecordCategory,
  epoch: number,
  consentIds: readonly string[],
): Promise<string[]> {
  if (consentIds.length === 0) return [];
  const { rows } = await q.query<{ consent_id: Uint8Array }>(
    `INSERT INTO category_key_rotations (pseudonym, category, consent_id, epoch)
     SELECT $1, $2, id, $3 FROM unnest($4::bytea[]) AS id
     ON CONFLICT DO NOTHING RETURNING consent_id`,
    [pseudonym, category, epoch, consentIds.map(idBytes)],
  );
  return rows.map((r) => hexId(r.consent_id));
}

const READ = 0; // Action.Read: the only action an exchange releases keys for

/** Whether the grant could have let its holder receive the key of `category`. */
function covers(grant: IndexedGrant, category: RecordCategory): boolean {
  return ((grant.resourceClasses >> category) & 1) === 1 && ((grant.actions >> READ) & 1) === 1;
}

/** Revoked, or past its validity, at `at` (the consent index's clock: block timestamps). */
function ended(grant: IndexedGrant, at: number): boolean {
  return (grant.revokedAt !== undefined && grant.revokedAt <= at) || grant.validUntil <= at;
}

/**
 * GrantEndings from the consent index, for records of patients linked to an on-chain pseudonym (an unlinked
 * patient has no grants). Fresh to the chain head when the chain answers; when it does not, the indexed state
 * decides — writes do not stop for a chain outage, and a revocation the node has not yet seen cannot rotate.
 */
export function consentEndings(d: { consent: ConsentIndex; links: PatientLinks }): GrantEndings {
  return async (q, pseudonym, category) => {
    const patient = await d.links.chainPseudonymOf(q, pseudonym);
    if (!patient) return [];
    let grants: IndexedGrant[];
    try {
      grants = await d.consent.grantsOf(patient);
    } catch (error) {
      if (!(error instanceof MdlError && error.code === MdlErrorCode.Unavailable)) throw error;
      grants = await d.consent.grantsOf(patient, { fresh: false });
    }
    const at = d.consent.now();
    return grants.filter((g) => covers(g, category) && ended(g, at)).map((g) => g.id.toLowerCase());
  };
}

/**
 * The newest epoch of each category of a patient's keys now (absent: no key yet). Taken before an exchange's
 * consent decision, it bounds what the release may contain: an epoch started after the decision — e.g. by the
 * revocation of the very grant the decision found — is never released on it.
 */
export async function epochsNow(
  q: Queryable,
  pseudonym: Uint8Array,
  categories: readonly DataCategory[],
): Promise<Map<DataCategory, number>> {
  const index = new RecordIndex();
  const epochs = new Map<DataCategory, number>();
  for (const category of categories) {
    const epoch = await index.latestEpoch(q, pseudonym, category);
    if (epoch !== undefined) epochs.set(category, epoch);
  }
  return epochs;
}

/**
 * Rotates, at once, every category key of the revoked grant's patient that this node holds (the patient linked
 * locally): the eager half of rotation. `current` does the rotating and is idempotent, so a re-delivered event
 * or a write racing this changes nothing more.
 */
export async function rotateOnRevocation(
  d: {
    db: Queryable;
    consent: ConsentIndex;
    links: PatientLinks;
    current: (q: Queryable, pseudonym: Uint8Array, category: RecordCategory) => Promise<unknown>;
  },
  consentId: Hex,
): Promise<number> {
  const grant = await d.consent.grant(consentId);
  if (!grant) return 0;
  const local = (await d.links.recordPseudonymsOf(d.db, [grant.patient])).get(
    grant.patient.toLowerCase() as Hex,
  );
  if (!local) return 0;
  const held = await epochsNow(
    d.db,
    local,
    Object.values(DataCategory).filter((c) => covers(grant, c)),
  );
  for (const category of held.keys()) await d.current(d.db, local, category);
  return held.size;
}
