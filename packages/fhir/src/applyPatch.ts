/**
 * The two PATCH formats of FHIR R4 (http.html#patch): JSON Patch (RFC 6902, applied by `fast-json-patch`) and
 * FHIRPath Patch (fhirpatch.html, a Parameters resource). Both return a new resource and leave the input
 * untouched; the caller validates the result as it would a PUT body. A patch that is malformed is a 400
 * (BadInput); a well-formed patch that cannot be applied to this resource (a path that does not exist, a failed
 * `test`) is a 422 (Unprocessable), as R4 says. Diagnostics name the operation, never a value.
 *
 * FHIRPath Patch paths are evaluated by HL7's FHIRPath implementation (`fhirpath`, R4 model) on the resource,
 * synchronously, without terminology or reference resolution, `trace()` silenced (it would log data):
 * - a path may be any FHIRPath expression (2,000 characters at most) that selects elements of the resource
 *   (`Patient.identifier.where(system = 'x').value`, `Patient.name.first().given[1]`); a syntax error → 400;
 *   a path that selects something that is not an element of the resource (a literal, a computed value) → 422;
 * - operation types add, insert, delete, replace, move; a value is a `value[x]` primitive or complex datatype
 *   (not a nested `part` tree);
 * - `add` appends to a repeating element (from the R4 JSON schema) and sets a single one only if it is absent;
 *   choice elements (`value[x]`) are named without the type suffix, the value's type picks the JSON key; `add`
 *   does not reach into contained resources;
 * - `delete` of a path that selects nothing changes nothing, as the spec says; a path selecting several
 *   elements is refused for delete and replace; `insert` and `move` need a path selecting the items of one
 *   existing list.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import fastJsonPatch from 'fast-json-patch';
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { FhirResource } from './FhirResource.js';
import { loadFhirSchema } from './fhirSchema.js';

const { applyPatch, deepClone, JsonPatchError } = fastJsonPatch;

/** At most this many operations per patch (each is cheap; the bound keeps a request's work bounded). */
export const MAX_PATCH_OPERATIONS = 1000;

const bad = (message: string, expression?: string) =>
  new MdlError(MdlErrorCode.BadInput, message, {
    issues: [
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: message,
        expression: expression ? [expression] : [],
      },
    ],
  });
const unprocessable = (message: string, expression?: string) =>
  new MdlError(MdlErrorCode.Unprocessable, message, {
    issues: [
      {
        severity: 'error',
        code: 'processing',
        diagnostics: message,
        expression: expression ? [expression] : [],
      },
    ],
  });

// ---------------------------------------------------------------------------------------------------------
// JSON Patch

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Applies an RFC 6902 patch document to a resource. */
export function applyJsonPatch(resource: FhirResource, patch: unknown): FhirResource {
  if (!Array.isArray(patch)) throw bad('A JSON Patch document is an array of operations');
  if (patch.length > MAX_PATCH_OPERATIONS) throw bad('The patch has too many operations');
  patch.forEach((op, i) => {
    const o = op as Record<string, unknown> | null;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad(`Operation ${i} is not an object`);
    if (typeof o.op !== 'string' || !OPS.has(o.op)) throw bad(`Operation ${i} has no valid op`);
    if (typeof o.path !== 'string' || !(o.path === '' || o.path.startsWith('/'))) {
      throw bad(`Operation ${i} has no valid path`);
    }
    if ((o.op === 'move' || o.op === 'copy') && (typeof o.from !== 'string' || !o.from.startsWith('/'))) {
      throw bad(`Operation ${i} has no valid from`);
    }
    if ((o.op === 'add' || o.op === 'replace' || o.op === 'test') && !('value' in o)) {
      throw bad(`Operation ${i} has no value`);
    }
  });
  try {
    const result = applyPatch(deepClone(resource), patch, true, false).newDocument as unknown;
    if (typeof result !== 'object' || result === null || Array.isArray(result)) {
      throw unprocessable('The patch does not leave a resource');
    }
    return result as FhirResource;
  } catch (error) {
    if (error instanceof MdlError) throw error;
    if (error instanceof JsonPatchError) {
      const at = typeof error.index === 'number' ? `Operation ${error.index}` : 'An operation';
      if (error.name === 'TEST_OPERATION_FAILED') throw unprocessable(`${at}: test failed`);
      if (error.name === 'OPERATION_PATH_UNRESOLVABLE' || error.name === 'OPERATION_FROM_UNRESOLVABLE') {
        throw unprocessable(`${at}: path does not exist in the resource`);
      }
      if (
        error.name === 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX' ||
        error.name === 'OPERATION_VALUE_OUT_OF_BOUNDS'
      ) {
        throw unprocessable(`${at}: array index out of range`);
      }
      throw bad(`${at} is not a valid JSON Patch operation`);
    }
    // fast-json-patch refuses __proto__ / constructor paths with a TypeError.
    throw bad('The patch modifies a forbidden path');
  }
}

