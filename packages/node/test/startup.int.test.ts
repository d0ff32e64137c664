/**
 * Start-up as an operator sees it, on a real `medledger start` process run as installed (free ports, its own
 * data directory), in place with its allocator settings:
 * nothing on stderr, no line per request on the console at `info`, one line per request in the access log with
 * routes instead of URLs, the embedded chain on the configured port; a second start or a reindex on the same
 * data directory refused with one line naming the first process, which goes on serving; SIGTERM stops it and
 * releases the lock. Then the lock itself: a stale one (its process gone) is taken over and said so, a live
 * one is not, and a chain port in use is refused.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedChain } from '@medledger/ledger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_MALLOC_SETTINGS } from '../src/allocatorTuning.js';
import { LOCK_FILE, lockDataDirectory, staleLockNotice } from '../src/dataDirectory.js';
import { until } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** The installed command (the compiled code, built by `npm ci`), as an operator runs it. */
const BIN = fileURLToPath(new URL('../bin/medledger.js', import.meta.url));
// The default log level (info), whatever the caller's environment says.
const { MEDLEDGER_LOG_LEVEL: _level, ...inherited } = process.env;
const ENV = { ...inherited, MEDLEDGER_KEYSTORE_PASSPHRASE: 'start-up test passphrase' };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

type Cli = ChildProcess & { out: string; err: string; closed: Promise<number | null> };

/**
 * `medledger <args>` from the source, or as installed; `closed` resolves with the exit code once its output is
 * all read.
 */
