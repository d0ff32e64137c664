/**
 * FHIR search as clients send it, composed from the caller's own type searches (`Records.search`,
 * `Records.searchIds`, `Records.count`) and reads (`Records.read`): `_include` / `_revinclude` (with one level
 * of `:iterate`), `_summary` / `_elements`, chained parameters, one level of `_has`, `_sort` on date and string
 * parameters, system-level search over `_type`, and the Patient compartment. Every step runs under the
 * caller's access, so nothing the caller may not see can be matched, counted, included, or serve as a link
 * of a chain or `_has`: a hidden resource behaves exactly as a missing one.
 *
 * The index is blind (keyed hashes), so what it cannot do runs here, bounded by the caps below; a search
 * that would exceed one is refused with a 400 asking to narrow it, never answered partially.
 */
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  type ChainSpec,
  type CompositionResult,
  composeSearch,
  DEFAULT_COUNT,
  type FhirResource,
  type HasSpec,
  type IncludeSpec,
  includedReferences,
  isReferenceParam,
  isResourceType,
  MAX_COUNT,
  PATIENT_COMPARTMENT,
  PRESENTATION_PARAMETERS,
  parseSearch,
  referenceParamsOf,
  referenceTargets,
  type SearchComposition,
  type Shaping,
  searchParametersOf,
  shapeResource,
  sortResources,
} from '@medledger/fhir';
import type { Records } from './RecordService.js';

/** Resources a chained parameter (per referenced type) or a `_has` may match before the search is refused. */
export const MAX_CHAIN_MATCHES = 1000;
/** Resources `_include` and `_revinclude` may add to one page, together, before the search is refused. */
export const MAX_INCLUDES = 1000;
/** Matches an in-memory `_sort` may order before the search is refused. */
export const MAX_SORT_MATCHES = 1000;
/** The deepest `_offset + _count` a system-level search may page to. */
export const MAX_SYSTEM_WINDOW = 1000;

interface Entry {
  fullUrl: string;
  resource: FhirResource;
  search: { mode: 'match' | 'include' };
}

interface SearchsetBundle {
  resourceType: 'Bundle';
  type: 'searchset';
  total?: number;
  link: { relation: string; url: string }[];
  entry?: Entry[];
}

export interface ComposerContext {
  records: Records;
  /** A resource's full URL (a Bundle entry's fullUrl). */
  urlOf(type: string, id: string): string;
  /** This server's FHIR base URL: reference parameters may name its resources by absolute URL. */
  baseUrl: string;
}

function badInput(message: string, param?: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message, {
    issues: [
      { severity: 'error', code: 'too-costly', diagnostics: message, expression: param ? [param] : [] },
    ],
  });
}

function checked(result: CompositionResult): SearchComposition {
  if (!result.ok) {
    throw new MdlError(MdlErrorCode.BadInput, result.issues[0]?.diagnostics ?? 'invalid search', {
      issues: result.issues,
    });
  }
  return result.composition;
}

/** An invalid-value refusal naming the parameter. */
function invalid(message: string, param: string): MdlError {
  return new MdlError(MdlErrorCode.BadInput, message, {
    issues: [{ severity: 'error', code: 'value', diagnostics: message, expression: [param] }],
  });
}

/** `_count` and `_offset` as parseSearch takes them (checked again there when the index pages). */
function paging(params: URLSearchParams): { count: number; offset: number } {
  const count = params.get('_count') ?? String(DEFAULT_COUNT);
  const offset = params.get('_offset') ?? '0';
  if (!/^\d{1,7}$/.test(count) || Number(count) < 1 || Number(count) > MAX_COUNT) {
    throw invalid(`_count must be an integer from 1 to ${MAX_COUNT}`, '_count');
  }
  if (!/^\d{1,15}$/.test(offset) || !Number.isSafeInteger(Number(offset))) {
    throw invalid('_offset must be a non-negative integer', '_offset');
  }
  return { count: Number(count), offset: Number(offset) };
}

