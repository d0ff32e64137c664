/**
 * Search composition in the node bench: what `_include` and `_summary=count` cost over the loaded Synthea
 * population, measured in the same run as the plain search they build on (bench/run.ts reports both).
 *
 * - `Observation?patient=…&_include=Observation:patient`: one patient's observations (a page of 50) with the
 *   patient included — the plain search plus one read under access;
 * - `Observation?_include=Observation:patient&_count=50`, paged through the first pages of the whole
 *   population: pages whose observations name several patients, each included once;
 * - `Observation?patient=…&_summary=count`: the count query, access filter inside it.
 */
import { stats } from './stats.js';

type Call = (method: string, path: string) => Promise<Record<string, unknown> & { entry?: unknown[] }>;

export interface CompositionResult {
  includeByPatientMs: ReturnType<typeof stats>;
  includePageMs: ReturnType<typeof stats>;
  /** Resources included per population page, on average. */
  includedPerPage: number;
  countMs: ReturnType<typeof stats>;
}

/** Population pages measured (each of 50 observations). */
const PAGES = 40;

export async function measureSearchComposition(call: Call, patients: string[]): Promise<CompositionResult> {
  const includeByPatient: number[] = [];
  const count: number[] = [];
  for (const p of patients) {
    let t = performance.now();
    await call('GET', `/Observation?patient=Patient/${p}&_count=50&_include=Observation:patient`);
    includeByPatient.push(performance.now() - t);
    t = performance.now();
    await call('GET', `/Observation?patient=Patient/${p}&_summary=count`);
    count.push(performance.now() - t);
  }
  const includePage: number[] = [];
  let included = 0;
  for (let page = 0; page < PAGES; page++) {
    const t = performance.now();
    const bundle = await call(
      'GET',
      `/Observation?_include=Observation:patient&_count=50&_offset=${page * 50}`,
    );
    includePage.push(performance.now() - t);
    const entries = (bundle.entry ?? []) as { search?: { mode?: string } }[];
    included += entries.filter((e) => e.search?.mode === 'include').length;
    if (entries.length === 0) break;
  }
  return {
    includeByPatientMs: stats(includeByPatient),
    includePageMs: stats(includePage),
    includedPerPage: included / Math.max(1, includePage.length),
    countMs: stats(count),
  };
}
