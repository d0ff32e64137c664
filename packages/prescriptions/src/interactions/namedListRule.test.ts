/**
 * The ONC High-Priority list as a runtime knowledge source (loaded from ../shared/data, as an operator loads
 * their licensed copy): every interaction id with a drug pair fires on one of its pairs, by name, in either order;
 * a misspelt long name still matches and short or different names do not; and every Synthea bundle, each of its
 * MedicationRequests in turn the draft against the rest of its history, flags exactly the manifest's positives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkInteractions } from './checkInteractions.js';
import { matchName, words } from './drugNameMatch.js';
import { type NamedInteractionList, parseOncHighPriorityList } from './oncHighPriorityList.js';

const SHARED = new URL('../../../../../shared/data/', import.meta.url);
const ONC_CSV = readFileSync(
  new URL('drugs/onc-high-priority/onc_high_priority_members.csv', SHARED),
  'utf8',
);
const parsed = parseOncHighPriorityList(ONC_CSV);
if (!parsed.ok) throw new Error(parsed.message);
const ONC: NamedInteractionList = parsed.list;
const NOW = new Date('2024-05-01T00:00:00Z');

const order = (id: string, text: string, status = 'draft') => ({
  resourceType: 'MedicationRequest',
  id,
  status,
  intent: 'order',
  medicationCodeableConcept: { text },
});

describe('the ONC High-Priority list', () => {
  const ids = [
    ...new Set(
      ONC_CSV.split('\n')
        .slice(1)
        .filter(Boolean)
        .map((l) => l.split(',')[0]),
    ),
  ];
  const withPairs = ids.filter((id) => id !== '21'); // #21 (QT-prolonging agents) names no drugs

  it('loads its 14 interactions that name drugs', () => {
    expect(ids).toHaveLength(15);
    expect(ONC.interactions.map((i) => i.id).sort()).toEqual([...withPairs].sort());
  });

  for (const id of withPairs) {
    it(`#${id}: each object drug ordered against a precipitant drug is flagged, in either direction`, () => {
      const interaction = ONC.interactions.find((i) => i.id === id)!;
      for (const [k, object] of interaction.objects.entries()) {
        const precipitant = interaction.precipitants[k % interaction.precipitants.length]!;
        const draft = order('d', `${object.name} 10 MG Oral Tablet`);
        const active = order('a', `${precipitant.name} 5 MG Oral Tablet`, 'active');
        for (const [d, a] of [
          [draft, active],
          [
            { ...active, status: 'draft' },
            { ...draft, status: 'active' },
          ],
        ]) {
          const { cards } = checkInteractions(
            { draftOrders: [d], activeMedications: [a], now: NOW },
            { namedLists: [ONC] },
          );
          const flagged = cards.filter((c) => c.source.topic?.code === id);
          expect(flagged, `${object.name} + ${precipitant.name}`).toHaveLength(1);
          expect(flagged[0]!.indicator).toBe('critical');
          expect(flagged[0]!.source.label).toBe(ONC.label);
        }
      }
    });
  }

  it('is only used when loaded: the product alone does not know it', () => {
    const draft = order('d', 'Simvastatin 20 MG Oral Tablet');
    const active = order('a', 'Amiodarone 200 MG Oral Tablet', 'active');
    expect(checkInteractions({ draftOrders: [draft], activeMedications: [active], now: NOW }).cards).toEqual(
      [],
    );
  });

  it('refuses a file that is not such a list, with a stable code', () => {
    for (const bad of ['', 'a,b\n1,2\n', 'onc_ddi_id,role,drug_class,drug_name\n21,object,QT,\n']) {
      const r = parseOncHighPriorityList(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.code).toBe('MDL_RX_INTERACTION_LIST_INVALID');
    }
  });
});

describe('name matching', () => {
  it('reads "Simvistatin 10 MG" (one letter off, a long name) as simvastatin', () => {
    const { cards } = checkInteractions(
      {
        draftOrders: [order('d', 'Amiodarone hydrocholoride 50 MG/ML')],
        activeMedications: [order('a', 'Simvistatin 10 MG', 'active')],
        now: NOW,
      },
      { namedLists: [ONC] },
    );
    expect(cards.map((c) => c.summary)).toEqual([
      'High-priority interaction: simvastatin + amiodarone (#25)',
    ]);
    expect(cards[0]!.detail).toContain('read "simvistatin" as simvastatin');
  });

  it('tolerates no misspelling of short names, nor two edits of long ones', () => {
    expect(matchName(words('Selegiline'), words('Selegilin 5 MG'))).toBeDefined(); // 10 letters, one edit
    expect(matchName(words('Dextromethorphan'), words('Dextromethorfan'))).toBeUndefined(); // two edits
    expect(matchName(words('Tramadol'), words('Tramadal'))).toBeDefined();
    expect(matchName(words('Ritonavir'), words('Ritonovar'))).toBeUndefined();
    expect(matchName(words('Rifampin'), words('Rifampicin'))).toBeUndefined();
    // Fewer than 8 letters: exact only.
    expect(matchName(words('Ergonovine'), words('Ergonovine'))).toBeDefined();
    expect(matchName(words('Fentanyl'), words('Fentanil'))).toBeDefined();
    expect(matchName(words('Sertraline'), words('sertraline HCl'))).toBeDefined();
    expect(matchName(words('Doxepin'), words('Doxepim'))).toBeUndefined();
    expect(matchName(words("St John's wort"), words('St. Johns Wort extract'))).toBeDefined();
  });

  it('finds no misspelling-only match anywhere in the Synthea medication texts', () => {
    const dir = new URL('synthea/r4-bundles/', SHARED);
    const texts = new Set<string>();
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      for (const e of JSON.parse(readFileSync(new URL(f, dir), 'utf8')).entry) {
        const cc = e.resource.medicationCodeableConcept;
        if (cc)
          for (const t of [cc.text, ...(cc.coding ?? []).map((c: { display?: string }) => c.display)])
            if (t) texts.add(t);
      }
    }
    const ndjson = readFileSync(
      new URL('synthea/bulk-ndjson-10-patients/MedicationRequest.000.ndjson', SHARED),
      'utf8',
    );
    for (const line of ndjson.split('\n').filter(Boolean)) {
      const cc = JSON.parse(line).medicationCodeableConcept;
      if (cc?.text) texts.add(cc.text);
    }
    expect(texts.size).toBeGreaterThan(50);
    const fuzzy: string[] = [];
    for (const text of texts) {
      for (const i of ONC.interactions) {
        for (const d of [...i.objects, ...i.precipitants]) {
          if (matchName(d.words, words(text))?.fuzzy) fuzzy.push(`${d.name} ~ ${text}`);
        }
      }
    }
    expect(fuzzy).toEqual([]);
  });
});

describe('Synthea: each MedicationRequest in turn as the draft, the rest of the history as active', () => {
  const dir = new URL('synthea/r4-bundles/', SHARED);
  const manifest = readFileSync(new URL('synthea/r4-bundles-MANIFEST.csv', SHARED), 'utf8')
    .trim()
    .split(/\r?\n/);
  const header = manifest[0]!.split(',');
  const fileCol = header.indexOf('file');
  const flagCol = header.indexOf('ddi_flags_history');
  const expected = new Map(
    manifest.slice(1).map((l) => {
      const cols = l.split(',');
      return [cols[fileCol]!, cols[flagCol] ?? ''] as const;
    }),
  );

  it('the manifest lists the 34 bundles, three of them with an interacting pair', () => {
    expect(fileCol).toBeGreaterThanOrEqual(0);
    expect(flagCol).toBeGreaterThanOrEqual(0);
    expect(expected.size).toBe(34);
    expect(
      readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual([...expected.keys()].sort());
    expect([...expected.values()].filter(Boolean)).toHaveLength(3);
  });

  for (const [file, flag] of expected) {
    it(`${file.split('_').slice(0, 2).join(' ')}: ${flag || 'no interaction'}`, () => {
      const resources = JSON.parse(readFileSync(new URL(file, dir), 'utf8')).entry.map(
        (e: { resource: Record<string, unknown> }) => e.resource,
      );
      const orders = resources.filter(
        (r: { resourceType: string }) => r.resourceType === 'MedicationRequest',
      );
      const records = resources.filter(
        (r: { resourceType: string }) => r.resourceType !== 'MedicationRequest',
      );
      const summaries = new Set<string>();
      for (const draft of orders) {
        const { cards } = checkInteractions(
          { draftOrders: [draft], activeMedications: orders, patientRecords: records, now: NOW },
          { namedLists: [ONC] },
        );
        for (const c of cards)
          summaries.add(
            `${c.source.label === ONC.label ? `ONC#${c.source.topic?.code}` : 'PDDI-CDS'} ${c.summary}`,
          );
      }
      if (!flag) {
        expect([...summaries]).toEqual([]);
        return;
      }
      // e.g. "ONC#25 simvastatin+amiodarone" or "PDDI-CDS warfarin+NSAID"
      const [list, pair] = flag.split(' ') as [string, string];
      const [a, b] = pair.split('+') as [string, string];
      expect(summaries.size).toBe(1);
      const [summary] = [...summaries];
      expect(summary!.startsWith(`${list} `)).toBe(true);
      expect(summary).toContain(`${a} + `);
      if (b !== 'NSAID') expect(summary).toContain(` + ${b}`);
    });
  }
});