/** The links of a page, built from the client's own parameters (not the rewritten ones the index saw). */
function links(url: string, params: URLSearchParams, count: number, offset: number, hasMore: boolean) {
  const link = (o: number) => {
    const p = new URLSearchParams(params);
    p.set('_count', String(count));
    p.set('_offset', String(o));
    return `${url}?${p}`;
  };
  const out = [{ relation: 'self', url: link(offset) }];
  if (hasMore) out.push({ relation: 'next', url: link(offset + count) });
  if (offset > 0) out.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
  return out;
}

/** The entries of a Records.search bundle and whether it has a next page. */
function entriesOf(bundle: unknown): { entries: Entry[]; hasMore: boolean } {
  const b = bundle as SearchsetBundle;
  return { entries: b.entry ?? [], hasMore: b.link.some((l) => l.relation === 'next') };
}

const lastUpdatedOf = (r: FhirResource) => new Date(String(r.meta?.lastUpdated ?? 0));

/** Is this a refusal that means "not for you" (a hidden, missing, deleted or out-of-scope resource)? */
function isAbsent(error: unknown): boolean {
  return (
    error instanceof MdlError &&
    (error.code === MdlErrorCode.NotFound ||
      error.code === MdlErrorCode.Gone ||
      error.code === MdlErrorCode.Forbidden)
  );
}

/** `_summary=count`: the total (of what the caller may see) and no entries. */
function countBundle(total: number, self: string): SearchsetBundle {
  return { resourceType: 'Bundle', type: 'searchset', total, link: [{ relation: 'self', url: self }] };
}

export class SearchComposer {
  readonly #c: ComposerContext;

  constructor(context: ComposerContext) {
    this.#c = context;
  }

