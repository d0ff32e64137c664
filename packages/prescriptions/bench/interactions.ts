/**
 * `npm run bench -w @medledger/prescriptions`: how long one order-sign interaction check takes for a patient on
 * 20 active medications (target p99 ≤ 50 ms), with the PDDI-CDS rules and the ONC list (from ../shared/data)
 * loaded, two draft orders, and the patient's conditions and labs. Baseline in the same run: the check without
 * the drug-name list (codes only). The medications are the Synthea bundles' real texts and codes plus the
 * PDDI-CDS example drugs, so name matching sees realistic text. Writes bench/report/interactions.{json,md}.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { checkInteractions, type InteractionCheckInput, parseOncHighPriorityList } from '../src/index.js';

const SHARED = new URL('../../../../shared/data/', import.meta.url);
const onc = parseOncHighPriorityList(
  readFileSync(new URL('drugs/onc-high-priority/onc_high_priority_members.csv', SHARED), 'utf8'),
);
if (!onc.ok) throw new Error(onc.message);

// 20 distinct medications from the Synthea bundles (their own MedicationRequests), warfarin among them.
const dir = new URL('synthea/r4-bundles/', SHARED);
const seen = new Map<string, Record<string, unknown>>();
for (const f of readdirSync(dir).sort()) {
  for (const e of JSON.parse(readFileSync(new URL(f, dir), 'utf8')).entry) {
    const r = e.resource;
    const code = r.medicationCodeableConcept?.coding?.[0]?.code;
    if (r.resourceType === 'MedicationRequest' && code && !seen.has(code)) seen.set(code, r);
  }
}
const warfarin = [...seen.values()].find((r) => JSON.stringify(r).includes('Warfarin'))!;
const active = [warfarin, ...[...seen.values()].filter((r) => r !== warfarin).slice(0, 19)].map((r, i) => ({
  ...r,
  id: `active-${i}`,
  status: 'active',
}));
const draft = (id: string, code: string, display: string) => ({
  resourceType: 'MedicationRequest',
  id,
  status: 'draft',
  intent: 'order',
  subject: { reference: 'Patient/p1' },
  medicationCodeableConcept: {
    coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code, display }],
  },
});
const input: InteractionCheckInput = {
  draftOrders: [
    draft('d1', '834022', 'Ketorolac Tromethamine 10 MG Oral Tablet'),
    draft('d2', '197605', 'Digoxin 0.2 MG Oral Capsule'),
  ],
  activeMedications: active,
  patientRecords: [
    { resourceType: 'Patient', id: 'p1', birthDate: '1950-01-01' },
    { resourceType: 'Condition', code: { coding: [{ system: 'http://snomed.info/sct', code: '12847006' }] } },
    ...['2160-0', '2823-3', '19123-9', '17861-6', '10535-3'].map((code, i) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code }] },
      effectiveDateTime: '2024-04-20',
      valueQuantity: { value: [1.0, 3.1, 0.8, 9.0, 0.7][i], unit: 'mmol/L' },
    })),
  ],
  now: new Date('2024-05-01T00:00:00Z'),
};

function measure(label: string, run: () => number, iterations = 2000) {
  for (let i = 0; i < 200; i++) run(); // warm-up
  const times: number[] = [];
  let cards = 0;
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    cards = run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { label, iterations, cards, p50: q(0.5), p99: q(0.99), max: times.at(-1)! };
}

const results = [
  measure(
    'order-sign, 20 active + 2 drafts, PDDI-CDS + ONC list',
    () => checkInteractions(input, { namedLists: [onc.list] }).cards.length,
  ),
  measure('baseline: the same without the drug-name list', () => checkInteractions(input).cards.length),
];
const date = new Date().toISOString();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'} · Node ${process.version}`;
const ms = (v: number) => `${v.toFixed(3)} ms`;
const md = [
  '# medledger interaction-check benchmark',
  '',
  `${date} · ${machine}`,
  '',
  '| check | iterations | cards | p50 | p99 | max |',
  '|---|---|---|---|---|---|',
  ...results.map(
    (r) => `| ${r.label} | ${r.iterations} | ${r.cards} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`,
  ),
  '',
  `Target: p99 ≤ 50 ms — ${results[0]!.p99 <= 50 ? 'met' : 'NOT met'}.`,
  '',
].join('\n');
const out = new URL('./report/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('interactions.json', out), `${JSON.stringify({ date, machine, results }, null, 2)}\n`);
writeFileSync(new URL('interactions.md', out), md);
console.log(`${md}\nreport written to ${new URL('interactions.md', out).pathname}`);
