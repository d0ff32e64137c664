/**
 * The data directory is the node's alone: keystore, database, blobs, chain state, the admin token. At every
 * start it is made private to the account the node runs as — the directory and every directory under it 0700,
 * every file 0600 — whatever an operator's `mkdir`, an old version, a restore from backup or the embedded
 * database left there. Tightening rather than refusing: everything in it is the node's own, so the fix is
 * unambiguous and safe, and a refusal would only have every operator type the same `chmod -R`.
 *
 * It refuses to start (one line, MDL_CONFIG) when the directory or something in it belongs to another account
 * (a data directory shared between accounts is a configuration mistake, and its owner could loosen it again)
 * or when a mode cannot be changed. Symbolic links inside are left alone and never followed (chmod would act
 * on their target, which may lie outside).
 *
 * What the node creates afterwards is kept private as far as the writers allow: the process's umask becomes
 * 077 (not settable in a worker thread), anvil runs under its own 077 (EmbeddedChain), blobs are written 0600.
 * Limits: PGlite sets some modes itself (it rewrites its relation cache files 0644 at every start); those stay
 * out of other accounts' reach through the directory's 0700, and the next start tightens them. The walk costs
 * one lstat per file (blobs included) at start.
 */
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { MdlError, MdlErrorCode } from '@medledger/core';

export const PRIVATE_DIRECTORY = 0o700;
export const PRIVATE_FILE = 0o600;

function refuse(message: string): never {
  throw new MdlError(MdlErrorCode.Config, `data directory: ${message}`);
}

