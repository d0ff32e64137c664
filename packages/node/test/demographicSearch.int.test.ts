/**
 * Demographic search and Patient/$match on a real node, over every Synthea patient: results equal a plain
 * in-memory reference computed from the same JSON; modifiers and prefixes; malformed values answered with an
 * OperationOutcome naming the parameter and never quoting the value; and from the attacker's side — a patient
 * searching by another patient's name, a clinician without consent, and the index database scanned for the
 * names and postcodes it must not hold.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CareSetting, startCareSetting } from './careSetting.js';
import { SHARED } from './helpers.js';

type Json = Record<string, any>;

/** Every Synthea Patient: the r4 bundles and the bulk NDJSON sample. */
function syntheaPatients(): Json[] {
  const out: Json[] = [];
  const dir = new URL('synthea/r4-bundles/', SHARED);
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const b = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { entry: { resource: Json }[] };
    for (const e of b.entry) if (e.resource.resourceType === 'Patient') out.push(e.resource);
  }
  const nd = readFileSync(new URL('synthea/bulk-ndjson-10-patients/Patient.000.ndjson', SHARED), 'utf8');
  for (const line of nd.split('\n')) if (line.trim()) out.push(JSON.parse(line) as Json);
  return out;
}

// The reference: FHIR string search written out plainly (case- and accent-insensitive starts-with).
const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
const startsWith = (values: string[], q: string) => values.some((v) => fold(v).startsWith(fold(q)));
const families = (p: Json): string[] => (p.name ?? []).flatMap((n: Json) => (n.family ? [n.family] : []));
const givens = (p: Json): string[] => (p.name ?? []).flatMap((n: Json) => n.given ?? []);
const nameParts = (p: Json): string[] =>
  (p.name ?? []).flatMap((n: Json) =>
    [n.text, n.family, ...(n.given ?? []), ...(n.prefix ?? []), ...(n.suffix ?? [])].filter(Boolean),
  );
const postcodes = (p: Json): string[] =>
  (p.address ?? []).flatMap((a: Json) => (a.postalCode ? [a.postalCode] : []));
const cities = (p: Json): string[] => (p.address ?? []).flatMap((a: Json) => (a.city ? [a.city] : []));
const phones = (p: Json): string[] =>
  (p.telecom ?? [])
    .filter((t: Json) => t.system === 'phone')
    .map((t: Json) => String(t.value).replace(/\D/g, ''));