  /** `GET [base]/[type]?…` (and `POST [type]/_search`): a searchset Bundle; `url` is the search's own URL. */
  async search(type: string, params: URLSearchParams, url: string): Promise<SearchsetBundle> {
    const c = checked(composeSearch(type, params));
    const clientParams = withoutPresentation(params);
    const base = await this.#resolveLinks(type, c);
    if (c.summary === 'count') {
      const total = base === undefined ? 0 : await this.#c.records.count(type, base);
      return countBundle(total, `${url}?${clientParams}`);
    }
    const { count, offset } = paging(c.base);
    let matches: Entry[] = [];
    let hasMore = false;
    if (base !== undefined && c.sort !== undefined) {
      const all = new URLSearchParams(base);
      all.set('_count', String(MAX_SORT_MATCHES));
      all.set('_offset', '0');
      const got = entriesOf(await this.#c.records.search(type, all));
      if (got.hasMore) {
        throw badInput(
          `_sort on these parameters orders at most ${MAX_SORT_MATCHES} matches: narrow the search`,
          '_sort',
        );
      }
      const sorted = sortResources(
        type,
        got.entries.map((e) => ({
          id: e.resource.id ?? '',
          lastUpdated: lastUpdatedOf(e.resource),
          resource: e.resource,
          e,
        })),
        c.sort,
      );
      matches = sorted.slice(offset, offset + count).map((s) => s.e);
      hasMore = offset + count < sorted.length;
    } else if (base !== undefined) {
      const got = entriesOf(await this.#c.records.search(type, base));
      matches = got.entries;
      hasMore = got.hasMore;
    }
    const included = await this.#includes(matches, c.include, c.revinclude);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      link: links(url, clientParams, count, offset, hasMore),
      entry: shaped([...matches, ...included], c),
    };
  }

  /**
   * `GET [base]/Patient/[id]/[type]?…`: the type search restricted to the patient's compartment. The patient
   * is read first, so a patient the caller may not see answers exactly as a missing one (404).
   */
  async compartment(
    patientId: string,
    type: string,
    params: URLSearchParams,
    url: string,
  ): Promise<SearchsetBundle> {
    await this.#c.records.read('Patient', patientId);
    const scoped = new URLSearchParams(params);
    if (type === 'Patient') {
      scoped.append('_id', patientId);
    } else {
      if (!Object.hasOwn(PATIENT_COMPARTMENT, type)) {
        throw new MdlError(MdlErrorCode.BadInput, `${type} is not in the Patient compartment`);
      }
      const defs = searchParametersOf(type);
      const param = ['patient', 'subject'].find((p) => Object.hasOwn(defs, p) && isReferenceParam(defs[p]));
      if (param === undefined) {
        throw new MdlError(MdlErrorCode.Unsupported, `${type} cannot be searched by patient on this server`);
      }
      scoped.append(param, `Patient/${patientId}`);
    }
    const bundle = await this.search(type, scoped, url);
    // The links keep the compartment's own URL and the client's parameters.
    const c = checked(composeSearch(type, params));
    if (c.summary !== 'count') {
      const { count, offset } = paging(c.base);
      bundle.link = links(
        url,
        withoutPresentation(params),
        count,
        offset,
        bundle.link.some((l) => l.relation === 'next'),
      );
    } else bundle.link = [{ relation: 'self', url: `${url}?${withoutPresentation(params)}` }];
    return bundle;
  }

  /**
   * `GET [base]?_type=A,B&…`: the same common-parameter search on each listed type, merged by last update
   * (newest first, or oldest first with `_sort=_lastUpdated`). Only `_type`, `_id`, `_lastUpdated`, `_count`,
   * `_offset`, `_sort` (on `_lastUpdated`), `_summary` and `_elements` are taken.
   */
  async system(params: URLSearchParams, url: string): Promise<SearchsetBundle> {
    const typesRaw = params.getAll('_type');
    if (typesRaw.length !== 1 || typesRaw[0] === '') {
      throw new MdlError(
        MdlErrorCode.BadInput,
        'a system-level search needs one _type parameter listing the types',
      );
    }
    const types = [...new Set(typesRaw[0]!.split(','))];
    if (!types.every((t) => isResourceType(t)))
      throw new MdlError(MdlErrorCode.BadInput, '_type lists an unknown resource type');
    const rest = new URLSearchParams();
    for (const [k, v] of params) {
      if (k === '_type' || PRESENTATION_PARAMETERS.has(k)) continue;
      if (!['_id', '_lastUpdated', '_count', '_offset', '_sort', '_summary', '_elements'].includes(k)) {
        throw new MdlError(MdlErrorCode.BadInput, 'a system-level search takes only the common parameters', {
          issues: [
            {
              severity: 'error',
              code: 'not-supported',
              diagnostics: 'Not a common search parameter',
              expression: [k],
            },
          ],
        });
      }
      rest.append(k, v);
    }
    const c = checked(composeSearch(types[0]!, rest));
    if (c.sort !== undefined)
      throw new MdlError(MdlErrorCode.BadInput, 'a system-level search sorts by _lastUpdated only');
    const clientParams = withoutPresentation(params);
    if (c.summary === 'count') {
      let total = 0;
      for (const t of types) total += await this.#c.records.count(t, c.base);
      return countBundle(total, `${url}?${clientParams}`);
    }
    const { count, offset } = paging(c.base);
    if (offset + count > MAX_SYSTEM_WINDOW) {
      throw badInput(
        `a system-level search pages to at most ${MAX_SYSTEM_WINDOW} results: narrow it`,
        '_offset',
      );
    }
    const ascending = c.base.get('_sort') === '_lastUpdated';
    const window = new URLSearchParams(c.base);
    window.set('_count', String(offset + count));
    window.set('_offset', '0');
    const found: { type: string; id: string; lastUpdated: Date }[] = [];
    let more = false;
    for (const t of types) {
      const page = await this.#c.records.searchIds(t, window);
      more ||= page.hasMore;
      for (const m of page.matches) found.push({ type: t, ...m });
    }
    found.sort((a, b) => {
      const d = a.lastUpdated.getTime() - b.lastUpdated.getTime();
      if (d !== 0) return ascending ? d : -d;
      const k = `${a.type}/${a.id}`;
      const l = `${b.type}/${b.id}`;
      return k < l ? -1 : k > l ? 1 : 0;
    });
    const chosen = found.slice(offset, offset + count);
    const hasMore = more || found.length > offset + count;
    const entries: Entry[] = [];
    for (const t of types) {
      const ids = chosen.filter((f) => f.type === t).map((f) => f.id);
      if (ids.length === 0) continue;
      const got = entriesOf(
        await this.#c.records.search(t, new URLSearchParams({ _id: ids.join(','), _count: String(count) })),
      );
      entries.push(...got.entries);
    }
    const position = new Map(chosen.map((f, i) => [`${f.type}/${f.id}`, i]));
    entries.sort(
      (a, b) =>
        (position.get(`${a.resource.resourceType}/${a.resource.id}`) ?? 0) -
        (position.get(`${b.resource.resourceType}/${b.resource.id}`) ?? 0),
    );
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      link: links(url, clientParams, count, offset, hasMore),
      entry: shaped(entries, c),
    };
  }

