/**
 * Keeping the search index on the code's token scheme. The index database records the SEARCH_TOKEN_SCHEME its
 * search_tokens rows were computed under; a node started on an index of another scheme (or of none, with
 * records in it) recomputes every resource's tokens before it serves, then records the scheme — last, so a
 * rebuild cut short is simply run again at the next start. docs/node.md ("Upgrades") and docs/storage.md.
 */
import { SEARCH_TOKEN_SCHEME } from '@medledger/fhir';
import type { Db, RecordIndex } from '@medledger/storage';
import type { RecordService } from './RecordService.js';

export interface SearchIndexCheck {
  /** The scheme the index was on before (undefined: none recorded). */
  from: number | undefined;
  /** The scheme it is on now (the code's). */
  to: number;
  /** Whether the tokens were rebuilt at this start. */
  rebuilt: boolean;
  /** Resources whose tokens were replaced, and how many tokens they have now (0 when not rebuilt). */
  resources: number;
  tokens: number;
  /** Records that could not be opened (they keep no tokens; `medledger verify` names them). */
  unreadable: number;
}

/**
 * Rebuilds the search tokens when the stored scheme is not the code's (or `force`), and records the scheme.
 * A fresh index just records it. Logs counts only.
 */
export async function ensureSearchTokenScheme(
  deps: { db: Db; index: RecordIndex; records: RecordService; log?: (line: string) => void },
  options: { force?: boolean; batch?: number } = {},
): Promise<SearchIndexCheck> {
  const { db, index, records } = deps;
  const log = deps.log ?? ((line: string) => console.log(line));
  const from = await index.tokenScheme(db);
  const to = SEARCH_TOKEN_SCHEME;
  const stale = from === undefined ? await index.hasResources(db) : from !== to;
  if (!stale && !options.force) {
    if (from === undefined) await index.setTokenScheme(db, to);
    return { from, to, rebuilt: false, resources: 0, tokens: 0, unreadable: 0 };
  }
  // Not complete until the scheme is written again, whatever happens below.
  await index.clearTokenScheme(db);
  log(`medledger: rebuilding the search index (token scheme ${from ?? 'unrecorded'} → ${to})`);
  const started = performance.now();
  let lastLog = started;
  const done = await records.rebuildSearchTokens(records.system('search index rebuild').access, {
    ...(options.batch ? { batch: options.batch } : {}),
    onBatch: (p) => {
      const now = performance.now();
      if (now - lastLog < 10_000) return;
      lastLog = now;
      log(`medledger: search index rebuild: ${p.resources} resources so far`);
    },
  });
  await index.setTokenScheme(db, to);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `medledger: search index rebuilt: ${done.resources} resources, ${done.tokens} tokens in ${seconds} s` +
      (done.unreadable > 0 ? `; ${done.unreadable} records could not be opened (run medledger verify)` : ''),
  );
  return { from, to, rebuilt: true, ...done };
}
