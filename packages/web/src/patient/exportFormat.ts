/**
 * The pure parts of a patient's export of their whole record: the one-file JSON (a FHIR `collection` Bundle
 * of every resource `Patient/$everything` returned), file names, and reading the FHIR Bulk Data answers
 * (`X-Progress`, `Retry-After`, the completion manifest). Same-origin links only: a link to another origin is
 * never followed with the person's token.
 */
import type { Bundle, Resource } from '../api/fhir';

/** The path of a link (absolute or relative) when it is on `origin`, else undefined. */
export function sameOriginPath(link: string | null | undefined, origin: string): string | undefined {
  if (!link) return undefined;
  const url = new URL(link, origin);
  return url.origin === origin ? `${url.pathname}${url.search}` : undefined;
}

/** The `next` page of a searchset, on `origin`. */
export function nextPage(bundle: Bundle, origin: string): string | undefined {
  return sameOriginPath(bundle.link?.find((l) => l.relation === 'next')?.url, origin);
}

/** The whole record as one file: a `collection` Bundle, each resource once (by type and id). */
export function recordBundle(resources: readonly Resource[], now: Date): Bundle {
  const seen = new Set<string>();
  const entry: NonNullable<Bundle['entry']> = [];
  for (const resource of resources) {
    const key = `${resource.resourceType}/${resource.id ?? ''}`;
    if (resource.id && seen.has(key)) continue;
    seen.add(key);
    entry.push({ ...(resource.id ? { fullUrl: key } : {}), resource });
  }
  return { resourceType: 'Bundle', type: 'collection', timestamp: now.toISOString(), entry } as Bundle;
}

const day = (now: Date) => now.toISOString().slice(0, 10);

/** `my-record-2026-12-07.json`. */
export function recordFileName(now: Date): string {
  return `my-record-${day(now)}.json`;
}

/** `my-record-Observation-2026-12-07.ndjson` (the type reduced to letters and digits). */
export function ndjsonFileName(type: string, now: Date): string {
  return `my-record-${type.replace(/[^A-Za-z0-9]/g, '') || 'resources'}-${day(now)}.ndjson`;
}

export interface ExportProgress {
  phase: 'queued' | 'running' | 'unknown';
  /** Resources exported so far, when the node says. */
  count?: number;
  text: string;
}

/** The node's `X-Progress` ("running: 120 resources exported", "queued: …") in words. */
export function parseProgress(header: string | null | undefined): ExportProgress {
  const value = header?.trim() ?? '';
  const phase = value.startsWith('queued') ? 'queued' : value.startsWith('running') ? 'running' : 'unknown';
  const match = /(\d+)\s+resources?/.exec(value);
  const count = match ? Number(match[1]) : undefined;
  const text =
    phase === 'queued'
      ? 'Waiting for the node to start the export…'
      : count !== undefined
        ? `Exporting: ${count} ${count === 1 ? 'entry' : 'entries'} so far…`
        : 'Exporting…';
  return { phase, ...(count !== undefined ? { count } : {}), text };
}

/** How long to wait before polling again (the node's `Retry-After` seconds), kept within 0.5–5 s. */
export function pollDelayMs(retryAfter: string | null | undefined): number {
  const seconds = Number(retryAfter);
  if (!Number.isFinite(seconds) || seconds <= 0) return 1_000;
  return Math.min(5_000, Math.max(500, seconds * 1_000));
}

export interface BulkManifest {
  transactionTime?: string;
  output?: { type: string; url: string; count?: number }[];
}

export interface ExportFile {
  type: string;
  count?: number;
  /** Same-origin path of the file. */
  path: string;
  name: string;
}

/** The manifest's files (same-origin only), ordered by type, each with the name it is saved under. */
export function manifestFiles(manifest: BulkManifest, origin: string, now: Date): ExportFile[] {
  const out: ExportFile[] = [];
  for (const o of manifest.output ?? []) {
    const path = sameOriginPath(o.url, origin);
    if (!path) continue;
    out.push({
      type: o.type,
      ...(typeof o.count === 'number' ? { count: o.count } : {}),
      path,
      name: ndjsonFileName(o.type, now),
    });
  }
  return out.sort((a, b) => a.type.localeCompare(b.type));
}
