/**
 * FHIR search over blind indexes. The index database stores, per resource, keyed tokens
 * HMAC(indexKey, param, value) — never the values. A search turns each requested value into the same token and
 * asks the index for resources having, for every AND-clause, at least one of its tokens.
 *
 * Derived tokens (`date:s:year`, `name:p`, `name:exact`, `code:text` …) are stored under their base parameter
 * (`date`, `name`, `code`) with the full token name folded into the keyed hash: the param column says which
 * parameter a token belongs to, never which form, and one OR-clause may mix forms.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { blindIndexToken } from '@medledger/crypto';
import {
  DEFAULT_COUNT,
  MAX_COUNT,
  parseSearch,
  type SearchOptions,
  type SearchToken,
  searchValuesOf,
} from '@medledger/fhir';
import type { AccessFilter, IndexedVersion, Queryable, RecordIndex, SearchFilter } from '@medledger/storage';

const baseParam = (param: string) => param.split(':')[0]!;

export interface SearchPage {
  rows: IndexedVersion[];
  hasMore: boolean;
  count: number;
  offset: number;
}

export class Searcher {
  readonly #indexKey: Uint8Array;

  constructor(indexKey: Uint8Array) {
    this.#indexKey = indexKey;
  }

  #token(t: SearchToken): string {
    return blindIndexToken(this.#indexKey, t.param, t.value);
  }

  /** The index tokens of one resource. */
  tokensOf(resource: Parameters<typeof searchValuesOf>[0]): { param: string; token: string }[] {
    const seen = new Set<string>();
    const out: { param: string; token: string }[] = [];
    for (const t of searchValuesOf(resource)) {
      const token = this.#token(t);
      if (seen.has(token)) continue;
      seen.add(token);
      out.push({ param: baseParam(t.param), token });
    }
    return out;
  }

  /** `_count` and `_offset` for history and $everything (search parses its own). */
  paging(params: URLSearchParams): { count: number; offset: number } {
    const count = params.get('_count') ?? String(DEFAULT_COUNT);
    const offset = params.get('_offset') ?? '0';
    if (!/^\d{1,4}$/.test(count) || Number(count) < 1 || Number(count) > MAX_COUNT) {
      throw new MdlError(MdlErrorCode.BadInput, `_count must be between 1 and ${MAX_COUNT}`);
    }
    if (!/^\d{1,9}$/.test(offset))
      throw new MdlError(MdlErrorCode.BadInput, '_offset must be a non-negative integer');
    return { count: Number(count), offset: Number(offset) };
  }

  async run(
    q: Queryable,
    index: RecordIndex,
    type: string,
    params: URLSearchParams,
    access?: AccessFilter,
    options: SearchOptions = {},
  ): Promise<SearchPage> {
    const parsed = parseSearch(type, params, options);
    if (!parsed.ok) {
      throw new MdlError(MdlErrorCode.BadInput, parsed.issues[0]?.diagnostics ?? 'invalid search', {
        issues: parsed.issues,
      });
    }
    const s = parsed.search;
    // Token tests with no tokens (a date predicate wholly outside the searchable window) are false; the
    // index decides what that makes of each clause.
    const filters: SearchFilter[] = s.clauses.map((c) => ({
      anyOf: c.anyOf.map((alt) =>
        alt.map((t) => {
          if (t.tokens === undefined) return { param: t.param };
          if (t.tokens.some((x) => baseParam(x.param) !== t.param))
            throw new Error('a token test spans several search parameters');
          return { param: t.param, tokens: t.tokens.map((x) => this.#token(x)) };
        }),
      ),
      ...(c.not ? { not: true } : {}),
    }));
    // FHIR _lastUpdated predicates over the instant range [start, end) the value denotes.
    const lastUpdated = s.lastUpdated.flatMap((p) => {
      const start = new Date(p.start);
      const end = new Date(p.end);
      const bounds = {
        eq: [
          { op: 'ge', at: start },
          { op: 'lt', at: end },
        ],
        gt: [{ op: 'ge', at: end }],
        ge: [{ op: 'ge', at: start }],
        lt: [{ op: 'lt', at: start }],
        le: [{ op: 'lt', at: end }],
      } as const;
      return bounds[p.prefix];
    });
    const page = await index.search(q, {
      type,
      ...(s.ids ? { ids: s.ids } : {}),
      filters,
      lastUpdated,
      sort: s.sort?.order === 'asc' ? 'lastUpdated' : '-lastUpdated',
      count: s.count,
      offset: s.offset,
      ...(access ? { access } : {}),
    });
    return { rows: page.rows, hasMore: page.hasMore, count: s.count, offset: s.offset };
  }
}
