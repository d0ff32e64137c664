/**
 * The index's matching rule, evaluated in memory over a resource's search tokens: what RecordIndex.search
 * does in SQL (an AND of clauses; a clause true when one alternative has all its tests true; a test true when
 * the resource has one of its tokens — or any token of the parameter when it lists none; `not` negates).
 */

import type { FhirResource } from '../src/FhirResource.js';
import type { ParsedSearch } from '../src/parseSearch.js';
import { type SearchToken, searchValuesOf } from '../src/searchValuesOf.js';

const base = (param: string) => param.split(':')[0]!;

export function matchesTokens(search: ParsedSearch, tokens: readonly SearchToken[]): boolean {
  const have = new Set(tokens.map((t) => `${t.param}=${t.value}`));
  const params = new Set(tokens.map((t) => base(t.param)));
  return search.clauses.every((c) => {
    const hit = c.anyOf.some((alt) =>
      alt.every((t) =>
        t.tokens === undefined
          ? params.has(t.param)
          : t.tokens.some((x) => have.has(`${x.param}=${x.value}`)),
      ),
    );
    return c.not ? !hit : hit;
  });
}

export function matchesResource(search: ParsedSearch, resource: FhirResource): boolean {
  return matchesTokens(search, searchValuesOf(resource));
}
