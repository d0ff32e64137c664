/**
 * The embedded ledger: an anvil child process (the binary shipped in @foundry-rs/anvil) bound to 127.0.0.1,
 * with its state in `<dataDir>/chain/state.json`. It is the single-machine default; a consortium runs a real
 * EVM network (Besu / Quorum QBFT) and the node talks to it through LedgerClient alone.
 *
 * - `--state` loads the file at start and dumps it on a graceful exit; `--state-interval 1` also dumps it every
 *   second, so a SIGKILL (or power loss) loses at most about one second of blocks. Whatever is lost is put
 *   back by the anchorer's reconciliation (it re-anchors batches whose blocks vanished).
 * - Interval mining (`--block-time 1`): automine stalls with thousands of in-flight transactions
 *   (foundry-rs/foundry#10122), and a block per second is what a QBFT network gives anyway.
 * - A fixed chain id (EMBEDDED_CHAIN_ID), so signatures over (root, chain id, contract) stay valid across
 *   restarts.
 * - anvil does not write its dump atomically; a file that does not parse is set aside and the last good copy
 *   (`state.prev.json`, refreshed at every start) is loaded instead, or — failing that — an empty chain, and
 *   `start()` says so.
 *
 * - The chain directory is 0700 and anvil runs under umask 077: its state files are private to the node's account.
 *
 * The dev accounts (anvil's public test mnemonic) are funded with test ether on this chain only: account 0 is
 * the deployer and governance admin of the embedded consortium. Never use them on a shared network.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { type Address, type Hex, toHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

const require = createRequire(import.meta.url);

/** anvil's public development mnemonic: test money only, known to everyone. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** The embedded chain's id: "mdl" in ASCII. */
export const EMBEDDED_CHAIN_ID = 0x6d646c;

/** A dev account of the embedded chain (address and 32-byte secp256k1 private key). */
export function devAccount(index: number): { address: Address; privateKey: Uint8Array } {
  const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
  const key = account.getHdKey().privateKey;
  if (!key) throw new Error('dev account without a private key');
  return { address: account.address, privateKey: Uint8Array.from(key) };
}

export interface EmbeddedChainOptions {
  /** The node's data directory; the chain keeps its files in `<dataDir>/chain/`. */
  dataDir: string;
  /**
   * Port on 127.0.0.1; a free one is picked (once, then kept across restarts of this object) when absent. A
   * port given here that another process already listens on is refused (MDL_CONFIG).
   */
  port?: number;
  /** Seconds between blocks (default 1; fractions such as 0.25 work). */
  blockTime?: number;
  /** Seconds between state dumps (default 1). */
  stateInterval?: number;
  /** How long `start()` waits for JSON-RPC (default 20 s). */
  startTimeoutMs?: number;
  /** Called when anvil exits without being asked to (exit code or signal, last lines of its stderr). */
  onCrash?: (info: ChainExit) => void;
  /** Path of the anvil binary (default: the platform package of @foundry-rs/anvil). */
  anvilPath?: string;
}

export interface ChainExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface ChainStart {
  rpcUrl: string;
  /** How the state was found: `loaded` (state.json), `fresh` (none yet), `backup` (state.json was damaged, the
   * previous good copy was loaded), `lost` (damaged and no usable copy: an empty chain). */
  state: 'loaded' | 'fresh' | 'backup' | 'lost';
}

