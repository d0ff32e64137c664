/**
 * `medledger import <file|directory>`: loads FHIR transaction or batch Bundles (JSON; a directory's `*.json`
 * files in name order) into a running node, one bundle per request to the node's FHIR endpoint — the same
 * interaction any FHIR client uses, decided for the caller like any other.
 *
 * - Every file is read and checked (JSON, a transaction or batch Bundle) before anything is sent: a directory
 *   with one bad file changes nothing and names the file.
 * - Re-importing creates nothing new: each POST entry becomes a conditional create on an identifier
 *   (idempotentEntries.ts), which the node resolves as FHIR says — a match is the result, and references to
 *   the entry name the match.
 * - Progress goes to stderr (a line per file, with running counts); the summary to stdout.
 * - A failed bundle stops the import with one line: the file, the entry (index and fullUrl) and the node's
 *   diagnostics. A transaction stores nothing of a failed bundle; the files before it are imported, and
 *   running the same import again skips them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type IdempotencyCounts, makeIdempotent } from './idempotentEntries.js';
import { Progress } from './progress.js';

/** Why an import stopped: one line, the CLI's exit code 2. */
export class ImportError extends Error {}

interface BundleJson {
  resourceType: 'Bundle';
  type: 'transaction' | 'batch';
  entry?: unknown[];
}

interface Outcome {
  issue?: { severity?: string; diagnostics?: string; expression?: string[] }[];
}

interface ResponseEntry {
  response?: { status?: string; outcome?: Outcome };
}

export interface ImportSummary {
  files: number;
  entries: number;
  created: number;
  /** Entries whose resource was there already (a conditional create that matched). */
  existing: number;
  /** How the entries were made conditional (see idempotentEntries.ts). */
  keys: IdempotencyCounts;
  seconds: number;
}

/** The `*.json` files to import: the file itself, or a directory's, in name order. */
export function bundleFiles(target: string): string[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(target);
  } catch {
    throw new ImportError(`${target}: no such file or directory`);
  }
  if (!st.isDirectory()) return [target];
  const files = readdirSync(target)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(target, f));
  if (files.length === 0) throw new ImportError(`${target}: no .json files in this directory`);
  return files;
}

/** A file's bundle, or an ImportError naming the file and what is wrong with it. */
export function readBundle(file: string): BundleJson {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ImportError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ImportError(`${file}: not JSON (${(error as Error).message.split('\n')[0]})`);
  }
  const value = json as Partial<BundleJson> | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    value.resourceType !== 'Bundle'
  ) {
    const what =
      typeof value === 'object' && value !== null && typeof value.resourceType === 'string'
        ? `a ${value.resourceType}`
        : 'no FHIR resource';
    throw new ImportError(`${file}: not a FHIR Bundle (${what})`);
  }
  if (value.type !== 'transaction' && value.type !== 'batch') {
    throw new ImportError(
      `${file}: a ${JSON.stringify(value.type ?? null)} Bundle; import takes transaction and batch bundles`,
    );
  }
  if (value.entry !== undefined && !Array.isArray(value.entry)) {
    throw new ImportError(`${file}: Bundle.entry is not a list`);
  }
  return value as BundleJson;
}

/** `Bundle.entry[12]…` in an issue's expression → 12. */
function entryIndexOf(outcome: Outcome | undefined): number | undefined {
  for (const issue of outcome?.issue ?? []) {
    for (const e of issue.expression ?? []) {
      const m = /^Bundle\.entry\[(\d+)\]/.exec(e);
      if (m) return Number(m[1]);
    }
  }
  return undefined;
}

/** The first error's diagnostics, with the element it names inside the entry's resource, if any. */
function diagnosticsOf(outcome: Outcome | undefined, type: unknown): string {
  const issues = outcome?.issue ?? [];
  const issue = issues.find((i) => i.severity === 'error' || i.severity === 'fatal') ?? issues[0];
  const element = issue?.expression
    ?.map((e) => /^Bundle\.entry\[\d+\]\.resource\.(.+)$/.exec(e)?.[1])
    .find((e) => e !== undefined);
  const where = element && typeof type === 'string' ? `${type}.${element}` : element;
  return `${where ? `${where}: ` : ''}${issue?.diagnostics ?? 'no diagnostics'}`;
}

/** The resource type of an entry of the file. */
function typeAt(bundle: BundleJson, index: number | undefined): unknown {
  if (index === undefined) return undefined;
  return (bundle.entry?.[index] as { resource?: { resourceType?: unknown } } | undefined)?.resource
    ?.resourceType;
}

