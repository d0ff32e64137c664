/**
 * The C allocator settings a node process runs with on Linux. A node's idle memory was mostly memory glibc's
 * malloc had been given back by its users and kept: V8 compiles PGlite's 9 MB WebAssembly module on background
 * threads through ~140 MB of short-lived 8–32 KB zone segments, spread over per-thread arenas that free() can
 * only shrink from the top, so one long-lived allocation above them pins the rest (calling malloc_trim(0) in an
 * idle node released 150 MB). Serving such chunks from their own mappings (mmap threshold 16 KB, no longer
 * raised dynamically), returning freed tops sooner and capping the arenas at two halves a node's idle RSS at no
 * measured cost in import throughput (docs/benchmarks.md, "Memory").
 *
 * glibc reads these only when a process starts (mallopt(3): MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_,
 * MALLOC_ARENA_MAX), so the command line re-executes itself once, in place (same process id, same terminal),
 * with them set. Limits: needs `process.execve` (Node 22.15 or later; on Node 20 the node runs with glibc's
 * defaults); an operator who sets any of them, or GLIBC_TUNABLES, keeps exactly their own; other C libraries
 * ignore the variables.
 */

/** The commands that run a node (or several) in this process; the clients stay as they start. */
const NODE_COMMANDS: ReadonlySet<string> = new Set(['start', 'demo', 'reindex']);

export const NODE_MALLOC_SETTINGS: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '16384',
  MALLOC_TRIM_THRESHOLD_: '65536',
  MALLOC_ARENA_MAX: '2',
};

/** The environment to re-execute with, or undefined to go on as is. */
export function tunedEnvironment(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): NodeJS.ProcessEnv | undefined {
  if (platform !== 'linux' || env.GLIBC_TUNABLES !== undefined) return undefined;
  if (Object.keys(NODE_MALLOC_SETTINGS).some((name) => env[name] !== undefined)) return undefined;
  if (!NODE_COMMANDS.has(args[0] ?? '') || args.includes('--help') || args.includes('-h')) return undefined;
  return { ...env, ...NODE_MALLOC_SETTINGS };
}

/** Replaces this process with the same command under the tuned allocator, when that applies and is possible. */
export function execWithTunedAllocator(): void {
  const env = tunedEnvironment(process.argv.slice(2), process.env, process.platform);
  const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
    .execve;
  if (!env || typeof execve !== 'function') return;
  execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], env);
}