// ---------------------------------------------------------------------------------------------------------
// FHIRPath Patch

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_PATH = 2000;

type Json = Record<string, unknown>;

/** A selected element: the object or array holding it and its key there (`{ root }`/'root' for the resource). */
interface Slot {
  holder: Json | unknown[];
  key: string | number;
  /** Element names from the resource down to it (for the schema). */
  names: string[];
}

/** What fhirpath returns for an element of the input with `resolveInternalTypes: false`. */
interface ResourceNode {
  data: unknown;
  parentResNode: ResourceNode | null;
  propName?: string;
  index?: number | null;
}

const isNode = (v: unknown): v is ResourceNode =>
  typeof v === 'object' && v !== null && 'parentResNode' in v && 'data' in v;

/** The JSON key of an element in its parent: its name, or for a choice element the typed key holding it. */
function keyIn(
  parent: Json,
  name: string,
  data: unknown,
  index: number | null | undefined,
): string | undefined {
  if (name in parent) return name;
  for (const [k, v] of Object.entries(parent)) {
    if (!k.startsWith(name) || !/^[A-Z]/.test(k.slice(name.length))) continue;
    const item = index === null || index === undefined ? v : Array.isArray(v) ? v[index] : undefined;
    if (item === data) return k;
  }
  return undefined;
}

/**
 * Functions a path may call: those that filter, pick or test, whose cost is bounded by the resource's size.
 * Functions that can multiply a collection at each call (`select`, `repeat`, `descendants`, `combine`,
 * `aggregate`…), run regular expressions (`matches`, `replaceMatches`) or reach outside (`resolve`,
 * `memberOf`, `trace`) are refused, so that a short path cannot cost exponential time.
 */
const PATH_FUNCTIONS = new Set([
  'where',
  'exists',
  'all',
  'empty',
  'not',
  'first',
  'last',
  'tail',
  'skip',
  'take',
  'single',
  'ofType',
  'as',
  'is',
  'startsWith',
  'endsWith',
  'contains',
  'lower',
  'upper',
  'length',
  'count',
  'hasValue',
  'extension',
  'distinct',
  'isDistinct',
  'allTrue',
  'anyTrue',
  'allFalse',
  'anyFalse',
]);

