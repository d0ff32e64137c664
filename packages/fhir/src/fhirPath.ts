/** Formats element paths as FHIRPath-style expressions (`Patient.name[0].given[1]`) for Issue.expression. */

export type PathSegment = string | number;

export function fhirPath(root: string, segments: readonly PathSegment[]): string {
  let out = root;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** Converts an RFC 6901 JSON pointer (`/name/0/given`) to path segments; all-digit tokens become indexes. */
export function pointerSegments(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => {
      const token = t.replace(/~1/g, '/').replace(/~0/g, '~');
      return /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : token;
    });
}