/** The platform binary @foundry-rs/anvil installs (its bin.mjs wrapper would add a process in between). */
export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const suffix = process.platform === 'win32' ? '.exe' : '';
  const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
  return join(dirname(pkg), 'bin', `anvil${suffix}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}

/** Refuses a configured port another process listens on (anvil would exit, or another chain would answer). */
async function assertPortFree(port: number): Promise<void> {
  const inUse = await new Promise<boolean>((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolveFree(error.code === 'EADDRINUSE'));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(false)));
  });
  if (inUse) {
    throw new MdlError(
      MdlErrorCode.Config,
      `embedded chain: port ${port} on 127.0.0.1 is already in use; choose another chain port or stop what listens there`,
    );
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function parses(file: string): Promise<boolean> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return typeof json === 'object' && json !== null;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EmbeddedChain {
  readonly dataDir: string;
  readonly chainDir: string;
  /** The file anvil loads and dumps. */
  readonly stateFile: string;
  readonly chainId = EMBEDDED_CHAIN_ID;
  private readonly options: EmbeddedChainOptions;
  private port: number | undefined;
  private child: ChildProcess | undefined;
  private stopping = false;
  private stderr = '';
  private exit: ChainExit | undefined;

  constructor(options: EmbeddedChainOptions) {
    this.options = options;
    this.dataDir = options.dataDir;
    this.chainDir = join(options.dataDir, 'chain');
    this.stateFile = join(this.chainDir, 'state.json');
    this.port = options.port;
  }

  /** JSON-RPC URL (valid once started). */
  get rpcUrl(): string {
    if (this.port === undefined) throw new MdlError(MdlErrorCode.Unavailable, 'embedded chain not started');
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How the last run ended when it ended on its own; undefined while running or after a requested stop. */
  get crashed(): ChainExit | undefined {
    return this.exit;
  }

  /** OS process id of anvil (tests use it to simulate a crash). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<ChainStart> {
    if (this.running) return { rpcUrl: this.rpcUrl, state: 'loaded' };
    await mkdir(this.chainDir, { recursive: true, mode: 0o700 });
    const state = await this.prepareStateFile();
    if (this.options.port !== undefined) await assertPortFree(this.options.port);
    this.port ??= await freePort();
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--chain-id',
      String(EMBEDDED_CHAIN_ID),
      '--hardfork',
      'prague',
      '--block-time',
      String(this.options.blockTime ?? 1),
      '--state',
      this.stateFile,
      '--state-interval',
      String(this.options.stateInterval ?? 1),
      '--silent',
    ];
    this.stopping = false;
    this.exit = undefined;
    this.stderr = '';
    // Through sh only to set a private umask: the state files anvil dumps are the node's alone (0600). `exec`
    // keeps anvil our direct child, with the same pid.
    const child = spawn(
      'sh',
      ['-c', 'umask 077 && exec "$0" "$@"', this.options.anvilPath ?? anvilBinary(), ...args],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.child = child;
    this.watch(child);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child || this.stopping) return;
      this.exit = { code, signal, stderr: this.stderr.trim() };
      this.options.onCrash?.(this.exit);
    });
    child.on('error', () => undefined); // a spawn failure also ends in 'exit' or is caught by waitForRpc
    try {
      await this.waitForRpc(child);
    } catch (error) {
      this.stopping = true;
      child.kill('SIGKILL');
      throw error;
    }
    return { rpcUrl: this.rpcUrl, state };
  }

  /**
   * anvil must not outlive the node: after a SIGKILL of the node an orphaned anvil would keep dumping into the
   * same state file while the restarted node starts another one. A tiny POSIX sh watchdog waits on a pipe from
   * this process; the kernel closes the pipe when this process exits, however it exits, and the watchdog then
   * stops anvil with SIGTERM (so it dumps its state). anvil stays our direct child, so its crashes are seen.
   */
  private watch(child: ChildProcess): void {
    if (child.pid === undefined) return;
    const watchdog = spawn('sh', ['-c', 'cat >/dev/null; kill -TERM "$0" 2>/dev/null', String(child.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    watchdog.on('error', () => undefined);
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    // When anvil ends normally, end the watchdog too (closing the pipe; anvil is already gone).
    child.once('exit', () => watchdog.stdin?.end());
  }

  /**
   * Keeps the last state file that parses as `state.prev.json`; sets a damaged one aside. anvil refuses to
   * start from a file it cannot parse, and a SIGKILL during a dump can leave one behind.
   */
  private async prepareStateFile(): Promise<ChainStart['state']> {
    const prev = join(this.chainDir, 'state.prev.json');
    if (!(await exists(this.stateFile))) return 'fresh';
    if (await parses(this.stateFile)) {
      await copyFile(this.stateFile, prev);
      return 'loaded';
    }
    await rename(this.stateFile, join(this.chainDir, `state.damaged-${Date.now()}.json`));
    if (await parses(prev)) {
      await copyFile(prev, this.stateFile);
      return 'backup';
    }
    return 'lost';
  }

  private async waitForRpc(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new MdlError(
          MdlErrorCode.Unavailable,
          `embedded chain: anvil exited at start (${child.exitCode ?? child.signalCode}): ${lastLine(this.stderr)}`,
        );
      }
      try {
        const response = await fetch(this.rpcUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        });
        if (response.ok) {
          const body = (await response.json()) as { result?: Hex };
          if (body.result === toHex(EMBEDDED_CHAIN_ID)) return;
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new MdlError(MdlErrorCode.Unavailable, 'embedded chain: anvil did not answer JSON-RPC in time');
  }

  /**
   * Stops anvil gracefully (SIGTERM: it dumps its state, then exits); SIGKILL after `timeoutMs`. Resolves
   * once the process is gone.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills anvil at once, without a final dump: what a crash or power loss does. For tests and drills. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300) || 'no output';
}
