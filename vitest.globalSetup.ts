/**
 * Once per test run: one pristine PGlite cluster that every node the tests start — in the test processes and in
 * the `medledger` processes they spawn — copies for its new data directory, instead of each process running
 * PGlite's initdb (seconds of CPU) for its first database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPristineCluster, PGLITE_TEMPLATE_ENV } from '@medledger/storage';

export default async function setup(): Promise<() => void> {
  const scratch = mkdtempSync(join(tmpdir(), 'medledger-test-pglite-'));
  const cluster = join(scratch, 'cluster');
  await createPristineCluster(cluster);
  process.env[PGLITE_TEMPLATE_ENV] = cluster;
  return () => rmSync(scratch, { recursive: true, force: true });
}
