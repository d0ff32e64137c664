/**
 * Memory benchmark: `npm run bench:memory -w @medledger/node` (also part of `bench/run.ts`, the node report).
 *
 * Runs the real command line (bin/medledger.js, the compiled code: run `npx tsc -b` after changing src) and reads
 * what the operating system charges each process (resident set size, /proc — Linux only):
 *   1. a fresh node (`medledger start`, embedded chain, PGlite) idle after start;
 *   2. the same node idle after `medledger import` of the 34 Synthea bundles (the import's wall time is timed
 *      as a whole process, so it includes the CLI's own start);
 *   3. the same data directory idle after a restart;
 *   4. the five-node demo (`medledger demo`, every node in one process with one anvil) idle after its walk-through.
 * The node process and its anvil child are measured separately. "Idle" = the RSS moved less than 1 % over three
 * samples a second apart (at most 30 s). Each node process is broken down from /proc/<pid>/smaps: WebAssembly
 * memories (PGlite's heap; recognised by the guard reservation of several GiB V8 places after each), the node
 * binary's mapped code, and everything else (V8 heaps of the main and worker threads, malloc arenas).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { baseUrlOf } from './nodeProcess.js';

const CLI = fileURLToPath(new URL('../bin/medledger.js', import.meta.url));
const SYNTHEA = fileURLToPath(new URL('../../../../shared/data/synthea/r4-bundles/', import.meta.url));

/** Resident memory of one process, MB, and the node process's breakdown (smaps). */
export interface ProcessMemory {
  rssMb: number;
  /** WebAssembly linear memories (PGlite), MB resident. */
  wasmMb: number;
  /** Mapped files (the node binary's code, shared libraries), MB resident. */
  fileMb: number;
  /** The rest: V8 heaps of every thread, malloc arenas, buffers. */
  otherMb: number;
}

export interface MemorySample {
  node: ProcessMemory;
  anvilMb: number;
  totalMb: number;
}

/** Reads /proc/<pid>/smaps into the breakdown above. */
export function processMemory(pid: number): ProcessMemory {
  const lines = readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n');
  const maps: { start: bigint; end: bigint; perms: string; file: boolean; rssKb: number }[] = [];
  for (const line of lines) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) {
      maps.push({
        start: BigInt(`0x${m[1]}`),
        end: BigInt(`0x${m[2]}`),
        perms: m[3]!,
        file: m[4] !== '0' && !m[5]!.startsWith('['),
        rssKb: 0,
      });
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && maps.length > 0) maps[maps.length - 1]!.rssKb = Number(r[1]);
  }
  let wasm = 0;
  let file = 0;
  let total = 0;
  for (const [i, map] of maps.entries()) {
    total += map.rssKb;
    const next = maps[i + 1];
    // A wasm memory: readable-writable anonymous pages directly followed by an inaccessible reservation of
    // more than 1 GiB (V8's guard region for bounds-check-free 32-bit memories).
    if (
      !map.file &&
      map.perms.startsWith('rw') &&
      next &&
      next.start === map.end &&
      next.perms === '---p' &&
      next.end - next.start > 1n << 30n
    ) {
      wasm += map.rssKb;
    } else if (map.file) file += map.rssKb;
  }
  const mb = (kb: number) => Math.round(kb / 102.4) / 10;
  return { rssMb: mb(total), wasmMb: mb(wasm), fileMb: mb(file), otherMb: mb(total - wasm - file) };
}

/** Pids of the anvil processes started by `parent` (the embedded chain). */
function anvilChildren(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m && m[1] === 'anvil' && Number(m[2]) === parent) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the node's RSS is steady (three samples a second apart within 1 %, at most 30 s), then samples. */
export async function idleSample(pid: number): Promise<MemorySample> {
  const seen: number[] = [];
  for (let i = 0; i < 30; i++) {
    seen.push(rssMb(pid));
    const last = seen.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) <= Math.max(...last) / 100) break;
    await sleep(1000);
  }
  const node = processMemory(pid);
  const anvilMb = anvilChildren(pid).reduce((sum, p) => sum + rssMb(p), 0);
  return { node, anvilMb, totalMb: Math.round((node.rssMb + anvilMb) * 10) / 10 };
}

function freePorts(count: number): Promise<number> {
  // A base port with `count` free ports after it (the demo's nodes take P..P+count-1).
  const tryPort = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  return (async () => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const base = 20_000 + Math.floor(Math.random() * 30_000);
      let ok = true;
      for (let i = 0; i < count && ok; i++) ok = await tryPort(base + i);
      if (ok) return base;
    }
    throw new Error('no run of free ports found');
  })();
}

const ENV = {
  ...process.env,
  MEDLEDGER_KEYSTORE_PASSPHRASE: 'bench keystore passphrase',
  MEDLEDGER_LOG_LEVEL: 'error',
};