function tighten(path: string, stats: Stats, uid: number | undefined): void {
  if (uid !== undefined && stats.uid !== uid) {
    refuse(`${path} belongs to another account (uid ${stats.uid}); run the node as the directory's owner`);
  }
  const wanted = stats.isDirectory() ? PRIVATE_DIRECTORY : PRIVATE_FILE;
  if ((stats.mode & 0o7777) === wanted) return;
  try {
    chmodSync(path, wanted);
  } catch (error) {
    refuse(`cannot make ${path} private (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Creates `dir` if needed and makes it and everything under it private to this account (see above). */
export function secureDataDirectory(dir: string): void {
  if (isMainThread) process.umask(0o077);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY });
  const uid = process.getuid?.();
  // The directory itself may be a symbolic link to another volume: that one is followed.
  const top = statSync(dir);
  if (!top.isDirectory()) refuse(`${dir} is not a directory`);
  tighten(dir, top, uid);
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) continue;
      tighten(path, stats, uid);
      if (stats.isDirectory()) pending.push(path);
    }
  }
}

/**
 * One process per data directory. The embedded database, the chain state and the blob store each assume a
 * single writer; a second node on the same directory would corrupt them (PGlite just aborts). Like
 * PostgreSQL's `postmaster.pid`, a start takes `<dataDir>/medledger.pid` by exclusive creation — written
 * complete under another name and hard-linked into place, so no one ever reads half a lock — holding the pid,
 * when it was taken and the command line. Its first line is the pid, so `kill $(head -1 medledger.pid)` stops
 * the node.
 *
 * A lock whose process is gone (a SIGKILL, a power loss) is stale and is taken over, and the start says so.
 * "Gone" means: no such pid; or the pid is this process's own without this process holding the directory (a
 * restarted container reuses pids); or, on Linux, the process with that pid started after the lock was taken
 * (the pid was reused). The lock is released on stop, and removed on any exit of the process that still holds
 * it (signals the CLI handles end in a stop; an uncaught error ends in `exit`).
 */
export const LOCK_FILE = 'medledger.pid';

export interface LockHolder {
  pid: number;
  /** When the lock was taken (ISO 8601). */
  startedAt: string;
  command: string;
}

export interface DataDirectoryLock {
  file: string;
  /** The stale lock this one replaced, if any. */
  tookOver?: LockHolder;
  release(): void;
}

/** The locks this process holds, by directory (a second start in the same process is refused as well). */
const held = new Map<string, LockHolder>();
let exitHookInstalled = false;

/** Removes `file` if it is still the lock `holder` took (never another process's). */
function removeOwnLock(file: string, holder: LockHolder): void {
  const current = readHolder(file);
  if (current?.pid === holder.pid && current.startedAt === holder.startedAt) rmSync(file, { force: true });
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function readHolder(file: string): LockHolder | undefined {
  const [pid, startedAt, ...command] = (readText(file) ?? '').split('\n');
  if (!/^\d{1,10}$/.test(pid ?? '') || Number.isNaN(Date.parse(startedAt ?? ''))) return undefined;
  return { pid: Number(pid), startedAt: startedAt!, command: command.join(' ').trim() };
}

/** Start time of a process on Linux (ms since the epoch), from /proc; undefined elsewhere. */
function processStartedAt(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime, clock ticks since boot) counted after the command name, which may hold spaces.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(boot)) return undefined;
    return (boot + ticks / 100) * 1000; // USER_HZ is 100 on every Linux ABI Node runs on
  } catch {
    return undefined;
  }
}

function holderIsAlive(holder: LockHolder, dir: string): boolean {
  if (holder.pid === process.pid) return held.has(dir);
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const started = processStartedAt(holder.pid);
  // A few seconds of slack: tick rounding and clock adjustments.
  return started === undefined || started <= Date.parse(holder.startedAt) + 5000;
}

function describe(holder: LockHolder): string {
  return `pid ${holder.pid}, started ${holder.startedAt}${holder.command ? `: ${holder.command.slice(0, 200)}` : ''}`;
}

/** Takes the data directory's lock, or refuses (MDL_CONFIG, one line) while another process holds it. */
export function lockDataDirectory(dir: string): DataDirectoryLock {
  const file = join(dir, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    command: process.argv
      .slice(1)
      .map((a) => a.replace(/[\r\n]/g, ' '))
      .join(' '),
  };
  const draft = join(dir, `${LOCK_FILE}.${process.pid}.${Date.now()}`);
  const grave = `${draft}.stale`;
  try {
    writeFileSync(draft, `${holder.pid}\n${holder.startedAt}\n${holder.command}\n`, { mode: PRIVATE_FILE });
  } catch (error) {
    refuse(`cannot write in ${dir} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let tookOver: LockHolder | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) {
          refuse(`cannot take the lock ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        }
      }
      const seen = readText(file);
      const other = readHolder(file);
      if (other && holderIsAlive(other, dir)) {
        const by = other.pid === process.pid ? 'a node of this very process' : 'another medledger process';
        refuse(
          `${dir} is in use by ${by} (${describe(other)}); stop it first, or start with another --data-dir`,
        );
      }
      // Stale (or unreadable: a lock is written whole, so only something else could have left it): set aside
      // by an atomic rename, then checked to be what was judged stale — not a lock another start took meanwhile,
      // which is put back (the next round then refuses).
      tookOver = other ?? { pid: 0, startedAt: 'unknown', command: 'unreadable lock file' };
      try {
        renameSync(file, grave);
      } catch {
        continue; // gone already: try again
      }
      if (readText(grave) !== seen) {
        try {
          linkSync(grave, file);
        } catch {
          // another start holds it by now: the next round sees it
        }
      }
      rmSync(grave, { force: true });
    }
  } finally {
    rmSync(draft, { force: true });
  }
  held.set(dir, holder);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const [d, h] of held) removeOwnLock(join(d, LOCK_FILE), h);
    });
  }
  return {
    file,
    ...(tookOver ? { tookOver } : {}),
    release() {
      if (held.get(dir) !== holder) return;
      held.delete(dir);
      removeOwnLock(file, holder);
    },
  };
}

/** The line a start prints when it took over a stale lock. */
export function staleLockNotice(lock: DataDirectoryLock): string | undefined {
  if (!lock.tookOver) return undefined;
  return `medledger: took over the lock of ${lock.file}: its process is gone (${describe(lock.tookOver)})`;
}
