/**
 * The index database holds no plaintext PHI. A Synthea patient's bundle is written the way the node writes
 * it — server-assigned ids, a keyed pseudonym, blind-index tokens for name, identifiers, birth date and more,
 * sealed records in the blob store, a wrapped category key — and then every column of every table (the list
 * comes from information_schema, so a column added later is scanned too) is searched for the patient's
 * identifying values as UTF-8 substrings. A canary row proves the scan finds what it looks for.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataCategory } from '@medledger/core';
import {
  blindIndexToken,
  CategoryKey,
  canonicalBytes,
  derivePatientPseudonym,
  deriveSubkey,
  generateKeyBundle,
  hexToBytes,
  sealRecord,
  wrapCategoryKey,
} from '@medledger/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../src/Db.js';
import { FsBlobStore } from '../src/FsBlobStore.js';
import { RecordIndex, type SearchTokenEntry } from '../src/RecordIndex.js';

const BUNDLE = new URL(
  '../../../../shared/data/synthea/r4-bundles/Alejandro_Riojas_a9fcc685-c7a2-4474-bf25-26c8fe4b48f9.json',
  import.meta.url,
);

type Json = Record<string, unknown>;
interface Identifier {
  system?: string;
  value?: string;
  type?: { coding?: { code?: string }[] };
}
interface Patient {
  id: string;
  name: { family: string; given: string[] }[];
  identifier: Identifier[];
  birthDate: string;
  gender: string;
  telecom?: { value: string }[];
  address?: { line?: string[]; city?: string; postalCode?: string }[];
}

const CATEGORY: Record<string, DataCategory> = {
  Patient: DataCategory.Demographics,
  Encounter: DataCategory.Encounters,
  Condition: DataCategory.Conditions,
  Observation: DataCategory.Observations,
  DiagnosticReport: DataCategory.Observations,
  MedicationRequest: DataCategory.Medications,
  Immunization: DataCategory.Immunizations,
  Procedure: DataCategory.Procedures,
  CarePlan: DataCategory.Procedures,
  Claim: DataCategory.Claims,
  ExplanationOfBenefit: DataCategory.Claims,
};

const bundle = JSON.parse(await readFile(BUNDLE, 'utf8')) as { entry: { fullUrl: string; resource: Json }[] };
const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')!
  .resource as unknown as Patient;
const mrn = patient.identifier.find((i) => i.type?.coding?.some((c) => c.code === 'MR'))!;

/** What must never appear in the index: the patient's identifying values, as stored in the bundle. */
const NEEDLES = [
  ...new Set([
    ...patient.name.flatMap((n) => [n.family, ...n.given]),
    ...patient.identifier.map((i) => i.value!),
    patient.birthDate,
    patient.birthDate.replaceAll('-', ''),
    ...(patient.telecom ?? []).map((t) => t.value),
    ...(patient.address ?? []).flatMap((a) => [...(a.line ?? []), a.city ?? '', a.postalCode ?? '']),
    patient.id, // the source system's id: the node assigns its own
  ]),
].filter((n) => n.length >= 4);

/**
 * Registers the scan as a nested suite on an already migrated database that other tests share (the scan covers
 * their rows too): PGlite takes seconds to start, so each test file opens one database per backend.
 */
