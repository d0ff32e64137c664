/**
 * Shared test fixture: one composite key pair per test file (ML-DSA keygen is slow), migrated databases on both
 * backends, and AuditEvents whose "sealing" is their canonical bytes (so the verifier's openEvent hook can
 * recompute commitments; real callers seal with the record keys).
 */
import { bytesToUtf8, CompositeSigner, canonicalBytes, compositeKeygen } from '@medledger/crypto';
import { type Db, migrate } from '@medledger/storage';
import { afterAll } from 'vitest';
import type { Backend } from '../../storage/test/databases.js';
import type { AuditAppendEntry } from '../src/AuditLog.js';
import { type AuditEventJson, commitAuditEvent } from '../src/auditLeaf.js';
import { auditLogMigrations } from '../src/auditLogMigrations.js';

export const keys = compositeKeygen(new Uint8Array(64).fill(7));
export const signer = new CompositeSigner(keys.secretKey);
export const otherKeys = compositeKeygen(new Uint8Array(64).fill(9));

/**
 * One migrated database per backend per file (opening PGlite costs ~1 s); each call empties the audit tables
 * and returns it. Closed after the file.
 */
export function sharedDatabase(backend: Backend): () => Promise<Db> {
  let db: Promise<Db> | undefined;
  afterAll(async () => {
    if (db !== undefined) await (await db).close();
  });
  return async () => {
    db ??= backend.open().then(async (d) => {
      await migrate(d, auditLogMigrations);
      return d;
    });
    const d = await db;
    await d.exec('TRUNCATE audit_entries, audit_checkpoints RESTART IDENTITY');
    return d;
  };
}

export function auditEvent(n: number): AuditEventJson {
  return {
    resourceType: 'AuditEvent',
    action: n % 3 === 0 ? 'C' : 'R',
    recorded: new Date(1_700_000_000_000 + n * 1000).toISOString(),
    agent: [{ who: { reference: `Practitioner/p${n % 7}` } }],
    entity: [{ what: { reference: `Observation/o${n}` } }],
  };
}

export function entryFor(n: number): AuditAppendEntry & { event: AuditEventJson } {
  const event = auditEvent(n);
  const { salt, commitment } = commitAuditEvent(event);
  return { event, salt, commitment, sealedEvent: canonicalBytes(event) };
}

export function entries(from: number, count: number): (AuditAppendEntry & { event: AuditEventJson })[] {
  return Array.from({ length: count }, (_, i) => entryFor(from + i));
}

/** The test's "unsealing": the stored bytes are the canonical event. */
export async function openEvent(sealed: Uint8Array): Promise<AuditEventJson> {
  return JSON.parse(bytesToUtf8(sealed)) as AuditEventJson;
}
