/**
 * Parses a request body as strict JSON: size checked before any decoding, UTF-8 decoded fatally (no silent
 * U+FFFD), and duplicate member names rejected — JSON.parse would keep the last one silently, so two readers
 * of the same bytes (e.g. a signature check and the store) could see different resources.
 */
import { fhirPath, type PathSegment } from './fhirPath.js';
import { type Issue, issue } from './Issue.js';

export type JsonBodyResult = { ok: true; value: unknown } | { ok: false; issues: Issue[] };

const encoder = new TextEncoder();

export function parseJsonBody(body: string | Uint8Array, maxBytes: number): JsonBodyResult {
  // A JS string's UTF-8 length is at most 3 × its length, so the exact count is needed only near the limit.
  const size =
    typeof body === 'string'
      ? body.length * 3 <= maxBytes
        ? body.length
        : encoder.encode(body).byteLength
      : body.byteLength;
  if (size > maxBytes) return fail(issue('too-long', 'Request body exceeds the size limit'));

  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      return fail(issue('structure', 'Request body is not valid UTF-8'));
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse messages quote the surrounding input, so they are not passed on.
    return fail(issue('structure', 'Request body is not valid JSON'));
  }
  const duplicate = findDuplicateMember(text);
  if (duplicate !== undefined) {
    const root =
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { resourceType?: unknown }).resourceType === 'string'
        ? (value as { resourceType: string }).resourceType
        : '';
    return fail(issue('structure', 'Duplicate member name in a JSON object', fhirPath(root, duplicate)));
  }
  return { ok: true, value };
}

function fail(i: Issue): JsonBodyResult {
  return { ok: false, issues: [i] };
}

interface Frame {
  /** Member names seen so far; undefined for arrays. */
  keys: Set<string> | undefined;
  expectKey: boolean;
  /** Current member name or array index. */
  at: PathSegment;
}

/**
 * Scans text already known to be valid JSON and returns the path of the first duplicated member name (the
 * duplicate itself as last segment), or undefined. Names are compared after unescaping.
 */
export function findDuplicateMember(text: string): PathSegment[] | undefined {
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys !== undefined && top.expectKey) {
        const raw = text.slice(start + 1, i);
        const name = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : raw;
        if (top.keys.has(name)) return [...stack.slice(0, -1).map((f) => f.at), name];
        top.keys.add(name);
        top.at = name;
        top.expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), expectKey: true, at: '' });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: undefined, expectKey: false, at: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        if (top.keys !== undefined) top.expectKey = true;
        else top.at = (top.at as number) + 1;
      }
    }
  }
  return undefined;
}
