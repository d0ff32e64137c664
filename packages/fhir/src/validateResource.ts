/**
 * Validates a parsed JSON value as a FHIR R4 resource against the official R4 JSON schema (Ajv 8, draft-06),
 * plus what the schema cannot say: reference formats, a nesting limit. Each resource type is compiled on
 * first use and cached; compiling the schema's root `oneOf` would be slow and yield one useless error per
 * resource type. Two schema edits (in memory only) make that work:
 * - `ResourceList` (contained resources, Bundle.entry.resource, Parameters.parameter.resource) is replaced
 *   by a keyword that dispatches on `resourceType` to that type's validator, so errors inside an embedded
 *   resource name the element instead of 146 failed `oneOf` branches;
 * - `Reference.reference` gets a keyword that checks the reference form (see isValidReference).
 * After the schema, the required elements (minimum cardinality ≥ 1 in the R4 StructureDefinitions, e.g.
 * `Observation.status`, `Observation.component.code`) are checked from a generated table: a nested element only
 * when its parent is present; a primitive counts as present when only its `_element` (extensions) is; a choice
 * element `value[x]` when any of its typed keys is. Elements of extensions are not checked.
 * Limits: no FHIRPath invariants, profiles or terminology.
 */
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type FuncKeywordDefinition, type ValidateFunction } from 'ajv';
import type { FhirResource } from './FhirResource.js';
import { fhirPath, type PathSegment, pointerSegments } from './fhirPath.js';
import { loadFhirSchema } from './fhirSchema.js';
import { type Issue, type IssueCode, issue } from './Issue.js';
import { isValidReference } from './isValidReference.js';
import { REQUIRED_ELEMENTS } from './requiredElements.generated.js';
import { isResourceType } from './resourceTypes.js';

export interface ValidateOptions {
  /** Accept conditional references `Type?query` (only meaningful inside a transaction). Default false. */
  allowConditionalReferences?: boolean;
  /** Maximum nesting of objects and arrays, the resource itself being depth 1. Default DEFAULT_MAX_DEPTH. */
  maxDepth?: number;
  /** Maximum number of issues reported. Default and upper bound MAX_ISSUES. */
  maxIssues?: number;
}

export type ValidationResult = { ok: true; resource: FhirResource } | { ok: false; issues: Issue[] };

/** Deep enough for every HL7 example and Synthea resource (those nest at most ~12), shallow enough to bound work. */
export const DEFAULT_MAX_DEPTH = 32;
export const MAX_ISSUES = 10;

const SCHEMA_KEY = 'fhir-r4';

interface Validator {
  ajv: Ajv;
  byType: Map<string, ValidateFunction>;
}

let validator: Validator | undefined;
/** Options of the validation in progress; validation is synchronous, so one slot suffices. */
let current: ValidateOptions = {};

function typeValidator(type: string): ValidateFunction {
  const v = getValidator();
  let fn = v.byType.get(type);
  if (fn === undefined) {
    const compiled = v.ajv.getSchema(`${SCHEMA_KEY}#/definitions/${type}`);
    if (compiled === undefined) throw new Error('resource type missing from schema');
    fn = compiled;
    v.byType.set(type, fn);
  }
  return fn;
}

/** Ajv's function keywords report errors through the function's own `errors` property. */
interface KeywordFn {
  (schema: unknown, data: unknown, parentSchema?: unknown, cxt?: { instancePath: string }): boolean;
  errors?: Partial<ErrorObject>[];
}

const embeddedResource: KeywordFn = (_schema, data, _parent, cxt) => {
  const errs: Partial<ErrorObject>[] = [];
  const base = cxt?.instancePath ?? '';
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    errs.push({ keyword: 'type', params: { type: 'object' } });
  } else if (!('resourceType' in data)) {
    errs.push({ keyword: 'required', params: { missingProperty: 'resourceType' } });
  } else if (!isResourceType((data as { resourceType: unknown }).resourceType)) {
    errs.push({ keyword: 'resourceType', instancePath: `${base}/resourceType`, params: {} });
  } else {
    const fn = typeValidator((data as { resourceType: string }).resourceType);
    if (!fn(data)) {
      for (const e of fn.errors ?? []) errs.push({ ...e, instancePath: base + e.instancePath });
    }
  }
  embeddedResource.errors = errs;
  return errs.length === 0;
};