export function describePhiScan(getDb: () => Db): void {
  describe('no plaintext PHI in the index', () => {
    let db: Db;
    let blobDir: string;
    let written = 0;
    let pseudonym: Uint8Array;
    const index = new RecordIndex();

    beforeAll(async () => {
      db = getDb();
      blobDir = await mkdtemp(join(tmpdir(), 'mdl-phi-'));
      const blobs = new FsBlobStore(blobDir);

      const master = new Uint8Array(randomBytes(32));
      const pseudonymKey = deriveSubkey(master, 'patient-pseudonym');
      const indexKey = deriveSubkey(master, 'blind-index');
      pseudonym = hexToBytes(derivePatientPseudonym(pseudonymKey, mrn.system!, mrn.value!).slice(2));
      const custodian = generateKeyBundle();

      // Server-assigned ids, as for a transaction bundle's urn:uuid entries: nothing of the source's ids is kept.
      const ids = new Map(bundle.entry.map((e) => [e.fullUrl, randomUUID()]));
      const patientRef = `Patient/${ids.get(bundle.entry.find((e) => e.resource === (patient as unknown))!.fullUrl)}`;
      const tok = (param: string, value: string): SearchTokenEntry => ({
        param,
        token: blindIndexToken(indexKey, param, value),
      });
      const dateTokens = (param: string, date: string) =>
        [date.slice(0, 4), date.slice(0, 7), date.slice(0, 10)].map((d) => tok(param, d));

      const keys = new Map<DataCategory, CategoryKey>();
      await db.transaction(async (tx: Queryable) => {
        for (const entry of bundle.entry) {
          const r = entry.resource;
          const type = r.resourceType as string;
          const id = ids.get(entry.fullUrl)!;
          const category = CATEGORY[type];
          const tokens: SearchTokenEntry[] = [];
          if (r === (patient as unknown)) {
            for (const n of patient.name) {
              for (const part of [n.family, ...n.given]) {
                tokens.push(tok('name', part.toLowerCase()));
              }
              tokens.push(tok('family', n.family.toLowerCase()));
              for (const g of n.given) tokens.push(tok('given', g.toLowerCase()));
            }
            for (const i of patient.identifier) {
              tokens.push(tok('identifier', i.value!));
              if (i.system) tokens.push(tok('identifier', `${i.system}|${i.value}`));
            }
            tokens.push(...dateTokens('birthdate', patient.birthDate), tok('gender', patient.gender));
            for (const t of patient.telecom ?? []) tokens.push(tok('phone', t.value));
            for (const a of patient.address ?? []) {
              if (a.city) tokens.push(tok('address-city', a.city.toLowerCase()));
              if (a.postalCode) tokens.push(tok('address-postalcode', a.postalCode));
            }
          } else if (category !== undefined) {
            tokens.push(tok('patient', patientRef), tok('subject', patientRef));
            const code = (r.code ?? r.vaccineCode ?? r.type) as
              | { coding?: { system: string; code: string }[] }
              | undefined;
            for (const c of Array.isArray(code) ? [] : (code?.coding ?? [])) {
              tokens.push(tok('code', c.code), tok('code', `${c.system}|${c.code}`));
            }
            const when = (r.effectiveDateTime ?? r.recordedDate ?? r.authoredOn ?? r.occurrenceDateTime) as
              | string
              | undefined;
            if (when) tokens.push(...dateTokens('date', when));
          }
          const unique = [...new Map(tokens.map((t) => [`${t.param}|${t.token}`, t])).values()];

          let key: CategoryKey | undefined;
          if (category !== undefined) {
            key = keys.get(category);
            if (!key) {
              key = CategoryKey.generate({ pseudonym, category, epoch: 0 });
              keys.set(category, key);
              const envelope = wrapCategoryKey(key, custodian.publicBundle);
              await index.putWrappedKey(tx, {
                pseudonym,
                category,
                epoch: 0,
                holderKeyId: custodian.keyId,
                envelope,
              });
            }
          }
          const body = { ...r, id, meta: { versionId: '1' } };
          // Directory resources (Organization, Practitioner) belong to no patient; the node seals them under its
          // own keys — stood in for here by random bytes, since only the index is under test.
          const cid = await blobs.put(
            key
              ? sealRecord(key, { recordId: `${type}/${id}`, recordVersion: 1 }, canonicalBytes(body))
              : new Uint8Array(randomBytes(64)),
          );
          await index.writeVersion(tx, {
            type,
            id,
            expectedVersion: null,
            cid,
            lastUpdated: new Date(),
            pseudonym: category === undefined ? null : pseudonym,
            category: category ?? null,
            epoch: category === undefined ? null : 0,
            deleted: false,
            tokens: unique,
          });
          written++;
        }
      });
    });

    afterAll(async () => {
      if (blobDir) await rm(blobDir, { recursive: true, force: true });
    });

    /** Every (table.column) in the current schema holding any needle, as text (case-insensitive) or bytes. */
    async function scan(): Promise<string[]> {
      const { rows: columns } = await db.query<{
        table_name: string;
        column_name: string;
        data_type: string;
      }>(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
      );
      expect(columns.map((c) => `${c.table_name}.${c.column_name}`)).toEqual(
        expect.arrayContaining([
          'resources.id',
          'resource_versions.cid',
          'search_tokens.token',
          'wrapped_keys.envelope',
          'wrapped_keys.holder_key_id',
        ]),
      );
      const hits: string[] = [];
      const enc = new TextEncoder();
      for (const { table_name: t, column_name: c, data_type: type } of columns) {
        for (const needle of NEEDLES) {
          const variants = [needle, needle.toLowerCase(), needle.toUpperCase()];
          const { rows } =
            type === 'bytea'
              ? await db.query<{ n: number }>(
                  `SELECT count(*) AS n FROM "${t}" WHERE ${variants.map((_, i) => `position($${i + 1}::bytea IN "${c}") > 0`).join(' OR ')}`,
                  variants.map((v) => enc.encode(v)),
                )
              : await db.query<{ n: number }>(
                  `SELECT count(*) AS n FROM "${t}" WHERE position(lower($1) IN lower("${c}"::text)) > 0`,
                  [needle],
                );
          if (rows[0]!.n > 0) hits.push(`${t}.${c}: ${needle}`);
        }
      }
      return hits;
    }

    it('finds none of the patient’s identifying values in any column of any table', async () => {
      expect(written).toBe(bundle.entry.length);
      expect(NEEDLES).toEqual(
        expect.arrayContaining([
          patient.name[0]!.family,
          patient.name[0]!.given[0],
          mrn.value,
          patient.birthDate,
        ]),
      );
      expect((await index.compartment(db, pseudonym, { count: 1000, offset: 0 })).rows.length).toBe(
        bundle.entry.filter((e) => CATEGORY[e.resource.resourceType as string] !== undefined).length,
      );
      expect(await scan()).toEqual([]);
    });

    it('finds none in the blob store either (the sealed records are ciphertext)', async () => {
      let files = 0;
      for (const shard of await readdir(blobDir)) {
        for (const name of await readdir(join(blobDir, shard))) {
          const bytes = (await readFile(join(blobDir, shard, name))).toString('latin1').toLowerCase();
          for (const needle of NEEDLES)
            expect(bytes.includes(needle.toLowerCase()), `${needle} in ${name}`).toBe(false);
          files++;
        }
      }
      expect(files).toBe(bundle.entry.length);
    });

    it('the scan finds plaintext when there is some (canary)', async () => {
      await db.query('CREATE TABLE phi_canary (note text, blob bytea, at date)');
      try {
        await db.query('INSERT INTO phi_canary VALUES ($1, $2, $3)', [
          `patient ${patient.name[0]!.family.toUpperCase()}`,
          new TextEncoder().encode(`mrn=${mrn.value}`),
          patient.birthDate,
        ]);
        expect((await scan()).sort()).toEqual(
          [
            `phi_canary.at: ${patient.birthDate}`,
            `phi_canary.blob: ${mrn.value}`,
            `phi_canary.note: ${patient.name[0]!.family}`,
          ].sort(),
        );
      } finally {
        await db.query('DROP TABLE phi_canary');
      }
    });
  });
}