/** "entry 12 (urn:uuid:…)" — the entry as the file has it, by position and fullUrl. */
function entryName(bundle: BundleJson, index: number | undefined): string {
  if (index === undefined) return 'the bundle';
  const fullUrl = (bundle.entry?.[index] as { fullUrl?: unknown } | undefined)?.fullUrl;
  return typeof fullUrl === 'string' ? `entry ${index} (${fullUrl})` : `entry ${index}`;
}

async function postBundle(
  url: string,
  token: string,
  bundle: BundleJson,
): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/fhir+json',
        'content-type': 'application/fhir+json',
      },
      body: JSON.stringify(bundle),
    });
  } catch {
    throw new ImportError(`no medledger node answers at ${url} (is it running? see medledger start)`);
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // Not FHIR JSON (a proxy's error page): the status says enough.
  }
  return { status: res.status, body };
}

/** Imports the bundles of `target` into the node at `url` (its FHIR base); see the module comment. */
export async function importBundles(options: {
  target: string;
  url: string;
  token: string;
  progress?: Progress;
  out?: (line: string) => void;
}): Promise<ImportSummary> {
  const progress = options.progress ?? new Progress();
  const out = options.out ?? ((line: string) => console.log(line));
  const files = bundleFiles(options.target);
  progress.status(`checking ${files.length} file${files.length === 1 ? '' : 's'} …`);
  for (const file of files) readBundle(file);

  const started = performance.now();
  const total: ImportSummary = {
    files: 0,
    entries: 0,
    created: 0,
    existing: 0,
    keys: { byIdentifier: 0, bySource: 0, byContent: 0, plain: 0 },
    seconds: 0,
  };
  const width = String(files.length).length;
  try {
    for (const [i, file] of files.entries()) {
      const position = `[${String(i + 1).padStart(width)}/${files.length}]`;
      progress.status(`${position} ${basename(file)} …`);
      const bundle = readBundle(file);
      const keys = makeIdempotent(bundle);
      const { status, body } = await postBundle(options.url, options.token, bundle);
      if (status < 200 || status > 299) {
        const outcome = body as Outcome;
        const index = entryIndexOf(outcome);
        throw new ImportError(
          `${file}: ${entryName(bundle, index)}: ${diagnosticsOf(outcome, typeAt(bundle, index))} (HTTP ${status}; nothing of this file was stored)`,
        );
      }
      const responses = (Array.isArray(body.entry) ? body.entry : []) as ResponseEntry[];
      const failed = responses.findIndex((r) => !/^2\d\d/.test(r?.response?.status ?? ''));
      if (failed >= 0) {
        // A batch: each entry stands alone, so the others were processed.
        const r = responses[failed]!.response;
        throw new ImportError(
          `${file}: ${entryName(bundle, failed)}: ${diagnosticsOf(r?.outcome, typeAt(bundle, failed))} (${r?.status ?? 'no status'}; a batch: its other entries were processed)`,
        );
      }
      const created = responses.filter((r) => r.response?.status?.startsWith('201')).length;
      // A POST answered 200 is a conditional create that found its resource; other methods are not counted.
      const existing = responses.filter(
        (r, j) =>
          r.response?.status?.startsWith('200') &&
          (bundle.entry?.[j] as { request?: { method?: unknown } } | undefined)?.request?.method === 'POST',
      ).length;
      total.files++;
      total.entries += responses.length;
      total.created += created;
      total.existing += existing;
      for (const k of Object.keys(keys) as (keyof IdempotencyCounts)[]) total.keys[k] += keys[k];
      progress.line(
        `${position} ${file}: ${responses.length} entries, ${created} created, ${existing} already there (so far ${total.created} created, ${total.existing} already there)`,
      );
    }
  } finally {
    progress.clear();
  }
  total.seconds = (performance.now() - started) / 1000;
  const rate = total.seconds > 0 ? Math.round(total.entries / total.seconds) : total.entries;
  out(
    `imported ${total.files} file${total.files === 1 ? '' : 's'}, ${total.entries} entries: ${total.created} created, ${total.existing} already there, in ${total.seconds.toFixed(1)} s (${rate} entries/s)`,
  );
  if (total.keys.plain > 0) {
    out(
      `note: ${total.keys.plain} entries have no identifier to match on (their resource type has none) and were created anew`,
    );
  }
  return total;
}
