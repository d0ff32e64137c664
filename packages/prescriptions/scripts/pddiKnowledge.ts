/**
 * Renders src/interactions/pddiCdsKnowledge.generated.ts from the HL7 PDDI-CDS implementation guide's
 * published artefacts as shared/data holds them (CC0-1.0): the flattened RxNorm / LOINC / SNOMED CT value sets,
 * which ingredient sets make up the class sets, and the card texts and suggested actions of the two order-sign
 * PlanDefinitions. The CQL logic itself is not published there; the engine (warfarinNsaids.ts,
 * digoxinCyclosporine.ts) encodes it from the PlanDefinitions' conditions. Anything the engine relies on that is
 * missing from the data makes rendering fail rather than silently ship a smaller rule.
 */
import { readFileSync } from 'node:fs';
import { parseCsv } from '../src/interactions/parseCsv.js';

export const PDDI_SOURCE = {
  repository: 'https://github.com/HL7/PDDI-CDS',
  commit: '018be88010175fa37e818c27c2925a6767273870',
  licence: 'CC0-1.0',
} as const;

/** shared/data, as seen from the repository root's sibling directory. */
export const SHARED_DATA = new URL('../../../../shared/data/', import.meta.url);

interface PdAction {
  title?: string;
  description?: string;
  condition?: { expression?: { expression?: string } }[];
  type?: { coding?: { code?: string }[] };
  definitionCanonical?: string;
  action?: PdAction[];
}

interface PlanDefinition {
  id: string;
  url: string;
  title: string;
  relatedArtifact?: { url?: string; display?: string }[];
  action: PdAction[];
}

export interface KnowledgeInputs {
  codesCsv: string;
  compositionCsv: string;
  planDefinitions: Record<string, PlanDefinition>;
}

export function loadPddiInputs(base: URL = SHARED_DATA): KnowledgeInputs {
  const dir = new URL('drugs/pddi-cds/', base);
  const pd = (name: string) =>
    JSON.parse(readFileSync(new URL(`plandefinitions/PlanDefinition-${name}.json`, dir), 'utf8'));
  return {
    codesCsv: readFileSync(new URL('pddi_cds_valueset_codes.csv', dir), 'utf8'),
    compositionCsv: readFileSync(new URL('pddi_cds_valueset_composition.csv', dir), 'utf8'),
    planDefinitions: {
      'warfarin-nsaids': pd('warfarin-nsaids-cds-sign'),
      'digoxin-cyclosporine': pd('digoxin-cyclosporine-cds-sign'),
    },
  };
}

const clean = (s: string | undefined) =>
  (s ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l.toLowerCase() !== 'unknown.')
    .join('\n');

function condition(a: PdAction): string | undefined {
  return a.condition?.[0]?.expression?.expression;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`PDDI-CDS data: ${what} not found`);
  return value;
}

function childByTitle(parent: PdAction, title: string): PdAction {
  return need(
    parent.action?.find((a) => a.title === title),
    `action "${title}"`,
  );
}

function textOf(a: PdAction) {
  return {
    title: a.title ?? '',
    description: clean(a.description),
    ...(a.definitionCanonical ? { definition: a.definitionCanonical } : {}),
  };
}

