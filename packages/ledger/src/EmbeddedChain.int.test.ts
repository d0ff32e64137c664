import { readFile, rm, writeFile } from 'node:fs/promises';
import { recordRegistryAbi, recordRegistryBytecode } from '@medledger/contracts';
import { type Address, createPublicClient, createWalletClient, defineChain, http, zeroAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/fixture.js';
import { type ChainExit, devAccount, EMBEDDED_CHAIN_ID, EmbeddedChain } from './EmbeddedChain.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function clients(rpcUrl: string) {
  const chain = defineChain({
    id: EMBEDDED_CHAIN_ID,
    name: 'embedded',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const account = privateKeyToAccount(`0x${Buffer.from(devAccount(0).privateKey).toString('hex')}`);
  return {
    pub: createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 100 }),
    wallet: createWalletClient({ account, chain, transport: http(rpcUrl) }),
  };
}

async function deployOne(rpcUrl: string): Promise<Address> {
  const { pub, wallet } = clients(rpcUrl);
  const hash = await wallet.deployContract({
    abi: recordRegistryAbi,
    bytecode: recordRegistryBytecode,
    args: [zeroAddress],
  });
  const receipt = await pub.waitForTransactionReceipt({ hash });
  return receipt.contractAddress!;
}

async function codeAt(rpcUrl: string, address: Address): Promise<string | undefined> {
  return clients(rpcUrl).pub.getCode({ address });
}

describe('EmbeddedChain', () => {
  it('starts with the fixed chain id, keeps state across a graceful restart, and survives a SIGKILL', async () => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const crashes: ChainExit[] = [];
    const chain = new EmbeddedChain({ dataDir, onCrash: (e) => crashes.push(e) });
    expect((await chain.start()).state).toBe('fresh');
    expect(chain.running).toBe(true);
    expect(await clients(chain.rpcUrl).pub.getChainId()).toBe(EMBEDDED_CHAIN_ID);
    expect(devAccount(0).address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');

    const first = await deployOne(chain.rpcUrl);
    await chain.stop();
    expect(chain.running).toBe(false);
    expect(crashes).toEqual([]);
    const port = chain.rpcUrl;

    // Graceful restart: the dump on exit holds the contract.
    expect((await chain.start()).state).toBe('loaded');
    expect(chain.rpcUrl).toBe(port);
    expect(await codeAt(chain.rpcUrl, first)).toMatch(/^0x[0-9a-f]{10,}/);

    // A crash: the interval dump (every second) holds what was mined more than a second before.
    const second = await deployOne(chain.rpcUrl);
    await new Promise((r) => setTimeout(r, 2_200));
    process.kill(chain.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.signal).toBe('SIGKILL');
    expect(chain.crashed?.signal).toBe('SIGKILL');
    expect(chain.running).toBe(false);

    expect((await chain.start()).state).toBe('loaded');
    expect(chain.crashed).toBeUndefined();
    expect(await codeAt(chain.rpcUrl, first)).toMatch(/^0x[0-9a-f]{10,}/);
    expect(await codeAt(chain.rpcUrl, second)).toMatch(/^0x[0-9a-f]{10,}/);
    await chain.stop();

    // A state file damaged mid-dump: the last good copy (taken at the previous start) is loaded.
    const good = await readFile(chain.stateFile, 'utf8');
    await writeFile(chain.stateFile, good.slice(0, good.length / 2));
    expect((await chain.start()).state).toBe('backup');
    expect(await codeAt(chain.rpcUrl, first)).toMatch(/^0x[0-9a-f]{10,}/);
    await chain.stop();
  });

  it('reports a start failure as MDL_UNAVAILABLE', async () => {
    const dataDir = await tempDir();
    dirs.push(dataDir);
    const chain = new EmbeddedChain({ dataDir, anvilPath: '/bin/false' });
    await expect(chain.start()).rejects.toMatchObject({ code: 'MDL_UNAVAILABLE' });
  });
});