const referenceForm: KeywordFn = (_schema, data) => {
  if (typeof data !== 'string' || isValidReference(data, current)) {
    referenceForm.errors = [];
    return true;
  }
  referenceForm.errors = [{ keyword: 'fhirReference', params: {} }];
  return false;
};

const asKeyword = (fn: KeywordFn) => fn as unknown as FuncKeywordDefinition['validate'];

function getValidator(): Validator {
  if (validator !== undefined) return validator;
  const require = createRequire(import.meta.url);
  const draft06 = require('ajv/dist/refs/json-schema-draft-06.json') as Record<string, unknown>;
  const schema = loadFhirSchema();
  const reference = schema.definitions.Reference as { properties: Record<string, object> };
  const definitions = {
    ...schema.definitions,
    ResourceList: { fhirEmbeddedResource: true },
    Reference: {
      ...reference,
      properties: {
        ...reference.properties,
        reference: { ...reference.properties.reference, fhirReference: true },
      },
    },
  };
  // The root `oneOf` and `discriminator` are dropped: only definitions are ever compiled.
  const edited = { $schema: schema.$schema, definitions };
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    validateSchema: false,
    meta: false,
    messages: false,
  });
  ajv.addMetaSchema(draft06);
  ajv.addKeyword({ keyword: 'fhirEmbeddedResource', errors: true, validate: asKeyword(embeddedResource) });
  ajv.addKeyword({ keyword: 'fhirReference', errors: true, validate: asKeyword(referenceForm) });
  ajv.addSchema(edited, SCHEMA_KEY);
  validator = { ajv, byType: new Map() };
  return validator;
}

/** Validates `value` as an R4 resource; on failure returns at most `maxIssues` of the most specific issues. */
export function validateResource(value: unknown, options: ValidateOptions = {}): ValidationResult {
  const maxIssues = Math.min(options.maxIssues ?? MAX_ISSUES, MAX_ISSUES);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(issue('structure', 'A resource must be a JSON object'));
  }
  const type = (value as { resourceType?: unknown }).resourceType;
  if (type === undefined) return fail(issue('required', 'resourceType is missing', 'resourceType'));
  if (typeof type !== 'string')
    return fail(issue('structure', 'resourceType must be a string', 'resourceType'));
  if (!isResourceType(type)) return fail(issue('not-supported', 'Unknown resource type', 'resourceType'));

  const tooDeep = firstTooDeep(value, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  if (tooDeep !== undefined) {
    return fail(issue('too-long', 'Elements are nested deeper than allowed', fhirPath(type, tooDeep)));
  }

  const fn = typeValidator(type);
  current = options;
  let valid: boolean;
  try {
    valid = fn(value);
  } finally {
    current = {};
  }
  if (!valid) return { ok: false, issues: toIssues(type, fn.errors ?? [], maxIssues) };
  const missing = missingRequired(value as Record<string, unknown>, maxIssues);
  if (missing.length > 0) return { ok: false, issues: missing };
  return { ok: true, resource: value as FhirResource };
}

type Rules = (typeof REQUIRED_ELEMENTS)[string];

/** Required elements that are absent, as issues (at most `max`); the input already passed the schema. */
function missingRequired(resource: Record<string, unknown>, max: number): Issue[] {
  const out: Issue[] = [];
  const visit = (node: unknown, definition: string, path: PathSegment[], root: string) => {
    if (out.length >= max || typeof node !== 'object' || node === null || Array.isArray(node)) return;
    const rules: Rules | undefined = REQUIRED_ELEMENTS[definition];
    if (!rules) return;
    const o = node as Record<string, unknown>;
    const keys = Object.keys(o);
    for (const [name, [min, next]] of Object.entries(rules)) {
      const choice = name.endsWith('[x]') ? name.slice(0, -3) : undefined;
      const present = choice
        ? keys.filter((k) => (k.startsWith(choice) || k.startsWith(`_${choice}`)) && isChoiceKey(k, choice))
        : keys.filter((k) => k === name || k === `_${name}`);
      if (min === 1 && present.length === 0) {
        out.push(issue('required', 'Required element is missing', fhirPath(root, [...path, name])));
        if (out.length >= max) return;
      }
      if (next === null) continue;
      for (const key of present) {
        if (key.startsWith('_')) continue;
        const child = o[key];
        const items = Array.isArray(child) ? child : [child];
        items.forEach((item, i) => {
          const at = Array.isArray(child) ? [...path, key, i] : [...path, key];
          if (next === '*') {
            const t = (item as { resourceType?: unknown })?.resourceType;
            if (typeof t === 'string') visit(item, t, at, root);
          } else if (next === '[x]') {
            visit(item, key.slice(choice!.length), at, root);
          } else visit(item, next, at, root);
        });
      }
    }
  };
  visit(resource, resource.resourceType as string, [], resource.resourceType as string);
  return out;
}