function checkPath(path: string, at: string): void {
  if (path.length > MAX_PATH) throw bad('The path is too long', at);
  const code = path.replace(/'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, "''");
  if (code.includes('%')) throw bad('The path may not use environment variables', at);
  for (const m of code.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
    if (!PATH_FUNCTIONS.has(m[1]!)) throw bad('The path calls a function patches may not use', at);
  }
}

/** The elements a FHIRPath expression selects in `root`, as slots. */
function select(root: Json, path: string, at: string): Slot[] {
  checkPath(path, at);
  let nodes: unknown[];
  try {
    nodes = fhirpath.evaluate(root, path, {}, r4Model, {
      resolveInternalTypes: false,
      traceFn: () => {},
    }) as unknown[];
  } catch {
    throw bad('The path is not a valid FHIRPath expression', at);
  }
  return nodes.map((n) => {
    if (!isNode(n)) throw unprocessable('The path does not select elements of the resource', at);
    const parent = n.parentResNode;
    if (!parent) {
      if (n.data !== root) throw unprocessable('The path does not select elements of the resource', at);
      return { holder: { root }, key: 'root', names: [] };
    }
    const holder = parent.data as Json;
    const key =
      typeof holder === 'object' && holder !== null
        ? keyIn(holder, n.propName ?? '', n.data, n.index)
        : undefined;
    if (key === undefined) throw unprocessable('The path does not select elements of the resource', at);
    const names: string[] = [];
    for (let x: ResourceNode | null = n; x?.parentResNode; x = x.parentResNode)
      names.unshift(x.propName ?? '');
    names[names.length - 1] = key;
    if (n.index !== null && n.index !== undefined) {
      const list = holder[key];
      if (!Array.isArray(list) || list[n.index] !== n.data) {
        throw unprocessable('The path does not select elements of the resource', at);
      }
      return { holder: list, key: n.index, names };
    }
    return { holder, key, names };
  });
}

// The R4 JSON schema says which elements repeat and which datatype each has.
type SchemaDef = { properties?: Record<string, { type?: string; $ref?: string; items?: { $ref?: string } }> };
let definitions: Record<string, SchemaDef> | undefined;
function definitionsOf(): Record<string, SchemaDef> {
  definitions ??= loadFhirSchema().definitions as Record<string, SchemaDef>;
  return definitions;
}
const refName = (ref: string | undefined) => ref?.replace('#/definitions/', '');

/** The schema definition name of the element a path selects (undefined when the schema does not say). */
function definitionAt(type: string, names: readonly string[]): string | undefined {
  let def: string | undefined = type;
  for (const name of names) {
    const prop = def === undefined ? undefined : definitionsOf()[def]?.properties?.[name];
    if (!prop) return undefined;
    def = refName(prop.items?.$ref ?? prop.$ref);
  }
  return def;
}

interface PatchOperation {
  type: string;
  path: string;
  name?: string;
  value?: { key: string; value: unknown };
  index?: number;
  source?: number;
  destination?: number;
}

/** The parts of one `operation` parameter. */
function operationOf(param: unknown, at: string): PatchOperation {
  const p = param as Json;
  if (typeof p !== 'object' || p === null || p.name !== 'operation' || !Array.isArray(p.part)) {
    throw bad('Each parameter must be an operation with parts', at);
  }
  const op: Partial<PatchOperation> = {};
  for (const raw of p.part as Json[]) {
    const name = raw?.name;
    const valueKey = Object.keys(raw ?? {}).find((k) => k.startsWith('value'));
    const value = valueKey === undefined ? undefined : raw[valueKey];
    switch (name) {
      case 'type':
      case 'path':
      case 'name':
        if (typeof value !== 'string') throw bad(`Operation part ${name} must be a string`, at);
        op[name] = value;
        break;
      case 'index':
      case 'source':
      case 'destination':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          throw bad(`Operation part ${name} must be a non-negative integer`, at);
        }
        op[name] = value;
        break;
      case 'value':
        if (valueKey === undefined)
          throw bad('Operation value must be a value[x] (nested parts are not supported)', at);
        op.value = { key: valueKey, value };
        break;
      default:
        throw bad('Unknown operation part', at);
    }
  }
  if (op.type === undefined || op.path === undefined) throw bad('An operation needs a type and a path', at);
  return op as PatchOperation;
}

function need<T>(v: T | undefined, what: string, at: string): T {
  if (v === undefined) throw bad(`This operation needs ${what}`, at);
  return v;
}

