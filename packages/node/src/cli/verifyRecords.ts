/**
 * `medledger verify`: checks every stored record version at a running node (blob, CID, decryption, anchor on
 * the chain) a page at a time (`GET /fhir/$verify?_count=…&cursor=…`), showing progress on stderr as it goes:
 * in place on a terminal, and otherwise a line at each tenth of the way. Problems are printed to stdout as they
 * are found, then one summary line; the exit code is 1 when there are problems.
 */
import { Progress } from './progress.js';

/** Versions per request: a page answers in seconds, so progress moves and no request runs for minutes. */
export const VERIFY_PAGE = 250;

interface VerifyPage {
  checked: number;
  anchored: number;
  pending: number;
  problems: string[];
  total?: number;
  cursor?: string;
}

export interface VerifyReport {
  checked: number;
  anchored: number;
  pending: number;
  problems: number;
}

export async function verifyRecords(options: {
  /** A GET against the node's FHIR base (the CLI's client: bearer token, one-line errors). */
  call: (method: string, path: string) => Promise<Record<string, unknown>>;
  progress?: Progress;
  out?: (line: string) => void;
  pageSize?: number;
}): Promise<VerifyReport> {
  const progress = options.progress ?? new Progress();
  const out = options.out ?? ((line: string) => console.log(line));
  const pageSize = options.pageSize ?? VERIFY_PAGE;
  const report: VerifyReport = { checked: 0, anchored: 0, pending: 0, problems: 0 };
  let total: number | undefined;
  let cursor: string | undefined;
  let tenths = 0;
  progress.status('verifying record versions …', true);
  try {
    do {
      const page = (await options.call(
        'GET',
        `/$verify?_count=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )) as unknown as VerifyPage;
      total ??= page.total;
      cursor = page.cursor;
      report.checked += page.checked;
      report.anchored += page.anchored;
      report.pending += page.pending;
      report.problems += page.problems.length;
      if (page.problems.length > 0) {
        progress.clear();
        for (const p of page.problems) out(`PROBLEM ${p}`);
      }
      // Records written meanwhile are checked too: the count may pass the total taken at the start.
      const of = total === undefined ? '' : ` of ${Math.max(total, report.checked)}`;
      const reached = total ? Math.min(10, Math.floor((report.checked / total) * 10)) : 0;
      const milestone = reached > tenths && cursor !== undefined;
      if (milestone) tenths = reached;
      progress.status(
        `verified ${report.checked}${of} record versions (${report.problems} problem${report.problems === 1 ? '' : 's'} so far)`,
        milestone,
      );
    } while (cursor !== undefined);
  } finally {
    progress.clear();
  }
  out(
    `verified ${report.checked} record versions: ${report.anchored} anchored, ${report.pending} not yet anchored, ${report.problems} problems`,
  );
  if (report.problems > 0) process.exitCode = 1;
  return report;
}
