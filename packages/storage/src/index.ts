export type { BlobStore } from './BlobStore.js';
export type { Db, Queryable, QueryResult } from './Db.js';
export { FsBlobStore } from './FsBlobStore.js';
export { type Migration, migrate } from './migrate.js';
export { type DbConfig, openDb } from './openDb.js';
export { openPgliteDb } from './PgliteDb.js';
export { createPristineCluster, openPgliteWorkerDb, PGLITE_TEMPLATE_ENV } from './PgliteWorkerDb.js';
export { openPostgresDb, type PostgresOptions } from './PostgresDb.js';
export {
  type AccessFilter,
  type CompartmentQuery,
  type HistoryQuery,
  type IndexedVersion,
  type IndexStats,
  type LastUpdatedOp,
  MAX_PAGE_SIZE,
  type Page,
  RecordIndex,
  type SearchFilter,
  type SearchQuery,
  type SearchTokenEntry,
  type TokenTest,
  type VersionWrite,
  type WrappedKeyRecord,
} from './RecordIndex.js';
