/**
 * What the index database reveals about demographics, measured on the Synthea population: the rows an attacker
 * holding the index database (not the keys) sees for every Patient and Practitioner — (type, id, param, token),
 * tokens computed exactly as the node computes them (Searcher.tokensOf, a random blind-index key) — and what
 * follows from them: equality classes, frequencies, uniqueness and the lengths the prefix tokens betray.
 *
 * Run: `node --conditions=source --import=tsx packages/node/bench/demographicLeakage.ts` (prints Markdown;
 * docs/fhir.md quotes the numbers).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { STRING_PREFIX_CAP } from '@medledger/fhir';
import { Searcher } from '../src/services/Searcher.js';

const SYNTHEA = new URL('../../../../shared/data/synthea/', import.meta.url);

type Resource = { resourceType: string; [k: string]: unknown };

export function syntheaPeople(): Resource[] {
  const out: Resource[] = [];
  const bundles = new URL('r4-bundles/', SYNTHEA);
  for (const f of readdirSync(bundles)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const b = JSON.parse(readFileSync(new URL(f, bundles), 'utf8')) as { entry: { resource: Resource }[] };
    for (const e of b.entry) {
      if (['Patient', 'Practitioner', 'RelatedPerson'].includes(e.resource.resourceType))
        out.push(e.resource);
    }
  }
  for (const t of ['Patient', 'Practitioner']) {
    const text = readFileSync(new URL(`bulk-ndjson-10-patients/${t}.000.ndjson`, SYNTHEA), 'utf8');
    for (const line of text.split('\n')) if (line.trim() !== '') out.push(JSON.parse(line) as Resource);
  }
  return out;
}

const DEMOGRAPHIC = [
  'name',
  'family',
  'given',
  'birthdate',
  'gender',
  'address',
  'address-city',
  'address-postalcode',
  'address-state',
  'phone',
  'email',
  'telecom',
];

interface ParamLeak {
  param: string;
  resourcesWithParam: number;
  distinctTokens: number;
  /** Tokens held by at least two resources (equality visible across resources). */
  sharedTokens: number;
  /** The most resources sharing one token. */
  largestClass: number;
  /** Resources whose token set for this parameter no other resource has. */
  uniqueResources: number;
  /** Tokens per resource (for strings: prefixes + exact forms, so it reveals lengths up to the cap). */
  tokensPerResource: { min: number; max: number; mean: number };
}

export function measureLeakage(resources: Resource[], type: string) {
  const searcher = new Searcher(randomBytes(32));
  const people = resources.filter((r) => r.resourceType === type);
  const rows = people.map((r, i) => ({ id: i, tokens: searcher.tokensOf(r as never) }));
  const params: ParamLeak[] = [];
  for (const param of DEMOGRAPHIC) {
    const per = rows.map((r) => r.tokens.filter((t) => t.param === param).map((t) => t.token));
    const holders = new Map<string, number>();
    for (const ts of per) for (const t of new Set(ts)) holders.set(t, (holders.get(t) ?? 0) + 1);
    if (holders.size === 0) continue;
    const sets = new Map<string, number>();
    for (const ts of per)
      if (ts.length > 0) sets.set([...ts].sort().join(','), (sets.get([...ts].sort().join(',')) ?? 0) + 1);
    const counts = per.filter((ts) => ts.length > 0).map((ts) => ts.length);
    params.push({
      param,
      resourcesWithParam: counts.length,
      distinctTokens: holders.size,
      sharedTokens: [...holders.values()].filter((n) => n >= 2).length,
      largestClass: Math.max(...holders.values()),
      uniqueResources: [...sets.values()].filter((n) => n === 1).length,
      tokensPerResource: {
        min: Math.min(...counts),
        max: Math.max(...counts),
        mean: counts.reduce((a, b) => a + b, 0) / counts.length,
      },
    });
  }
  // Uniqueness by combinations the attacker can form (the resource id links a resource's rows).
  const uniqueBy = (ps: string[]) => {
    const keys = rows.map((r) =>
      r.tokens
        .filter((t) => ps.includes(t.param))
        .map((t) => t.token)
        .sort()
        .join(','),
    );
    const n = new Map<string, number>();
    for (const k of keys) n.set(k, (n.get(k) ?? 0) + 1);
    return keys.filter((k) => n.get(k) === 1).length;
  };
  return {
    type,
    resources: people.length,
    params,
    uniqueByAllDemographics: uniqueBy(DEMOGRAPHIC),
    uniqueByBirthdateAndGender: uniqueBy(['birthdate', 'gender']),
    uniqueByFamily: uniqueBy(['family']),
    uniqueByPostalcode: uniqueBy(['address-postalcode']),
  };
}

export function leakageMarkdown(resources: Resource[]): string {
  const lines = [`String prefix cap: ${STRING_PREFIX_CAP} characters.`, ''];
  for (const type of ['Patient', 'Practitioner']) {
    const m = measureLeakage(resources, type);
    if (m.resources === 0) continue;
    lines.push(
      `**${type}** — ${m.resources} resources. Unique by all demographic tokens: ${m.uniqueByAllDemographics}; by birth date + gender: ${m.uniqueByBirthdateAndGender}; by family name: ${m.uniqueByFamily}; by postal code: ${m.uniqueByPostalcode}.`,
      '',
      '| param | resources | distinct tokens | shared tokens | largest class | unique resources | tokens/resource min–max (mean) |',
      '|---|---:|---:|---:|---:|---:|---|',
      ...m.params.map(
        (p) =>
          `| ${p.param} | ${p.resourcesWithParam} | ${p.distinctTokens} | ${p.sharedTokens} | ${p.largestClass} | ${p.uniqueResources} | ${p.tokensPerResource.min}–${p.tokensPerResource.max} (${p.tokensPerResource.mean.toFixed(1)}) |`,
      ),
      '',
    );
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(leakageMarkdown(syntheaPeople()));
}
