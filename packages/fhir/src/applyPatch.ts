/**
 * The two PATCH formats of FHIR R4 (http.html#patch): JSON Patch (RFC 6902, applied by `fast-json-patch`) and
 * FHIRPath Patch (fhirpatch.html, a Parameters resource). Both return a new resource and leave the input
 * untouched; the caller validates the result as it would a PUT body. A patch that is malformed is a 400
 * (BadInput); a well-formed patch that cannot be applied to this resource (a path that does not exist, a failed
 * `test`) is a 422 (Unprocessable), as R4 says. Diagnostics name the operation, never a value.
 *
 * FHIRPath Patch is implemented for a bounded subset of FHIRPath, the one the spec's own examples use:
 * - a path is `Type` followed by `.element` steps, each optionally indexed `[n]`, optionally followed by one
 *   filter `.where(element = 'string')` after any step (equality of a direct primitive child with a string
 *   literal); no other functions or operators;
 * - operation types add, insert, delete, replace, move; a value is a `value[x]` primitive or complex datatype
 *   (not a nested `part` tree);
 * - `add` appends to a repeating element (from the R4 JSON schema) and sets a single one only if it is absent;
 *   choice elements (`value[x]`) are named without the type suffix, the value's type picks the JSON key;
 * - `delete` of a path that selects nothing changes nothing, as the spec says; a path selecting several
 *   elements is refused for delete and replace.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import fastJsonPatch from 'fast-json-patch';
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

interface Step {
  name: string;
  index?: number;
  where?: { element: string; value: string };
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const STEP = /^([A-Za-z][A-Za-z0-9_]{0,63})(?:\[(0|[1-9][0-9]{0,5})\])?$/;
const WHERE = /^where\(\s*([A-Za-z][A-Za-z0-9_]{0,63})\s*=\s*'((?:[^'\\]|\\.){0,1000})'\s*\)$/;

/** Parses `Type.a[0].b.where(system = 'x').c` into its root type and steps. */
export function parseFhirPatchPath(path: string): { type: string; steps: Step[] } | undefined {
  if (path.length > 2000) return undefined;
  // Split on dots outside parentheses and quotes.
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '.' && depth === 0) {
      parts.push(path.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted || depth !== 0) return undefined;
  parts.push(path.slice(start));
  const [type, ...rest] = parts;
  if (type === undefined || !/^[A-Z][A-Za-z]{0,63}$/.test(type)) return undefined;
  const steps: Step[] = [];
  for (const part of rest) {
    const where = WHERE.exec(part);
    if (where) {
      const last = steps[steps.length - 1];
      if (!last || last.where || last.index !== undefined) return undefined;
      last.where = { element: where[1]!, value: where[2]!.replace(/\\(.)/g, '$1') };
      continue;
    }
    const m = STEP.exec(part);
    if (!m) return undefined;
    steps.push({ name: m[1]!, ...(m[2] === undefined ? {} : { index: Number(m[2]) }) });
  }
  return { type, steps };
}

type Json = Record<string, unknown>;

/** A selected element: the object or array holding it and its key there. */
interface Slot {
  holder: Json | unknown[];
  key: string | number;
}

/** The elements a path's steps select below `root` (each as a slot; no steps: the resource itself). */
function select(root: Json, steps: Step[]): Slot[] {
  let current: { holder: Json | unknown[]; key: string | number }[] = [{ holder: { root }, key: 'root' }];
  for (const step of steps) {
    const next: Slot[] = [];
    for (const slot of current) {
      const value = (slot.holder as Json)[slot.key as string];
      const objects = Array.isArray(value) ? value : [value];
      for (const o of objects) {
        if (typeof o !== 'object' || o === null || Array.isArray(o)) continue;
        const child = (o as Json)[step.name];
        if (child === undefined) continue;
        if (Array.isArray(child)) {
          for (let i = 0; i < child.length; i++) next.push({ holder: child, key: i });
        } else next.push({ holder: o as Json, key: step.name });
      }
    }
    let kept = next;
    if (step.where) {
      const { element, value } = step.where;
      kept = kept.filter((s) => {
        const v = (s.holder as Json)[s.key as string] as Json | undefined;
        return typeof v === 'object' && v !== null && v[element] === value;
      });
    }
    if (step.index !== undefined) kept = kept[step.index] === undefined ? [] : [kept[step.index]!];
    current = kept;
  }
  return current;
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
function definitionAt(type: string, steps: Step[]): string | undefined {
  let def: string | undefined = type;
  for (const step of steps) {
    const prop = def === undefined ? undefined : definitionsOf()[def]?.properties?.[step.name];
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
  const parsed = parseFhirPatchPath(op.path);
  if (!parsed) throw bad('The path is outside the supported FHIRPath subset', at);
  if (parsed.type !== root.resourceType)
    throw unprocessable('The path does not start at the resource type', at);
  const { steps } = parsed;
  const slots = select(root, steps);
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
      const def = definitionAt(parsed.type, steps);
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
      const list = listAt(root, steps, at);
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
      const list = listAt(root, steps, at);
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

/** The repeating element a path names (the whole list: the last step must carry no index or filter). */
function listAt(root: Json, steps: Step[], at: string): unknown[] {
  const last = steps[steps.length - 1];
  if (!last || last.index !== undefined || last.where) throw unprocessable('The path must name a list', at);
  const parents = select(root, steps.slice(0, -1));
  if (parents.length !== 1) throw unprocessable('The path must select exactly one list', at);
  const parent = (parents[0]!.holder as Json)[parents[0]!.key as string] as Json;
  const list = typeof parent === 'object' && parent !== null ? parent[last.name] : undefined;
  if (!Array.isArray(list)) throw unprocessable('The path does not name a list', at);
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
