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
import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats, statSync } from 'node:fs';
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
