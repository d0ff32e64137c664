// deploySuite against a fresh anvil chain, and the constructors' guards (`medledger consortium deploy`, which
// calls it from a shell, is tested with the consortium walk-through in packages/node).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Abi, BaseError, decodeErrorResult, type Hex, toHex, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abiHash,
  consentManagerAbi,
  consortiumRegistryAbi,
  DEFAULT_BREAK_GLASS_DURATION_CAP,
  DEPLOYMENT_FORMAT,
  deploySuite,
  readDeployment,
  suiteArtifacts,
} from '../src/index.js';
import { type Chain, startAnvil } from './helpers/anvil.js';
import { artifactsForRun } from './helpers/fixture.js';

let chain: Chain;
let dir: string;

beforeAll(async () => {
  chain = await startAnvil();
  dir = await mkdtemp(join(tmpdir(), 'medledger-deploy-'));
});
afterAll(async () => {
  await chain?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('deploySuite', () => {
  it('deploys the four contracts and writes a deployment file the node can read back', async () => {
    const outFile = join(dir, 'nested', 'deployment.json');
    const admin = chain.account(5).address;
    const deployment = await deploySuite({
      rpcUrl: chain.rpcUrl,
      account: chain.account(0),
      admin,
      breakGlassDurationCap: 900,
      outFile,
      transport: chain.transport,
    });
    expect(deployment.format).toBe(DEPLOYMENT_FORMAT);
    expect(deployment.chainId).toBe(31337);
    expect(deployment.admin).toBe(admin);
    expect(Object.keys(deployment.contracts)).toEqual([
      'ConsortiumRegistry',
      'ConsentManager',
      'RecordRegistry',
      'AuditAnchor',
    ]);
    for (const [name, entry] of Object.entries(deployment.contracts)) {
      const code = await chain.publicClient.getCode({ address: entry.address });
      expect(code && code.length > 2, name).toBe(true);
      expect(entry.abiHash).toBe(abiHash(suiteArtifacts[name as keyof typeof suiteArtifacts].abi));
    }
    expect(BigInt(deployment.blockNumber)).toBe(await chain.publicClient.getBlockNumber());
    expect(await readDeployment(outFile)).toEqual(deployment);
    const registry = deployment.contracts.ConsortiumRegistry.address;
    const governor = await chain.publicClient.readContract({
      address: registry,
      abi: consortiumRegistryAbi,
      functionName: 'GOVERNOR_ROLE',
    });
    expect(
      await chain.publicClient.readContract({
        address: registry,
        abi: consortiumRegistryAbi,
        functionName: 'hasRole',
        args: [governor, admin],
      }),
    ).toBe(true);
    expect(
      await chain.publicClient.readContract({
        address: deployment.contracts.ConsentManager.address,
        abi: consentManagerAbi,
        functionName: 'breakGlassDurationCap',
      }),
    ).toBe(900);
  });

  it('refuses deployment files of another format or built from other ABIs', async () => {
    const file = join(dir, 'deployment.json');
    const deployment = await deploySuite({ rpcUrl: chain.rpcUrl, account: chain.account(0), outFile: file });
    expect(deployment.breakGlassDurationCap).toBe(DEFAULT_BREAK_GLASS_DURATION_CAP);
    const tampered = structuredClone(deployment);
    tampered.contracts.AuditAnchor.abiHash = toHex(1, { size: 32 });
    await writeFile(file, JSON.stringify(tampered));
    await expect(readDeployment(file)).rejects.toThrow('AuditAnchor was deployed from a different ABI');
    await writeFile(file, JSON.stringify({ ...deployment, format: 'other' }));
    await expect(readDeployment(file)).rejects.toThrow('not a medledger contracts deployment');
    const { RecordRegistry: _, ...missing } = deployment.contracts;
    await writeFile(file, JSON.stringify({ ...deployment, contracts: missing }));
    await expect(readDeployment(file)).rejects.toThrow('RecordRegistry missing');
  });

  it('fails loudly when a deployment transaction reverts', async () => {
    await expect(
      deploySuite({
        rpcUrl: chain.rpcUrl,
        account: chain.account(0),
        artifacts: { ...suiteArtifacts, RecordRegistry: { abi: [], bytecode: '0x60006000fd' } },
      }),
    ).rejects.toThrow();
  });
});

describe('constructors', () => {
  const revertName = async (abi: Abi, bytecode: Hex, args: readonly unknown[]) => {
    const wallet = chain.wallet(chain.account(0));
    const error = await wallet
      .deployContract({ abi, bytecode, args, chain: wallet.chain, account: chain.account(0) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BaseError);
    const withData = (error as BaseError).walk((e) => typeof (e as { data?: unknown }).data === 'string') as {
      data: Hex;
    } | null;
    return decodeErrorResult({ abi, data: withData!.data }).errorName;
  };

  it('refuse a zero admin and a zero break-glass cap', async () => {
    const artifacts = artifactsForRun();
    expect(
      await revertName(consortiumRegistryAbi, artifacts.ConsortiumRegistry.bytecode, [zeroAddress]),
    ).toBe('ZeroAccount');
    expect(
      await revertName(consentManagerAbi, artifacts.ConsentManager.bytecode, [
        chain.account(1).address,
        chain.account(0).address,
        0,
      ]),
    ).toBe('InvalidDurationCap');
  });
});
