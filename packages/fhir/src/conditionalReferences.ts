/**
 * Conditional references (FHIR R4 http.html#trules, "Conditional References"): a `Reference.reference` of the
 * form `Type?search` inside a transaction, which the server replaces by the one resource the search matches.
 * This module only finds and parses them; the search itself runs in the node, under the caller's access.
 * Limits: the query must be a plain search (no `_include`, paging, sorting or other result parameters, which
 * make no sense for picking one resource), at most 2,000 characters.
 */
import type { PathSegment } from './fhirPath.js';
import { isResourceType } from './resourceTypes.js';

export interface ConditionalReference {
  resourceType: string;
  /** The search, without `?`. */
  query: string;
}

const FORM = /^([A-Za-z]+)\?([^\s#]+)$/;
const MAX_LENGTH = 2000;
/** Result parameters that do not select resources: refused in a condition. */
const RESULT_PARAMETERS =
  /^_(include|revinclude|count|offset|sort|summary|elements|total|contained|format|pretty)(:|$)/;

/** The parts of a conditional reference, or undefined if `reference` is not one (or not an acceptable one). */
export function parseConditionalReference(reference: string): ConditionalReference | undefined {
  if (reference.length > MAX_LENGTH) return undefined;
  const m = FORM.exec(reference);
  if (!m || !isResourceType(m[1])) return undefined;
  const query = m[2]!;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return undefined;
  }
  const names = [...params.keys()];
  if (names.length === 0 || names.some((n) => n === '' || RESULT_PARAMETERS.test(n))) return undefined;
  return { resourceType: m[1]!, query };
}

/** Whether a reference string has the conditional form `Type?…` at all (valid or not). */
export function looksConditional(reference: string): boolean {
  return /^[A-Za-z]+\?/.test(reference);
}

/** Every `reference` string of the conditional form in `value`, with its path (`['subject','reference']`). */
export function conditionalReferencesOf(value: unknown): { path: PathSegment[]; reference: string }[] {
  const out: { path: PathSegment[]; reference: string }[] = [];
  const walk = (v: unknown, path: PathSegment[]) => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], [...path, i]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        if (k === 'reference' && typeof child === 'string' && looksConditional(child)) {
          out.push({ path: [...path, k], reference: child });
        } else {
          walk(child, [...path, k]);
        }
      }
    }
  };
  walk(value, []);
  return out;
}
