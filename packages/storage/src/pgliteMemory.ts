/**
 * How much memory embedded PGlite may keep, on either thread. PGlite runs PostgreSQL single-user inside one
 * WebAssembly memory, which grows but never shrinks: every page the database ever touched stays resident for
 * the life of the node. PostgreSQL's defaults size that memory for a server with many connections
 * (shared_buffers 128 MB, maintenance_work_mem 64 MB, 100 connections' worth of shared state); PGlite has one
 * connection and its data files sit in the operating system's page cache anyway, so a small buffer pool costs
 * a copy from that cache instead of the disk. The memory's initial size stays PGlite's (128 MB, the least its
 * module accepts): pages never touched are reserved, not resident. Measured in docs/benchmarks.md ("Memory").
 */
export const PGLITE_MEMORY = {
  /** PostgreSQL settings added to PGlite's own start parameters. */
  startParams: ['-c', 'shared_buffers=32MB', '-c', 'maintenance_work_mem=16MB', '-c', 'max_connections=4'],
} as const;