function cli(args: string[], from: 'source' | 'installed' = 'source'): Cli {
  const entry = from === 'source' ? ['--conditions=source', '--import', 'tsx', ENTRY] : [BIN];
  const child = spawn(process.execPath, [...entry, ...args], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as Cli;
  child.out = '';
  child.err = '';
  child.closed = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  child.stdout!.on('data', (d) => {
    child.out += d;
  });
  child.stderr!.on('data', (d) => {
    child.err += d;
  });
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

/** A process that has exited: its pid names no one (until the system hands it out again, much later). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await exited(child);
  return child.pid!;
}

describe('medledger start', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'medledger-startup-'));
  const dataDir = join(scratch, 'node');
  const accessLog = join(scratch, 'logs', 'access.log');
  let node: Cli;
  let url = '';
  let chainPort = 0;

  beforeAll(async () => {
    const port = await freePort();
    chainPort = await freePort();
    node = cli(
      [
        'start',
        '--data-dir',
        dataDir,
        '--port',
        String(port),
        '--chain-port',
        String(chainPort),
        '--access-log',
        accessLog,
      ],
      'installed',
    );
    url = await until(
      'the node to be ready',
      async () => {
        if (node.exitCode !== null) throw new Error(`node exited with ${node.exitCode}: ${node.err}`);
        return /FHIR base URL\s+(\S+)/.exec(node.out)?.[1];
      },
      240_000,
    );
  }, 250_000);

  afterAll(async () => {
    if (node.exitCode === null) {
      node.kill('SIGTERM');
      await node.closed;
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it('prints no warning, logs no request on the console, and writes each to the access log without the URL', async () => {
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/metadata`)).status).toBe(200);
    expect((await fetch(`${url}/Patient?name=Smith&birthdate=1970-01-01`, { headers: auth })).status).toBe(
      200,
    );
    expect((await fetch(`${url}/Smith/1234`, { headers: auth })).status).toBe(404);
    const lines = await until('three access log lines', async () => {
      const text = existsSync(accessLog) ? readFileSync(accessLog, 'utf8') : '';
      const all = text.split('\n').filter(Boolean);
      return all.length >= 3 ? all : undefined;
    });
    const clf =
      /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET (\S+) HTTP\/1\.1" (\d{3}) (\d+|-) \d+\.\d$/;
    expect(lines.map((l) => clf.exec(l)?.slice(1, 3))).toEqual([
      ['/fhir/metadata', '200'],
      ['/fhir/Patient', '200'],
      ['/fhir/:type/:id', '404'],
    ]);
    expect(lines.join('\n')).not.toMatch(/Smith|1970|1234|\?/);
    expect(statSync(accessLog).mode & 0o777).toBe(0o600);

    expect(node.err).toBe('');
    expect(node.out).not.toMatch(/incoming request|request completed|Smith/);
  });

  it.runIf(process.platform === 'linux')(
    'runs in place (one process id) with the allocator settings it is measured with',
    () => {
      expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').split('\n')[0]).toBe(String(node.pid));
      const environ = readFileSync(`/proc/${node.pid}/environ`, 'utf8').split('\0');
      for (const [name, value] of Object.entries(NODE_MALLOC_SETTINGS))
        expect(environ).toContain(`${name}=${value}`);
    },
  );

  it('runs the embedded chain on the configured port', async () => {
    expect(node.out).toContain(`embedded chain at http://127.0.0.1:${chainPort}`);
    const res = await fetch(`http://127.0.0.1:${chainPort}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
    });
    expect(((await res.json()) as { result: string }).result).toMatch(/^0x[0-9a-f]+$/);
  });

  it('refuses a second start and a reindex on the same data directory, naming the running node', async () => {
    const lock = readFileSync(join(dataDir, LOCK_FILE), 'utf8').split('\n');
    expect(lock[0]).toBe(String(node.pid));
    const others = [
      cli(['start', '--data-dir', dataDir, '--port', '0']),
      cli(['reindex', '--data-dir', dataDir]),
    ];
    const codes = await Promise.all(others.map((c) => c.closed));
    for (const [i, second] of others.entries()) {
      expect(codes[i], second.err).toBe(2);
      const refusal = second.err.trim().split('\n');
      expect(refusal).toHaveLength(1);
      expect(refusal[0]).toContain(
        `${dataDir} is in use by another medledger process (pid ${node.pid}, started ${lock[1]}: `,
      );
      expect(refusal[0]).toMatch(/bin\/medledger\.js start --data-dir/);
    }
    // The refusals changed nothing: the first node serves, and still holds its lock.
    expect((await fetch(`${url.replace(/\/fhir$/, '')}/healthz`)).status).toBe(200);
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').split('\n')[0]).toBe(String(node.pid));
  }, 120_000);

  it('refuses a chain port already in use with one line', async () => {
    const chain = new EmbeddedChain({ dataDir: join(scratch, 'other'), port: chainPort });
    await expect(chain.start()).rejects.toMatchObject({
      code: 'MDL_CONFIG',
      message: `embedded chain: port ${chainPort} on 127.0.0.1 is already in use; choose another chain port or stop what listens there`,
    });
    expect(chain.running).toBe(false);
  });

  it('stops on SIGTERM and releases the data directory', async () => {
    node.kill('SIGTERM');
    expect(await node.closed).toBe(0);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  }, 60_000);
});

describe('the data directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'medledger-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, LOCK_FILE);

  it('takes over a stale lock, saying whose it was', async () => {
    const pid = await deadPid();
    writeFileSync(file, `${pid}\n2026-01-02T03:04:05.000Z\nmedledger start\n`);
    const lock = lockDataDirectory(dir);
    expect(lock.tookOver).toEqual({ pid, startedAt: '2026-01-02T03:04:05.000Z', command: 'medledger start' });
    expect(staleLockNotice(lock)).toBe(
      `medledger: took over the lock of ${file}: its process is gone (pid ${pid}, started 2026-01-02T03:04:05.000Z: medledger start)`,
    );
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(String(process.pid));
    // A second start in this very process is refused as well.
    expect(() => lockDataDirectory(dir)).toThrow(/in use by a node of this very process/);
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('leaves a live process’s lock alone, and takes over an unreadable one', async () => {
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const content = `${live.pid}\n${new Date().toISOString()}\nmedledger start --data-dir x\n`;
      writeFileSync(file, content);
      expect(() => lockDataDirectory(dir)).toThrow(
        new RegExp(`in use by another medledger process \\(pid ${live.pid}, started `),
      );
      expect(readFileSync(file, 'utf8')).toBe(content);
    } finally {
      live.kill('SIGKILL');
      await exited(live);
    }
    writeFileSync(file, 'garbage');
    const lock = lockDataDirectory(dir);
    expect(lock.tookOver?.command).toBe('unreadable lock file');
    lock.release();
  });
});
