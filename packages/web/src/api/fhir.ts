/**
 * FHIR R4 over the node's /fhir API: the resource shapes the app reads, search returning a Bundle's
 * resources (following `next` links up to a bound), read, create and update. Everything passes through the
 * node's authorisation; what the caller may not see is simply absent.
 */
import { api } from './client';

export interface Resource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; tag?: Coding[] };
  [key: string]: unknown;
}
export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}
export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}
export interface Reference {
  reference?: string;
  display?: string;
}
export interface Bundle<T extends Resource = Resource> {
  resourceType: 'Bundle';
  type?: string;
  total?: number;
  link?: { relation: string; url: string }[];
  entry?: { fullUrl?: string; resource?: T; search?: { mode?: string } }[];
}

function query(params: Record<string, string | string[] | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) search.append(k, one);
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

/** The path of a `next` link (same origin only). */
function nextPath(bundle: Bundle): string | undefined {
  const next = bundle.link?.find((l) => l.relation === 'next')?.url;
  if (!next) return undefined;
  const url = new URL(next, window.location.origin);
  return url.origin === window.location.origin ? `${url.pathname}${url.search}` : undefined;
}

/** The matching resources of a search (includes too), following `next` up to `maxPages`. */
export async function search<T extends Resource = Resource>(
  type: string,
  params: Record<string, string | string[] | undefined> = {},
  options: { maxPages?: number; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<T[]> {
  const out: T[] = [];
  let path: string | undefined = `/fhir/${type}${query(params)}`;
  for (let page = 0; path && page < (options.maxPages ?? 20); page++) {
    const bundle: Bundle<T> = await api<Bundle<T>>(path, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    for (const e of bundle.entry ?? []) if (e.resource) out.push(e.resource);
    path = nextPath(bundle);
  }
  return out;
}

export function read<T extends Resource = Resource>(
  type: string,
  id: string,
  headers?: Record<string, string>,
) {
  return api<T>(`/fhir/${type}/${encodeURIComponent(id)}`, headers ? { headers } : {});
}

export function create<T extends Resource>(resource: T, headers?: Record<string, string>): Promise<T> {
  return api<T>(`/fhir/${resource.resourceType}`, {
    method: 'POST',
    json: resource,
    headers: { Prefer: 'return=representation', ...headers },
  });
}

export function update<T extends Resource>(
  resource: T & { id: string },
  headers?: Record<string, string>,
): Promise<T> {
  return api<T>(`/fhir/${resource.resourceType}/${encodeURIComponent(resource.id)}`, {
    method: 'PUT',
    json: resource,
    headers: { Prefer: 'return=representation', ...headers },
  });
}
