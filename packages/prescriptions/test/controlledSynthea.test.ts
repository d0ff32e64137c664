/**
 * The controlled-substance classification against every Synthea R4 bundle in shared/data (34 patients) and the
 * newer bulk NDJSON: opioids are found exactly where a plain regular expression over opioid names finds them,
 * and the full list of classified product displays is pinned, so that a non-controlled product being classified
 * (or a controlled one missed) changes the snapshot.
 */
import { validateResource } from '@medledger/fhir';
import { describe, expect, it } from 'vitest';
import { classifyMedication } from '../src/controlled/classifyMedication.js';
import { detectedIssuesFor } from '../src/controlled/detectedIssues.js';
import { assessControlledSubstanceRisk, RiskSignalCode } from '../src/controlled/riskSignals.js';
import type { TaggedPrescription } from '../src/controlled/supplyHistory.js';
import { bundleNames, bundleResources, ndjsonResources, type Resource } from './syntheaData.js';

/** Independent of the table on purpose: opioid names, matched anywhere in the medication's displays and text. */
const OPIOID_NAMES =
  /codeine|fentanyl|hydrocodone|hydromorphone|meperidine|methadone|morphine|oxycodone|oxymorphone|tapentadol|tramadol|buprenorphine|vicodin|percocet/i;

interface Concept {
  coding?: { display?: string }[];
  text?: string;
}
const displaysOf = (r: Resource) => {
  const c = r.medicationCodeableConcept as Concept | undefined;
  return [...(c?.coding ?? []).map((x) => x.display ?? ''), c?.text ?? ''].filter((s) => s !== '');
};
const requestsOf = (resources: Resource[]) => resources.filter((r) => r.resourceType === 'MedicationRequest');
const opioidNamesIn = (r: Resource) =>
  classifyMedication(r.medicationCodeableConcept)
    .ingredients.filter((i) => i.ingredient.class === 'opioid')
    .map((i) => i.ingredient.name);

describe('Synthea R4 bundles', () => {
  const names = bundleNames();

  it('has the 34 bundles', () => {
    expect(names).toHaveLength(34);
  });

  it('recognises an opioid in exactly the bundles whose MedicationRequests name one', () => {
    const byRegex: string[] = [];
    const byClassifier: string[] = [];
    for (const name of names) {
      const requests = requestsOf(bundleResources(name));
      if (requests.some((r) => displaysOf(r).some((d) => OPIOID_NAMES.test(d)))) byRegex.push(name);
      const recognised = new Set(requests.flatMap(opioidNamesIn));
      if (recognised.size > 0) byClassifier.push(name);
    }
    expect(byClassifier).toEqual(byRegex);
    // Guard against both sides being empty: the data holds oxycodone and meperidine prescriptions.
    expect(byRegex.length).toBeGreaterThanOrEqual(2);
  });

  it('classifies only these products (snapshot of every classified display in the bundles and NDJSON)', () => {
    const all = [
      ...names.flatMap((n) => requestsOf(bundleResources(n))),
      ...requestsOf(ndjsonResources('MedicationRequest.000.ndjson')),
    ];
    const distinct = new Map<string, Resource>();
    for (const r of all) distinct.set(displaysOf(r).join(' | '), r);
    const classified: Record<string, string[]> = {};
    for (const [display, r] of [...distinct].sort(([a], [b]) => a.localeCompare(b))) {
      const found = classifyMedication(r.medicationCodeableConcept).ingredients.map(
        (i) =>
          `${i.ingredient.name} ${i.ingredient.schedule}${i.strength === undefined ? '' : ` ${i.strength.mg} mg/${i.strength.basis}`}`,
      );
      if (found.length > 0) classified[display] = found;
    }
    expect(distinct.size).toBe(78);
    expect(classified).toEqual({
      'Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet | Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet':
        ['oxycodone II 5 mg/unit'],
      'Clonazepam [Klonopin] | Clonazepam [Klonopin]': ['clonazepam IV'],
      'Diazepam 5 MG Oral Tablet | Diazepam 5 MG Oral Tablet': ['diazepam IV 5 mg/unit'],
      'Diazepam [Valium] | Diazepam [Valium]': ['diazepam IV'],
      'Meperidine Hydrochloride 50 MG Oral Tablet | Meperidine Hydrochloride 50 MG Oral Tablet': [
        'meperidine II 50 mg/unit',
      ],
    });
  });

  it('computes the daily MME of the opioid prescriptions and the signals each patient raises', () => {
    const seen: Record<string, number[]> = {};
    for (const name of names) {
      const resources = bundleResources(name);
      const prescriptions: TaggedPrescription[] = requestsOf(resources).map((r) => ({
        resource: r,
        prescriber: String((r.requester as { reference?: string } | undefined)?.reference ?? 'unknown'),
        organisation: 'synthea',
      }));
      const result = assessControlledSubstanceRisk(prescriptions, []);
      for (const e of result.episodes) {
        if (!e.classes.includes('opioid') || e.dailyMme.status !== 'known') continue;
        for (const ingredient of e.ingredients)
          seen[ingredient] = [...(seen[ingredient] ?? []), e.dailyMme.mme];
      }
      // Synthea gives no supply length, so opioid supplies cannot be placed on days: reported as unknown.
      const hasOpioid = result.episodes.some((e) => e.classes.includes('opioid'));
      expect(result.signals.map((s) => s.code)).toEqual(hasOpioid ? [RiskSignalCode.MmeUnknown] : []);
      const patient = resources.find((r) => r.resourceType === 'Patient');
      for (const issue of detectedIssuesFor(result.signals, {
        patient: `Patient/${patient?.id}`,
        identified: '2026-01-01T00:00:00Z',
      })) {
        expect(validateResource(issue)).toMatchObject({ ok: true });
      }
    }
    // Oxycodone 5 mg every 6 h × 1.5 and meperidine 50 mg every 4 h × 0.1: 30 MME a day each.
    expect(Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, [...new Set(v)]]))).toEqual({
      oxycodone: [30],
      meperidine: [30],
    });
  });
});
