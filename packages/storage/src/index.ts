export type { Db, Queryable, QueryResult } from './Db.js';
export { type Migration, migrate } from './migrate.js';
export { type DbConfig, openDb } from './openDb.js';
export { openPgliteDb } from './PgliteDb.js';
export { openPostgresDb, type PostgresOptions } from './PostgresDb.js';
