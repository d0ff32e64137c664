// deploySuite against a fresh anvil chain, and the constructors' guards (`medledger consortium deploy`, which
// calls it from a shell, is tested with the consortium walk-through in packages/node).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Abi, BaseError, decodeErrorResult, type Hex, toHex, zeroAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abiHash,
  completeDeployment,
  consentManagerAbi,
  consortiumRegistryAbi,
  DEFAULT_BREAK_GLASS_DURATION_CAP,
  DEPLOYMENT_FORMAT,
  deploySuite,
  prescriptionsAbi,
  readDeployment,
  Schedule,
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
  it('deploys the five contracts and writes a deployment file the node can read back', async () => {
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
      'Prescriptions',
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

  it('loads a deployment made before Prescriptions existed, and completes it against its registry', async () => {
    const file = join(dir, 'before-prescriptions.json');
    const full = await deploySuite({
      rpcUrl: chain.rpcUrl,
      account: chain.account(0),
      transport: chain.transport,
    });
    const { Prescriptions: _, ...older } = full.contracts;
    const old = { ...full, contracts: older };
    await writeFile(file, JSON.stringify(old));
    const loaded = await readDeployment(file);
    expect(loaded.contracts.Prescriptions).toBeUndefined();
    expect(loaded).toEqual(old);

    const { deployment, added } = await completeDeployment(
      { rpcUrl: chain.rpcUrl, account: chain.account(0), transport: chain.transport, outFile: file },
      loaded,
    );
    expect(added).toEqual(['Prescriptions']);
    expect(deployment.contracts).toMatchObject(older);
    expect(deployment.blockNumber).toBe(old.blockNumber);
    const entry = deployment.contracts.Prescriptions!;
    expect(entry.address).not.toBe(full.contracts.Prescriptions?.address);
    expect(entry.abiHash).toBe(abiHash(prescriptionsAbi));
    expect(await readDeployment(file)).toEqual(deployment);
    // The new contract answers, with the default rules.
    const rule = await chain.publicClient.readContract({
      address: entry.address,
      abi: prescriptionsAbi,
      functionName: 'scheduleRule',
      args: [Schedule.II],
    });
    expect(rule).toEqual({ maxRefills: 0, maxValidity: 90 * 86_400, allowed: true });

    // Complete already: nothing deployed, nothing written.
    const again = await completeDeployment(
      { rpcUrl: chain.rpcUrl, account: chain.account(0), transport: chain.transport },
      deployment,
    );
    expect(again).toEqual({ deployment, added: [] });
    // A deployment of another chain is refused.
    await expect(
      completeDeployment(
        { rpcUrl: chain.rpcUrl, account: chain.account(0), transport: chain.transport },
        { ...old, chainId: 1 },
      ),
    ).rejects.toThrow('the deployment is for chain 1, not 31337');
    // Present but from another ABI: refused like any member.
    await writeFile(
      file,
      JSON.stringify({
        ...deployment,
        contracts: { ...deployment.contracts, Prescriptions: { ...entry, abiHash: toHex(2, { size: 32 }) } },
      }),
    );
    await expect(readDeployment(file)).rejects.toThrow('Prescriptions was deployed from a different ABI');
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