function startCli(dataDir: string): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, [CLI, 'start', '--data-dir', dataDir, '--port', '0'], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { child, ready: baseUrlOf(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Runs the CLI to completion; resolves with its stdout (rejects on a non-zero exit). */
function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`medledger ${args[0]} exited ${code}: ${err.trim()}`)),
    );
  });
}

/** Resources in the Synthea bundles, counted from the files (independent of what the import prints). */
function syntheaResources(): { bundles: number; resources: number } {
  const files = readdirSync(SYNTHEA).filter((f) => f.endsWith('.json'));
  let resources = 0;
  for (const f of files) {
    resources += (JSON.parse(readFileSync(join(SYNTHEA, f), 'utf8')) as { entry: unknown[] }).entry.length;
  }
  return { bundles: files.length, resources };
}

async function anchored(base: string, token: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const res = await fetch(`${base}/$status`, { headers: { authorization: `Bearer ${token}` } });
    const s = (await res.json()) as { anchoring?: { queuedLeaves: number; inFlightLeaves: number } };
    if (s.anchoring && s.anchoring.queuedLeaves + s.anchoring.inFlightLeaves === 0) return;
    await sleep(100);
  }
  throw new Error('anchoring did not finish within 120 s');
}

export interface NodeMemoryResult {
  idleAfterStart: MemorySample;
  idleAfterImport: MemorySample;
  idleAfterRestart: MemorySample;
  import: {
    bundles: number;
    resources: number;
    wallSeconds: number;
    resourcesPerSecond: number;
    summary: string;
  };
}

/** One node through start → import → restart, its memory idle at each step. */
export async function nodeMemory(): Promise<NodeMemoryResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'medledger-bench-memory-'));
  let node = startCli(dataDir);
  try {
    let base = await node.ready;
    const idleAfterStart = await idleSample(node.child.pid!);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const { bundles, resources } = syntheaResources();
    const t0 = performance.now();
    const out = await runCli(['import', SYNTHEA, '--url', base, '--data-dir', dataDir]);
    const wallSeconds = (performance.now() - t0) / 1000;
    await anchored(base, token);
    const idleAfterImport = await idleSample(node.child.pid!);
    await stopChild(node.child);
    node = startCli(dataDir);
    base = await node.ready;
    const idleAfterRestart = await idleSample(node.child.pid!);
    return {
      idleAfterStart,
      idleAfterImport,
      idleAfterRestart,
      import: {
        bundles,
        resources,
        wallSeconds,
        resourcesPerSecond: resources / wallSeconds,
        summary: out.trim().split('\n').at(-1) ?? '',
      },
    };
  } finally {
    await stopChild(node.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface DemoMemoryResult {
  nodes: number;
  idle: MemorySample;
}

/** `medledger demo` (five nodes in one process, one anvil), idle after its walk-through. */
export async function demoMemory(): Promise<DemoMemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-bench-demo-'));
  const port = await freePorts(5);
  const child = spawn(process.execPath, [CLI, 'demo', '--dir', dir, '--port', String(port)], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let nodes = 0;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('The nodes keep running')) {
          nodes = (out.match(/ organisation \d+ /g) ?? []).length;
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`medledger demo exited (${code}) before it was ready`)));
    });
    return { nodes, idle: await idleSample(child.pid!) };
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 1 });

/** The report's rows: one per idle measurement. */
export function memoryRows(node?: NodeMemoryResult, demo?: DemoMemoryResult): string[] {
  const row = (label: string, s: MemorySample) =>
    `| ${label} | ${f(s.node.rssMb)} (wasm ${f(s.node.wasmMb)}, other ${f(s.node.otherMb)}, files ${f(s.node.fileMb)}) | ${f(s.anvilMb)} | **${f(s.totalMb)}** |`;
  return [
    '| idle RSS, MB | node process (PGlite wasm, V8 + malloc, mapped files) | anvil | total |',
    '|---|---:|---:|---:|',
    ...(node
      ? [
          row('one node, after start (fresh data directory)', node.idleAfterStart),
          row(`one node, after importing ${node.import.bundles} Synthea bundles`, node.idleAfterImport),
          row('one node, after a restart with that data', node.idleAfterRestart),
        ]
      : []),
    ...(demo
      ? [row(`\`medledger demo\`, ${demo.nodes} nodes in one process, after the walk-through`, demo.idle)]
      : []),
  ];
}

// Alone: `bench/memory.ts [node|demo]` (default both).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const only = process.argv[2];
  const node = only === 'demo' ? undefined : await nodeMemory();
  console.log(JSON.stringify(node));
  const demo = only === 'node' ? undefined : await demoMemory();
  console.log(JSON.stringify(demo));
  console.log(
    [
      ...memoryRows(node, demo),
      '',
      node
        ? `medledger import of ${node.import.resources} resources: ${f(node.import.wallSeconds)} s wall (${f(node.import.resourcesPerSecond)} resources/s); its summary: ${node.import.summary}`
        : '',
    ].join('\n'),
  );
}