  /**
   * The index parameters with every chain and `_has` turned into a clause on ids the caller may see, or
   * undefined when one of them matches nothing (so the whole search matches nothing).
   */
  async #resolveLinks(type: string, c: SearchComposition): Promise<URLSearchParams | undefined> {
    // The index's own parameters are checked first: a malformed one is refused even when a chain finds nothing,
    // and no inner search runs for a request that is refused anyway.
    const parsed = parseSearch(type, c.base, { baseUrl: this.#c.baseUrl });
    if (!parsed.ok) {
      throw new MdlError(MdlErrorCode.BadInput, parsed.issues[0]?.diagnostics ?? 'invalid search', {
        issues: parsed.issues,
      });
    }
    const base = new URLSearchParams(c.base);
    for (const chain of c.chains) {
      const refs = await this.#chainTargets(chain);
      if (refs.length === 0) return undefined;
      base.append(chain.param, refs.join(','));
    }
    for (const has of c.has) {
      const ids = await this.#hasIds(type, has);
      if (ids.length === 0) return undefined;
      base.append('_id', ids.join(','));
    }
    return base;
  }

  /** `Type/id` of every resource the chain's inner search matches for this caller (bounded). */
  async #chainTargets(chain: ChainSpec): Promise<string[]> {
    const refs: string[] = [];
    for (const t of chain.types) {
      const inner = new URLSearchParams([[chain.inner, chain.value]]);
      inner.set('_count', String(MAX_CHAIN_MATCHES));
      const page = await this.#c.records.searchIds(t, inner);
      if (page.hasMore) {
        throw badInput(
          `the chained parameter matches more than ${MAX_CHAIN_MATCHES} resources: narrow it`,
          `${chain.param}.${chain.inner}`,
        );
      }
      for (const m of page.matches) refs.push(`${t}/${m.id}`);
    }
    return refs;
  }

  /** Ids of resources of `type` referred to, through `refParam`, by the `_has` inner search's matches. */
  async #hasIds(type: string, has: HasSpec): Promise<string[]> {
    const inner = new URLSearchParams([[has.inner, has.value]]);
    inner.set('_count', String(MAX_CHAIN_MATCHES));
    const got = entriesOf(await this.#c.records.search(has.type, inner));
    if (got.hasMore) {
      throw badInput(`_has matches more than ${MAX_CHAIN_MATCHES} resources: narrow it`, `_has:${has.type}`);
    }
    const ids = new Set<string>();
    for (const e of got.entries) {
      for (const ref of includedReferences(e.resource, { param: has.refParam, target: type }))
        ids.add(ref.id);
    }
    return [...ids];
  }