/** `valueQuantity` is a key of `value[x]`; `valueSetReference` would not be one of `value[x]` had it a lower-case tail. */
function isChoiceKey(key: string, choice: string): boolean {
  const rest = key.startsWith('_') ? key.slice(choice.length + 1) : key.slice(choice.length);
  return /^[A-Z]/.test(rest);
}

function fail(i: Issue): ValidationResult {
  return { ok: false, issues: [i] };
}

/** Path of the first element nested deeper than `max`, or undefined. Iterative: depth is the hazard here. */
function firstTooDeep(root: object, max: number): PathSegment[] | undefined {
  const stack: { value: unknown; path: PathSegment[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (path.length + 1 > max) return path;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
    } else {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push({ value: (value as Record<string, unknown>)[k], path: [...path, k] });
      }
    }
  }
  return undefined;
}

interface Located {
  segments: PathSegment[];
  code: IssueCode;
  diagnostics: string;
}

/** The datatype named by a schemaPath such as `#/definitions/date/pattern`, for a helpful diagnostic. */
function datatypeOf(schemaPath: string): string | undefined {
  return /#\/definitions\/([A-Za-z0-9_]+)\/[a-zA-Z]+$/.exec(schemaPath)?.[1];
}

function locate(e: ErrorObject): Located {
  const segments = pointerSegments(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return {
        segments: [...segments, String(params.additionalProperty)],
        code: 'structure',
        diagnostics: 'Unknown element',
      };
    case 'required':
      return {
        segments: [...segments, String(params.missingProperty)],
        code: 'required',
        diagnostics: 'Required element is missing',
      };
    case 'type': {
      const expected = Array.isArray(params.type) ? params.type.join(' or ') : String(params.type);
      return { segments, code: 'structure', diagnostics: `Wrong JSON type: expected ${expected}` };
    }
    case 'pattern': {
      const dt = datatypeOf(e.schemaPath);
      return {
        segments,
        code: 'value',
        diagnostics: dt === undefined ? 'Value has an invalid format' : `Value is not a valid ${dt}`,
      };
    }
    case 'enum':
      return { segments, code: 'code-invalid', diagnostics: 'Code is not one of the allowed values' };
    case 'const':
      return { segments, code: 'value', diagnostics: 'Value is not the one required here' };
    case 'fhirReference':
      return { segments, code: 'value', diagnostics: 'Reference is not in a supported form' };
    case 'resourceType':
      return { segments, code: 'not-supported', diagnostics: 'Unknown resource type' };
    case 'minItems':
      return { segments, code: 'required', diagnostics: 'Array must not be empty' };
    case 'maxItems':
      return { segments, code: 'structure', diagnostics: 'Array has too many items' };
    default:
      return { segments, code: 'invalid', diagnostics: `Element fails the schema (${e.keyword})` };
  }
}

function isPrefix(a: readonly PathSegment[], b: readonly PathSegment[]): boolean {
  if (a.length >= b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Keeps the most specific errors: an error is dropped when another one lies strictly inside its element. */
function toIssues(type: string, errors: readonly ErrorObject[], max: number): Issue[] {
  const located = errors.map(locate);
  const seen = new Set<string>();
  const out: Issue[] = [];
  for (const l of located) {
    if (located.some((o) => isPrefix(l.segments, o.segments))) continue;
    const expression = fhirPath(type, l.segments);
    const key = `${expression}\u0000${l.diagnostics}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ severity: 'error', code: l.code, diagnostics: l.diagnostics, expression: [expression] });
    if (out.length >= max) break;
  }
  return out;
}
