// Starts a private anvil chain for one test file: a child process on a free 127.0.0.1 port, killed when
// the file is done. Accounts come from anvil's well-known development mnemonic (never real keys).
// When MEDLEDGER_COVERAGE_DIR is set, every call and transaction is also traced for the coverage report.

import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  custom,
  type EIP1193RequestFn,
  http,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { type HDAccount, mnemonicToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { CoverageRecorder } from './coverageRecorder.js';

const require = createRequire(import.meta.url);

/** The platform binary @foundry-rs/anvil installs (its bin.mjs wrapper would add a process in between). */
function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const suffix = process.platform === 'win32' ? '.exe' : '';
  const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
  return join(dirname(pkg), 'bin', `anvil${suffix}`);
}

/** anvil's public development mnemonic. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

export interface Chain {
  rpcUrl: string;
  transport: Transport;
  publicClient: PublicClient;
  testClient: TestClient;
  wallet(account: HDAccount): WalletClient;
  account(index: number): HDAccount;
  stop(): Promise<void>;
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
        else reject(new Error('no port'));
      });
    });
  });
}

async function waitForRpc(rpcUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}`);
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('anvil did not start within 20 s');
}

export async function startAnvil(): Promise<Chain> {
  const coverageDir = process.env.MEDLEDGER_COVERAGE_DIR;
  const port = await freePort();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--hardfork', 'prague', '--silent'];
  // Unoptimised coverage builds of the registry exceed the 24 KiB limit.
  if (coverageDir) args.push('--disable-code-size-limit', '--steps-tracing');
  if (process.env.MEDLEDGER_STEPS_TRACING) args.push('--steps-tracing');
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const rpcUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForRpc(rpcUrl, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }

  const base = http(rpcUrl, { retryCount: 0 })({ chain: foundry });
  const recorder = coverageDir ? new CoverageRecorder(rpcUrl, coverageDir) : undefined;
  const request: EIP1193RequestFn = recorder
    ? ((async (args: { method: string; params?: unknown }) => {
        await recorder.before(args.method, args.params);
        const result = await base.request(args as never);
        await recorder.after(args.method, result);
        return result;
      }) as EIP1193RequestFn)
    : base.request;
  const transport = custom({ request }, { retryCount: 0 });

  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 50 });
  const testClient = createTestClient({ chain: foundry, mode: 'anvil', transport });
  return {
    rpcUrl,
    transport,
    publicClient: publicClient as PublicClient,
    testClient: testClient as TestClient,
    wallet: (account) => createWalletClient({ account, chain: foundry, transport }),
    account: (index) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }),
    async stop() {
      await recorder?.flush();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
