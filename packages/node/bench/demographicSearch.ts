/**
 * Demographic search latency over every Synthea patient, for the node bench (run.ts): the patients of the
 * imported bundles plus the bulk NDJSON sample's (created here), then, for each patient, one client asking
 * in turn: family-name prefix + birth date, given name, name prefix, birth date + gender, postal code, phone,
 * and a Patient/$match with the patient's own demographics. Each kind is timed on its own; the headline is
 * over all searches (the $match, several index searches and decryptions, is reported apart).
 */
import { readFileSync } from 'node:fs';
import { stats } from './stats.js';

type Call = (method: string, path: string, body?: string) => Promise<Record<string, unknown>>;
// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON read loosely, as the tests do
type Json = Record<string, any>;

const NDJSON = new URL(
  '../../../../shared/data/synthea/bulk-ndjson-10-patients/Patient.000.ndjson',
  import.meta.url,
);
const ROUNDS = Number(process.env.BENCH_DEMOGRAPHIC_ROUNDS ?? 5);

export async function demographicSearchBench(call: Call, patientIds: string[]) {
  const patients: Json[] = [];
  for (const id of patientIds) patients.push((await call('GET', `/Patient/${id}`)) as Json);
  for (const line of readFileSync(NDJSON, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { id: _id, ...resource } = JSON.parse(line) as Json;
    patients.push((await call('POST', '/Patient', JSON.stringify(resource))) as Json);
  }
  const kinds: Record<string, (p: Json) => string | undefined> = {
    'family prefix + birthdate': (p) =>
      p.name?.[0]?.family && p.birthDate
        ? `family=${encodeURIComponent(p.name[0].family.slice(0, 4))}&birthdate=${p.birthDate}`
        : undefined,
    given: (p) => (p.name?.[0]?.given?.[0] ? `given=${encodeURIComponent(p.name[0].given[0])}` : undefined),
    'name prefix': (p) =>
      p.name?.[0]?.family ? `name=${encodeURIComponent(p.name[0].family.slice(0, 3))}` : undefined,
    'birthdate + gender': (p) =>
      p.birthDate && p.gender ? `birthdate=${p.birthDate}&gender=${p.gender}` : undefined,
    'address-postalcode': (p) =>
      p.address?.[0]?.postalCode
        ? `address-postalcode=${encodeURIComponent(p.address[0].postalCode)}`
        : undefined,
    phone: (p) => {
      const t = (p.telecom ?? []).find((x: Json) => x.system === 'phone');
      return t ? `phone=${encodeURIComponent(t.value)}` : undefined;
    },
  };
  const byKind: Record<string, number[]> = {};
  const all: number[] = [];
  const match: number[] = [];
  let found = 0;
  let searches = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of patients) {
      for (const [kind, q] of Object.entries(kinds)) {
        const query = q(p);
        if (query === undefined) continue;
        const t = performance.now();
        const bundle = (await call('GET', `/Patient?${query}&_count=50`)) as { entry?: Json[] };
        const ms = performance.now() - t;
        byKind[kind] = [...(byKind[kind] ?? []), ms];
        all.push(ms);
        searches++;
        if ((bundle.entry ?? []).some((e) => e.resource.id === p.id)) found++;
      }
      const { id: _id, meta: _meta, ...self } = p;
      const t = performance.now();
      await call(
        'POST',
        '/Patient/$match',
        JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: self }] }),
      );
      match.push(performance.now() - t);
    }
  }
  return {
    patients: patients.length,
    searches,
    /** Searches whose first page held the patient searched for (a check that the bench searched something). */
    found,
    allMs: stats(all),
    byKindMs: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, stats(v)])),
    matchMs: stats(match),
  };
}
