/**
 * The data directory is private to the node's account at every start, even when it existed before with loose
 * modes (an operator's `mkdir`, a restore, an older version): a real node restarted on a directory whose every
 * file was made world-writable comes up with 0700 directories and 0600 files, keeps them so for what it writes
 * next (blobs, chain state), leaves a symbolic link's target alone, and refuses one line when something in it
 * belongs to another account.
 */
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { secureDataDirectory } from '../src/dataDirectory.js';
import { loadConfig, startNode } from '../src/index.js';
import { startTestNode } from './helpers.js';

/** Every entry under `dir` (symbolic links not followed) with its permission bits, as "0600 path". */
function modes(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const stats = lstatSync(path);
      if (stats.isSymbolicLink()) continue;
      out.push(`0${(stats.mode & 0o7777).toString(8)} ${path.slice(dir.length)}`);
      if (stats.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out;
}

const loosen = (dir: string) => {
  for (const entry of modes(dir)) {
    const path = join(dir, entry.slice(entry.indexOf(' ') + 1));
    chmodSync(path, statSync(path).isDirectory() ? 0o777 : 0o666);
  }
  chmodSync(dir, 0o777);
};

const notPrivate = (dir: string) =>
  modes(dir).filter((m) => !m.startsWith('0700 ') && !m.startsWith('0600 '));

describe('the data directory', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'medledger-datadir-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is made private at start: directories 0700, files 0600, symbolic links not followed', () => {
    const dir = join(scratch, 'loose');
    mkdirSync(join(dir, 'db', 'base'), { recursive: true });
    writeFileSync(join(dir, 'db', 'base', 'page'), 'x');
    writeFileSync(join(dir, 'admin-token'), 'x');
    const outside = join(scratch, 'outside.txt');
    writeFileSync(outside, 'not the node’s');
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(dir, 'link'));
    loosen(dir);
    expect(notPrivate(dir)).toHaveLength(4);

    secureDataDirectory(dir);
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expect(modes(dir).sort()).toEqual([
      '0600 /admin-token',
      '0600 /db/base/page',
      '0700 /db',
      '0700 /db/base',
    ]);
    expect((statSync(outside).mode & 0o777).toString(8)).toBe('644');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses with one line when something in it belongs to another account',
    () => {
      const dir = join(scratch, 'foreign');
      mkdirSync(dir);
      writeFileSync(join(dir, 'planted'), 'x');
      chownSync(join(dir, 'planted'), 4242, 4242);
      let message = '';
      try {
        secureDataDirectory(dir);
      } catch (error) {
        message = (error as Error).message;
        expect(error).toMatchObject({ code: 'MDL_CONFIG' });
      }
      expect(message).toMatch(/planted belongs to another account/);
      expect(message.split('\n')).toHaveLength(1);
    },
  );

  it('a node restarted on a world-writable data directory makes it private, and what it writes stays so', async () => {
    const t = await startTestNode({ backend: 'pglite' });
    const { dataDir } = t;
    await t.node.stop();
    loosen(dataDir);
    expect(notPrivate(dataDir).length).toBeGreaterThan(10);

    const node = await startNode(
      loadConfig(['--data-dir', dataDir, '--port', '0'], {
        MEDLEDGER_KEYSTORE_PASSPHRASE: 'test keystore passphrase',
        MEDLEDGER_LOG_LEVEL: 'silent',
      }),
    );
    try {
      expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
      const res = await fetch(`${node.fhirUrl}/Patient`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', gender: 'other' }),
      });
      expect(res.status).toBe(201);
      // Everything, what was there at start and what the node wrote since (the blob just written, the chain
      // state anvil dumps) — but for the relation cache files PGlite rewrites at start with a mode of its own:
      // never writable by others, and unreachable for them through the 0700 directory.
      const loose = notPrivate(dataDir);
      expect(
        loose.every((m) => /^0644 \/db\/.*pg_internal\.init$/.test(m)),
        loose.join(', '),
      ).toBe(true);
      expect(modes(join(dataDir, 'blobs')).some((m) => m.startsWith('0600 '))).toBe(true);
      for (const file of ['keystore.json', 'admin-token']) {
        expect((statSync(join(dataDir, file)).mode & 0o777).toString(8), file).toBe('600');
      }
    } finally {
      await node.stop();
    }
    // And the next start tightens those too.
    secureDataDirectory(dataDir);
    expect(notPrivate(dataDir)).toEqual([]);
    rmSync(dataDir, { recursive: true, force: true });
  }, 240_000);
});