  /**
   * The included resources of a page: `_include` follows references of the matches (each read under the
   * caller's access, an unreadable one silently absent), `_revinclude` searches the other type for resources
   * referring to the matches; then the `:iterate` forms once more over everything gathered.
   */
  async #includes(matches: Entry[], include: IncludeSpec[], revinclude: IncludeSpec[]): Promise<Entry[]> {
    if (matches.length === 0 || (include.length === 0 && revinclude.length === 0)) return [];
    const have = new Map<string, Entry>();
    for (const m of matches) have.set(`${m.resource.resourceType}/${m.resource.id}`, m);
    const added: Entry[] = [];
    const add = (e: Entry) => {
      const key = `${e.resource.resourceType}/${e.resource.id}`;
      if (have.has(key)) return;
      have.set(key, e);
      added.push({ ...e, search: { mode: 'include' } });
      if (added.length > MAX_INCLUDES) {
        throw badInput(`a page may include at most ${MAX_INCLUDES} resources: lower _count`, '_include');
      }
    };
    const round = async (from: Entry[], inc: IncludeSpec[], rev: IncludeSpec[]) => {
      const targets = new Map<string, { type: string; id: string }>();
      for (const spec of inc) {
        for (const e of from) {
          if (e.resource.resourceType !== spec.source) continue;
          for (const t of includedReferences(e.resource, spec)) targets.set(`${t.type}/${t.id}`, t);
        }
      }
      const wanted = [...targets.entries()].filter(([k]) => !have.has(k)).map(([, t]) => t);
      if (wanted.length > MAX_INCLUDES) {
        throw badInput(`a page may include at most ${MAX_INCLUDES} resources: lower _count`, '_include');
      }
      const read = await Promise.all(
        wanted.map(async (t) => {
          try {
            const s = await this.#c.records.read(t.type, t.id);
            return {
              fullUrl: this.#c.urlOf(s.type, s.id),
              resource: s.resource as FhirResource,
              search: { mode: 'include' as const },
            };
          } catch (error) {
            if (isAbsent(error)) return undefined;
            throw error;
          }
        }),
      );
      for (const e of read) if (e) add(e);
      const revs = rev.flatMap((spec) =>
        (spec.param === '*' ? referenceParamsOf(spec.source) : [spec.param]).map((param) => ({
          ...spec,
          param,
        })),
      );
      for (const spec of revs) {
        const def = searchParametersOf(spec.source)[spec.param];
        if (!isReferenceParam(def)) continue;
        const allowed = referenceTargets(def);
        const refs = from
          .map((e) => e.resource)
          .filter((r) => (allowed === undefined ? true : allowed.includes(r.resourceType)))
          .filter((r) => spec.target === undefined || spec.target === r.resourceType)
          .map((r) => `${r.resourceType}/${r.id}`);
        if (refs.length === 0) continue;
        const q = new URLSearchParams([[spec.param, [...new Set(refs)].join(',')]]);
        q.set('_count', String(MAX_INCLUDES));
        let got: { entries: Entry[]; hasMore: boolean };
        try {
          got = entriesOf(await this.#c.records.search(spec.source, q));
        } catch (error) {
          // A type the caller's scopes do not let them search contributes nothing, as a hidden resource.
          if (error instanceof MdlError && error.code === MdlErrorCode.Forbidden) continue;
          throw error;
        }
        if (got.hasMore)
          throw badInput(`a page may include at most ${MAX_INCLUDES} resources: lower _count`, '_revinclude');
        for (const e of got.entries) add(e);
      }
    };
    await round(
      matches,
      include.filter((s) => !s.iterate),
      revinclude.filter((s) => !s.iterate),
    );
    const iterInc = include.filter((s) => s.iterate);
    const iterRev = revinclude.filter((s) => s.iterate);
    if (iterInc.length > 0 || iterRev.length > 0) await round([...have.values()], iterInc, iterRev);
    return added;
  }
}

function withoutPresentation(params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of params) if (!PRESENTATION_PARAMETERS.has(k)) out.append(k, v);
  return out;
}

function shaped(entries: Entry[], c: SearchComposition): Entry[] {
  const shaping: Shaping = {
    ...(c.summary !== undefined && c.summary !== 'count' ? { summary: c.summary } : {}),
    ...(c.elements !== undefined ? { elements: c.elements } : {}),
  };
  if (shaping.summary === undefined && shaping.elements === undefined) return entries;
  return entries.map((e) => ({ ...e, resource: shapeResource(e.resource, shaping) }));
}
