/**
 * FHIR search over blind indexes. The index database stores, per resource, keyed tokens
 * HMAC(indexKey, param, value) — never the values. A search turns each requested value into the same token and
 * asks the index for resources having, for every AND-clause, at least one of its tokens.
 *
 * Date granules (`date:year` / `date:month` / `date:day`) are stored under their base parameter (`date`) with the
 * granule folded into the keyed hash, so one OR-clause may mix granules of different precision.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import { blindIndexToken } from '@medledger/crypto';
import { DEFAULT_COUNT, MAX_COUNT, parseSearch, type SearchToken, searchValuesOf } from '@medledger/fhir';
import type { AccessFilter, IndexedVersion, Queryable, RecordIndex } from '@medledger/storage';

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
  ): Promise<SearchPage> {
    const parsed = parseSearch(type, params);
    if (!parsed.ok) {
      throw new MdlError(MdlErrorCode.BadInput, parsed.issues[0]?.diagnostics ?? 'invalid search', {
        issues: parsed.issues,
      });
    }
    const s = parsed.search;
    // An empty OR-clause (a date predicate wholly outside the searchable window) matches nothing.
    if (s.clauses.some((or) => or.length === 0))
      return { rows: [], hasMore: false, count: s.count, offset: s.offset };
    const filters = s.clauses.map((or) => {
      const params = new Set(or.map((t) => baseParam(t.param)));
      if (params.size !== 1) throw new Error('an OR-clause spans several search parameters');
      return { param: [...params][0]!, tokens: or.map((t) => this.#token(t)) };
    });
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