describe('demographic search and Patient/$match over the Synthea population', () => {
  let setting: CareSetting;
  let call: CareSetting['call'];
  /** Server id → the Synthea Patient as loaded. */
  const loaded = new Map<string, Json>();

  beforeAll(async () => {
    setting = await startCareSetting();
    call = setting.call;
    const patients = syntheaPatients();
    const entry = patients.map(({ id: _id, ...resource }) => ({
      resource,
      request: { method: 'POST', url: 'Patient' },
    }));
    const r = await call('admin', 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
    expect(r.status).toBe(200);
    r.body.entry.forEach((e: Json, i: number) => {
      const id = /Patient\/([^/]+)/.exec(e.response.location)![1]!;
      loaded.set(id, patients[i]!);
    });
  }, 600_000);

  afterAll(async () => {
    await setting?.close();
  });

  /** The Synthea ids a search returns (the care setting's own patients left out), after checking the Bundle. */
  const found = async (who: string, query: string): Promise<string[]> => {
    const r = await call(who, 'GET', `/Patient?${query}&_count=1000`);
    expect(r.status, `${query}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(200);
    expect(r.body.resourceType).toBe('Bundle');
    expect(r.body.total).toBeUndefined();
    return ((r.body.entry ?? []) as Json[])
      .map((e) => e.resource.id as string)
      .filter((id) => loaded.has(id))
      .sort();
  };
  const expected = (pred: (p: Json) => boolean) =>
    [...loaded]
      .filter(([, p]) => pred(p))
      .map(([id]) => id)
      .sort();

  it('loaded every Synthea patient', () => {
    expect(loaded.size).toBe(syntheaPatients().length);
    expect(loaded.size).toBeGreaterThan(40);
  });

  it('finds each patient by family-name prefix and birth date, by given name and by name, as the reference does', async () => {
    for (const [, p] of loaded) {
      const family = families(p)[0]!;
      const given = givens(p)[0]!;
      const prefix = family.slice(0, 3).toUpperCase();
      expect(await found('admin', `family=${encodeURIComponent(prefix)}&birthdate=${p.birthDate}`)).toEqual(
        expected((q) => startsWith(families(q), prefix) && q.birthDate === p.birthDate),
      );
      expect(await found('admin', `given=${encodeURIComponent(given)}`)).toEqual(
        expected((q) => startsWith(givens(q), given)),
      );
    }
    for (const q of ['a', 'Ma', 'joh', 'MR', 'de']) {
      expect(await found('admin', `name=${q}`), q).toEqual(expected((p) => startsWith(nameParts(p), q)));
    }
  });

  it('gender, birth-date prefixes, address, phone, and the modifiers', async () => {
    expect(await found('admin', 'gender=female')).toEqual(expected((p) => p.gender === 'female'));
    expect(await found('admin', 'gender:not=female')).toEqual(expected((p) => p.gender !== 'female'));
    expect(await found('admin', 'birthdate=ge1980-06&birthdate=lt2000')).toEqual(
      expected((p) => p.birthDate >= '1980-06-01' && p.birthDate < '2000-01-01'),
    );
    expect(await found('admin', 'birthdate=1990')).toEqual(expected((p) => p.birthDate.startsWith('1990')));
    const some = [...loaded.values()][3]!;
    expect(await found('admin', `birthdate=ne${some.birthDate}`)).toEqual(
      expected((p) => p.birthDate !== some.birthDate),
    );
    const post = postcodes(some)[0]!;
    expect(await found('admin', `address-postalcode=${post.slice(0, 3)}`)).toEqual(
      expected((p) => startsWith(postcodes(p), post.slice(0, 3))),
    );
    const city = cities(some)[0]!;
    expect(await found('admin', `address-city=${encodeURIComponent(city.toLowerCase())}`)).toEqual(
      expected((p) => startsWith(cities(p), city)),
    );
    const phone = (some.telecom as Json[]).find((t) => t.system === 'phone')!.value as string;
    const formatted = `(${phone.replace(/\D/g, '').slice(0, 3)}) ${phone.replace(/\D/g, '').slice(3)}`;
    expect(await found('admin', `phone=${encodeURIComponent(formatted)}`)).toEqual(
      expected((p) => phones(p).includes(phone.replace(/\D/g, ''))),
    );
    const family = families(some)[0]!;
    expect(await found('admin', `family:exact=${encodeURIComponent(family)}`)).toEqual(
      expected((p) => families(p).includes(family)),
    );
    expect(await found('admin', `family:exact=${encodeURIComponent(family.toLowerCase())}`)).toEqual(
      expected((p) => families(p).includes(family.toLowerCase())),
    );
    expect(await found('admin', 'family:missing=true')).toEqual(expected((p) => families(p).length === 0));
    expect(await found('admin', 'address-postalcode:missing=false')).toEqual(
      expected((p) => postcodes(p).length > 0),
    );
    // Accepted and left to the HTTP layer.
    expect(await found('admin', 'gender=male&_format=json&_pretty=true')).toEqual(
      expected((p) => p.gender === 'male'),
    );
  });

  it('reference parameters take this server’s absolute URLs; :text searches code text', async () => {
    const { ids } = setting;
    const rel = await call('admin', 'GET', `/Observation?subject=Patient/${ids.patient}`);
    // This server's base, as it names its own resources.
    const base = (rel.body.entry[0].fullUrl as string).replace(/\/Observation\/[^/]+$/, '');
    const abs = await call(
      'admin',
      'GET',
      `/Observation?subject=${encodeURIComponent(`${base}/Patient/${ids.patient}`)}`,
    );
    expect(abs.status).toBe(200);
    expect(abs.body.entry.map((e: Json) => e.resource.id)).toEqual([ids.observation]);
    expect(abs.body.entry).toEqual(rel.body.entry);
    const elsewhere = await call(
      'admin',
      'GET',
      `/Observation?subject=${encodeURIComponent('https://other.example/fhir/Patient/1')}`,
    );
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.issue[0].expression).toEqual(['subject']);
    const text = await call('admin', 'GET', '/Condition?code:text=X');
    expect(text.body.entry.map((e: Json) => e.resource.id)).toEqual([ids.condition]);
    const notText = await call('admin', 'GET', '/Condition?code:text=y');
    expect(notText.body.entry ?? []).toEqual([]);
  });

  it('answers malformed values with a 400 naming the parameter, never quoting the value', async () => {
    for (const [q, param] of [
      ['name:contains=Smith', 'name:contains'],
      ['birthdate=1980-13-45', 'birthdate'],
      ['birthdate=sa1980', 'birthdate'],
      ['phone=Secretvalue', 'phone'],
      ['gender:missing=Secretvalue', 'gender:missing'],
      ['deceased=true', 'deceased'],
      ['family=%20--%20', 'family'],
    ] as const) {
      const r = await call('admin', 'GET', `/Patient?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.resourceType).toBe('OperationOutcome');
      expect(r.body.issue[0].expression).toEqual([param]);
      expect(JSON.stringify(r.body)).not.toMatch(/Secretvalue|Smith|1980-13/);
    }
  });

  const matchBody = (patient: Json, extra: Json[] = []) => ({
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: patient }, ...extra],
  });

  it('Patient/$match: scored, graded candidates found through the blind index', async () => {
    const [id, p] = [...loaded][5]!;
    const { id: _id, ...copy } = p;
    const certain = await call('admin', 'POST', '/Patient/$match', matchBody(copy));
    expect(certain.status).toBe(200);
    expect(certain.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(certain.body.total).toBeUndefined();
    const top = certain.body.entry[0];
    expect(top.resource.id).toBe(id);
    expect(top.search).toMatchObject({ mode: 'match', score: 1 });
    expect(top.search.extension).toEqual([
      { url: 'http://hl7.org/fhir/StructureDefinition/match-grade', valueCode: 'certain' },
    ]);
    // Name and birth date only, differently written: probable, never certain.
    const loose = {
      resourceType: 'Patient',
      name: [{ family: families(p)[0]!.toUpperCase(), given: [givens(p)[0]!.toLowerCase()] }],
      birthDate: p.birthDate,
    };
    const probable = await call('admin', 'POST', '/Patient/$match', matchBody(loose));
    expect(probable.body.entry[0].resource.id).toBe(id);
    expect(probable.body.entry[0].search.extension[0].valueCode).toBe('probable');
    expect(probable.body.entry[0].search.score).toBe(0.5);
    const onlyCertain = await call(
      'admin',
      'POST',
      '/Patient/$match',
      matchBody(loose, [{ name: 'onlyCertainMatches', valueBoolean: true }]),
    );
    expect(onlyCertain.body.entry ?? []).toEqual([]);
    // Wrong birth date: the identifier still finds the record, graded certainly-not.
    const conflicting = await call(
      'admin',
      'POST',
      '/Patient/$match',
      matchBody({ ...copy, birthDate: '1901-01-01' }),
    );
    expect(conflicting.body.entry[0].resource.id).toBe(id);
    expect(conflicting.body.entry[0].search.extension[0].valueCode).toBe('certainly-not');
    const count = await call(
      'admin',
      'POST',
      '/Patient/$match',
      matchBody({ resourceType: 'Patient', birthDate: p.birthDate, name: [{ given: givens(p) }] }, [
        { name: 'count', valueInteger: 1 },
      ]),
    );
    expect(count.body.entry.length).toBeLessThanOrEqual(1);

    for (const [body, param] of [
      [{ resourceType: 'Patient' }, undefined],
      [
        {
          resourceType: 'Parameters',
          parameter: [{ name: 'resource', resource: { resourceType: 'Observation' } }],
        },
        'resource',
      ],
      [matchBody(copy, [{ name: 'count', valueInteger: 0 }]), 'count'],
      [matchBody(copy, [{ name: 'onlyCertainMatches', valueString: 'yes' }]), 'onlyCertainMatches'],
      [matchBody({ resourceType: 'Patient', gender: 'male' }), 'resource'],
    ] as const) {
      const r = await call('admin', 'POST', '/Patient/$match', body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body.resourceType).toBe('OperationOutcome');
      if (param) expect(r.body.issue[0].expression).toEqual([param]);
    }
  });

  it('from the attacker’s side: another patient, a clinician without consent, the index database', async () => {
    const [, victim] = [...loaded][7]!;
    const family = families(victim)[0]!;
    const q = `family=${encodeURIComponent(family)}&birthdate=${victim.birthDate}`;
    // The patient finds only themself, and nothing — not even a count — of anyone else.
    const byPatient = await call('patient', 'GET', `/Patient?${q}`);
    expect(byPatient.status).toBe(200);
    expect(byPatient.body.entry ?? []).toEqual([]);
    expect(byPatient.body.total).toBeUndefined();
    const self = await call('patient', 'GET', '/Patient?family=testp');
    expect(self.body.entry.map((e: Json) => e.resource.id)).toEqual([setting.ids.patient]);
    const { id: _id, ...copy } = victim;
    const patientMatch = await call('patient', 'POST', '/Patient/$match', matchBody(copy));
    expect(patientMatch.status).toBe(200);
    expect(patientMatch.body.entry ?? []).toEqual([]);
    // A licensed clinician without any consent finds nobody.
    const byDoctor = await call('doctor', 'GET', `/Patient?${q}`);
    expect(byDoctor.status).toBe(200);
    expect(byDoctor.body.entry ?? []).toEqual([]);
    expect((await call('doctor', 'POST', '/Patient/$match', matchBody(copy))).body.entry ?? []).toEqual([]);
    // The admin sees the record: the searches above were refused by access, not by the data.
    expect((await found('admin', q)).length).toBeGreaterThan(0);

    // No name, postcode, city or phone number of any loaded patient in any column of any table.
    const needles = new Set<string>();
    for (const p of loaded.values()) {
      for (const v of [...families(p), ...givens(p), ...postcodes(p), ...cities(p), ...phones(p)]) {
        if (v.length >= 5) needles.add(v);
      }
    }
    expect(needles.size).toBeGreaterThan(100);
    const db = setting.hospital.db;
    const { rows: columns } = await db.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns
       WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
    );
    expect(columns.map((c) => `${c.table_name}.${c.column_name}`)).toContain('search_tokens.token');
    /**
     * Columns holding a needle. Words are looked for as substrings of every text column, and in binary columns
     * (in bytea's escaped form) when they have 8 characters or more: the binary columns hold hundreds of
     * thousands of 32-byte keyed hashes, in which a given 5-letter word turns up by chance about once in ten
     * runs across all the needles ((2/256)^5 per position), an 8-letter one about once in ten million. Digit
     * strings (postcodes, phone numbers) in text columns only and standing alone — inside hex, base64url or
     * binary columns five digits in a row occur by chance, and a leak would be written as a value of its own.
     */
    const scan = async (list: string[]) => {
      const words = list.filter((n) => /[a-z]/.test(n));
      const digits = list.filter((n) => !/[a-z]/.test(n));
      const hits: string[] = [];
      for (const { table_name: t, column_name: c, data_type: type } of columns) {
        const value = type === 'bytea' ? `encode(x."${c}", 'escape')` : `x."${c}"::text`;
        // One regular expression per column: the alternation of the needles (escaped).
        const alt = (ns: string[]) => ns.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
        const params: string[] = [];
        const tests: string[] = [];
        const columnWords = type === 'bytea' ? words.filter((w) => w.length >= 8) : words;
        if (columnWords.length > 0) {
          params.push(`(${alt(columnWords)})`);
          tests.push(`lower(${value}) ~ $${params.length}::text`);
        }
        if (type !== 'bytea' && digits.length > 0) {
          params.push(`(^|[^a-z0-9_-])(${alt(digits)})($|[^a-z0-9_-])`);
          tests.push(`lower(${value}) ~ $${params.length}::text`);
        }
        if (tests.length === 0) continue;
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${t}" x WHERE ${tests.join(' OR ')}`,
          params,
        );
        if (rows[0]!.n > 0) hits.push(`${t}.${c}`);
      }
      return hits;
    };
    // The scan finds plaintext where there is some: a canary table, scanned like every other, then dropped.
    await db.query('CREATE TABLE scan_canary (v text, b bytea)');
    await db.query("INSERT INTO scan_canary VALUES ('x Canaryname x', convert_to('Canarybytes', 'UTF8'))");
    columns.push(
      { table_name: 'scan_canary', column_name: 'v', data_type: 'text' },
      { table_name: 'scan_canary', column_name: 'b', data_type: 'bytea' },
    );
    expect(await scan(['canaryname', 'canarybytes'])).toEqual(['scan_canary.v', 'scan_canary.b']);
    await db.query("UPDATE scan_canary SET v = 'zip 02134.'");
    expect(await scan(['02134'])).toEqual(['scan_canary.v']);
    await db.query('DROP TABLE scan_canary');
    columns.splice(-2);
    const hits = await scan([...needles].map((n) => n.toLowerCase()));
    expect(hits).toEqual([]);
  });
});