/** Applies a FHIRPath Patch (a Parameters resource) to a resource, within the subset described above. */
export function applyFhirPathPatch(resource: FhirResource, parameters: unknown): FhirResource {
  const params = parameters as Json;
  if (typeof params !== 'object' || params === null || params.resourceType !== 'Parameters') {
    throw bad('A FHIRPath Patch is a Parameters resource');
  }
  const list = Array.isArray(params.parameter) ? params.parameter : [];
  if (list.length === 0) throw bad('The patch has no operations', 'Parameters.parameter');
  if (list.length > MAX_PATCH_OPERATIONS)
    throw bad('The patch has too many operations', 'Parameters.parameter');
  const ops = list.map((p, i) => ({
    op: operationOf(p, `Parameters.parameter[${i}]`),
    at: `Parameters.parameter[${i}]`,
  }));
  const root = deepClone(resource) as Json;
  for (const { op, at } of ops) applyOperation(root, op, at);
  return root as FhirResource;
}

function applyOperation(root: Json, op: PatchOperation, at: string): void {
  const slots = select(root, op.path, at);
  const type = root.resourceType as string;
  switch (op.type) {
    case 'add': {
      const name = need(op.name, 'a name', at);
      const value = need(op.value, 'a value', at);
      if (!NAME.test(name)) throw bad('The name is not an element name', at);
      if (slots.length !== 1) throw unprocessable('The path must select exactly one element', at);
      const target = (slots[0]!.holder as Json)[slots[0]!.key as string] as Json;
      if (typeof target !== 'object' || target === null || Array.isArray(target)) {
        throw unprocessable('The path does not select an element that can hold children', at);
      }
      const def = definitionAt(type, slots[0]!.names);
      const props = def === undefined ? undefined : definitionsOf()[def]?.properties;
      // A choice element is named without its type; the value's type ("valueQuantity") gives the JSON key.
      const key = props?.[name] ? name : `${name}${value.key.slice('value'.length)}`;
      const prop = props?.[key];
      if (!prop) throw unprocessable('The element cannot be added here', at);
      if (prop.type === 'array') {
        const existing = target[key];
        target[key] = Array.isArray(existing) ? [...existing, value.value] : [value.value];
      } else {
        if (target[key] !== undefined) throw unprocessable('The element already has a value', at);
        target[key] = value.value;
      }
      return;
    }
    case 'insert': {
      const value = need(op.value, 'a value', at);
      const index = need(op.index, 'an index', at);
      const list = listOf(slots, at);
      if (index > list.length) throw unprocessable('The index is out of range', at);
      list.splice(index, 0, value.value);
      return;
    }
    case 'delete': {
      if (slots.length === 0) return;
      if (slots.length > 1) throw unprocessable('The path selects several elements', at);
      const { holder, key } = slots[0]!;
      if (Array.isArray(holder)) {
        holder.splice(key as number, 1);
      } else {
        if (key === 'root') throw unprocessable('The resource itself cannot be deleted', at);
        delete holder[key as string];
      }
      removeEmptyArrays(root);
      return;
    }
    case 'replace': {
      const value = need(op.value, 'a value', at);
      if (slots.length !== 1) throw unprocessable('The path must select exactly one element', at);
      const { holder, key } = slots[0]!;
      if (key === 'root') throw unprocessable('The resource itself cannot be replaced', at);
      (holder as Json)[key as string] = value.value;
      return;
    }
    case 'move': {
      const source = need(op.source, 'a source', at);
      const destination = need(op.destination, 'a destination', at);
      const list = listOf(slots, at);
      if (source >= list.length || destination >= list.length)
        throw unprocessable('The index is out of range', at);
      const [moved] = list.splice(source, 1);
      list.splice(destination, 0, moved);
      return;
    }
    default:
      throw bad('The operation type must be add, insert, delete, replace or move', at);
  }
}

/** The list whose items a path selects (all of them in the same list). */
function listOf(slots: Slot[], at: string): unknown[] {
  const list = slots[0]?.holder;
  if (!Array.isArray(list) || slots.some((s) => s.holder !== list)) {
    throw unprocessable('The path must select the items of one list', at);
  }
  return list;
}

/** FHIR JSON has no empty arrays: a list emptied by a delete goes away. */
function removeEmptyArrays(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) removeEmptyArrays(v);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (Array.isArray(v) && v.length === 0) delete (value as Json)[k];
      else removeEmptyArrays(v);
    }
  }
}
