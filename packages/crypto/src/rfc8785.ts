/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value, so that records can be hashed,
 * signed and content-addressed independently of how they were serialised.
 *
 * Limits, by design:
 * - Only the I-JSON subset (RFC 7493) is accepted: NaN/±Infinity, strings or property names with lone
 *   surrogates, and anything that is not null, a boolean, a finite number, a string, an array or a plain object
 *   throw `MdlError(BadInput)`. `undefined` is rejected everywhere, including as an object member or array
 *   element, where JSON.stringify would silently drop it or write `null`: a canonical form must not depend on
 *   such a guess. Sparse arrays and objects with symbol keys are rejected for the same reason.
 * - Numbers are IEEE-754 doubles. JSON text with numbers beyond double precision (large integers, long
 *   decimals) is rounded by JSON.parse before canonicalisation, exactly as RFC 8785 §3.2.2.3 prescribes; send
 *   such values as strings if every digit matters. A number that overflows to ±Infinity is rejected.
 * - Nesting deeper than MAX_DEPTH is rejected rather than risking a stack overflow on hostile input.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { utf8ToBytes } from './bytes.js';

/** Deepest nesting accepted; FHIR resources stay far below it. */
export const JCS_MAX_DEPTH = 1000;

// In a `u` regex a surrogate class only matches code units that are not part of a valid pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function bad(message: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message);
}

function serializeString(s: string): string {
  if (LONE_SURROGATE.test(s)) throw bad('JSON string contains a lone surrogate (not I-JSON)');
  // ECMAScript's JSON.stringify escaping (ES2019 well-formed) is exactly RFC 8785 §3.2.2.2.
  return JSON.stringify(s);
}

function serialize(value: unknown, depth: number, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw bad('JSON number must be finite (NaN and Infinity are not I-JSON)');
      // JSON.stringify of a finite number is ECMAScript Number::toString (RFC 8785 §3.2.2.3), with -0 → "0".
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw bad(`cannot canonicalise a value of type ${typeof value}`);
  }
  if (value === null) return 'null';
  if (depth >= JCS_MAX_DEPTH) throw bad('JSON value is nested too deeply');
  if (ancestors.has(value)) throw bad('cannot canonicalise a cyclic structure');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const parts: string[] = [];
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) throw bad('cannot canonicalise a sparse array');
        const element: unknown = value[i];
        if (element === undefined) throw bad('cannot canonicalise undefined in an array');
        parts.push(serialize(element, depth + 1, ancestors));
      }
      return `[${parts.join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw bad('only plain objects can be canonicalised (no Date, Map, class instances, boxed primitives)');
    }
    if (Object.getOwnPropertySymbols(value).length > 0)
      throw bad('cannot canonicalise symbol-keyed properties');
    const record = value as Record<string, unknown>;
    // Array.prototype.sort without a comparator orders strings by UTF-16 code units, as RFC 8785 §3.2.3 requires.
    const keys = Object.keys(record).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const member = record[key];
      if (member === undefined) throw bad('cannot canonicalise an undefined object member');
      parts.push(`${serializeString(key)}:${serialize(member, depth + 1, ancestors)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}

/** The RFC 8785 canonical JSON text of `value`; throws MdlError(BadInput) for anything outside I-JSON. */
export function canonicalize(value: unknown): string {
  return serialize(value, 0, new Set());
}

/** The RFC 8785 canonical form as UTF-8 bytes, ready to hash or sign. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8ToBytes(canonicalize(value));
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Throws if any object in `text` (already known to be valid JSON) repeats a member name. Names are compared
 * after unescaping, so `"a"` and `"\u0061"` collide. Runs in one pass with one key set per open object.
 */
function rejectDuplicateKeys(text: string): void {
  // One entry per open container: a key set for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (WHITESPACE.has(c)) continue;
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack.at(-1) != null;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (expectKey) {
        const keys = stack.at(-1);
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys?.has(key)) throw bad('JSON object has a duplicate member name');
        keys?.add(key);
        expectKey = false;
      }
      i = j;
    }
  }
}

/**
 * Parses JSON text strictly (syntax errors and duplicate member names are rejected, where JSON.parse would keep
 * the last duplicate) and returns its RFC 8785 canonical form.
 */
export function canonicalizeJson(text: string): string {
  if (typeof text !== 'string') throw bad('JSON text must be a string');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad('input is not valid JSON');
  }
  rejectDuplicateKeys(text);
  return canonicalize(value);
}