export function pddiKnowledge(inputs: KnowledgeInputs) {
  const valueSets: Record<string, { title: string; system: string; codes: string[] }> = {};
  for (const row of parseCsv(inputs.codesCsv)) {
    const id = row.valueset_id!.trim();
    const set = valueSets[id] ?? { title: row.valueset_title!, system: row.system!, codes: [] };
    valueSets[id] = set;
    if (set.system !== row.system) throw new Error(`PDDI-CDS data: ${id} mixes code systems`);
    const code = row.code!.trim();
    if (!set.codes.includes(code)) set.codes.push(code);
  }
  for (const set of Object.values(valueSets)) set.codes.sort();
  const composition: Record<string, string[]> = {};
  for (const row of parseCsv(inputs.compositionCsv)) {
    const members = composition[row.composite_valueset_id!] ?? [];
    composition[row.composite_valueset_id!] = members;
    need(valueSets[row.member_valueset_id!], `value set ${row.member_valueset_id}`);
    if (!members.includes(row.member_valueset_id!)) members.push(row.member_valueset_id!);
  }
  for (const members of Object.values(composition)) members.sort();
  for (const id of ['NSAIDS', 'PPIS', 'SCS', 'AAS', 'LOOPDIURETIC']) need(composition[`valueset-${id}`], id);

  const wn = inputs.planDefinitions['warfarin-nsaids']!;
  const wnRoot = need(wn.action[0], 'warfarin-nsaids root action');
  const wnBy = (cond: string, titleStart: string) =>
    need(
      wnRoot.action?.find((a) => condition(a) === cond && (a.title ?? '').startsWith(titleStart)),
      `warfarin-nsaids action "${titleStart}"`,
    );
  const topical = wnBy('Is context medication topical diclofenac', 'Potential Drug-Drug Interaction');
  const systemic = wnBy('Is not context medication topical diclofenac', 'Potential Drug-Drug Interaction');
  const substitute = need(
    systemic.action?.find((a) => a.type?.coding?.[0]?.code === 'create'),
    'substitute action',
  );
  const remove = need(
    systemic.action?.find((a) => a.type?.coding?.[0]?.code === 'remove'),
    'remove action',
  );

  const dc = inputs.planDefinitions['digoxin-cyclosporine']!;
  const dcRoot = need(dc.action[0], 'digoxin-cyclosporine root action');
  const dcBase = need(dcRoot.action?.[0], 'digoxin-cyclosporine base card');
  const dcLevel = need(
    dcRoot.action?.find((a) => condition(a) === 'Is digoxin in prefetch'),
    'digoxin level card',
  );
  const dcLabs = need(
    dcRoot.action?.find((a) => (a.title ?? '').startsWith('Within 100 days')),
    'electrolytes card',
  );

  const source = (pd: PlanDefinition, fallbackLabel: string) => ({
    label: `HL7 PDDI-CDS: ${pd.title ?? fallbackLabel}`,
    url: need(pd.relatedArtifact?.[0]?.url, `${pd.id} documentation link`),
    planDefinition: pd.url,
  });

  return {
    provenance: {
      ...PDDI_SOURCE,
      files: [
        'input/images/artifacts/{warfarin-nsaids,digoxin-cyclosporine}/valueset-bundle.xml (flattened)',
        'input/resources/PlanDefinition-warfarin-nsaids-cds-sign.json',
        'input/resources/PlanDefinition-digoxin-cyclosporine-cds-sign.json',
      ],
    },
    valueSets,
    composition,
    rules: {
      'warfarin-nsaids': {
        source: source(wn, 'Warfarin NSAIDs'),
        baseTitle: clean(systemic.title),
        topical: { description: clean(topical.description), action: clean(topical.action?.[0]?.title) },
        systemic: {
          description: clean(systemic.description),
          remove: textOf(remove),
          substitute: textOf(substitute),
        },
        ppi: textOf(wnBy('Is not context medication topical diclofenac', 'Patient is (not) taking')),
        ageUgib: textOf(wnBy('Is not context medication topical diclofenac', 'Patient is (not) 65')),
        concomitant: textOf(
          wnBy('Is not context medication topical diclofenac', 'Patient is (not) concomitantly'),
        ),
      },
      'digoxin-cyclosporine': {
        source: source(dc, 'Digoxin Cyclosporine'),
        baseTitle: clean(dcBase.title),
        description: clean(dcBase.description),
        cancelDigoxin: textOf(childByTitle(dcBase, 'Cancel digoxin')),
        cancelCyclosporine: textOf(childByTitle(dcBase, 'Cancel cyclosporine')),
        level: textOf(dcLevel),
        levelOrder: textOf(childByTitle(dcLevel, 'Digoxin Level')),
        reduceDigoxin: textOf(childByTitle(dcLevel, 'New Digoxin')),
        labs: textOf(dcLabs),
        creatinineOrder: textOf(childByTitle(dcLabs, 'Serum Creatinine')),
        electrolyteOrder: textOf(childByTitle(dcLabs, 'Electrolyte Panel')),
      },
    },
  };
}

export type PddiKnowledge = ReturnType<typeof pddiKnowledge>;

export function renderPddiKnowledge(inputs: KnowledgeInputs): string {
  const knowledge = pddiKnowledge(inputs);
  return [
    '// GENERATED by packages/prescriptions/scripts/generatePddiKnowledge.ts — do not edit.',
    `// Source: ${PDDI_SOURCE.repository} at commit ${PDDI_SOURCE.commit}, licence ${PDDI_SOURCE.licence}`,
    '// (HL7 FHIR IG "Potential Drug-Drug Interaction CDS"): value sets, class compositions, card texts.',
    '',
    `export const PDDI_CDS_KNOWLEDGE = ${JSON.stringify(knowledge, null, 1)};`,
    '',
  ].join('\n');
}
