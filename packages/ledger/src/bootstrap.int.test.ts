import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Deployment,
  medledgerErrorsAbi,
  prescriptionsAbi,
  readDeployment,
  Schedule,
} from '@medledger/contracts';
import { createPublicClient, http, keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hospital, type NodeLedger, startNodeLedger, tempDir } from '../test/fixture.js';
import { ensureDeployment } from './bootstrap.js';
import { devAccount } from './EmbeddedChain.js';

let node: NodeLedger;
beforeAll(async () => {
  node = await startNodeLedger();
});
afterAll(async () => {
  await node?.close();
});

const nodeAccount = () => privateKeyToAccount(toHex(node.nodeKey)).address;

describe('ensureDeployment on the embedded chain', () => {
  it('deploys on first start, admits and funds the node account', async () => {
    const first = node.boot;
    expect(first.mode).toBe('embedded');
    expect(first.action).toBe('deployed');
    expect(first.admitted).toBe(true);
    expect(first.nodeAccountAdded).toBe(true);
    expect(first.organisationId).toBe(1);
    expect(first.funded).toBeGreaterThan(0n);
    expect(await node.ledger.organisationId()).toBe(1);
  });

  it('reuses the deployment on the next start and changes nothing', async () => {
    const again = await ensureDeployment({
      rpcUrl: node.chain.rpcUrl,
      deploymentFile: node.deploymentFile,
      deployerKey: devAccount(0).privateKey,
      nodeAccount: nodeAccount(),
      organisation: hospital,
    });
    expect(again).toMatchObject({ action: 'reused', admitted: false, nodeAccountAdded: false, funded: 0n });
    expect(again.deployment).toEqual(node.boot.deployment);
    expect(again.organisationId).toBe(1);
  });

  it('redeploys, and says so, when the embedded chain lost its state', async () => {
    await node.chain.stop();
    await rm(join(node.dataDir, 'chain', 'state.json'));
    await rm(join(node.dataDir, 'chain', 'state.prev.json'), { force: true });
    expect((await node.chain.start()).state).toBe('fresh');
    const after = await ensureDeployment({
      rpcUrl: node.chain.rpcUrl,
      deploymentFile: node.deploymentFile,
      deployerKey: devAccount(0).privateKey,
      nodeAccount: nodeAccount(),
      organisation: hospital,
    });
    expect(after.action).toBe('redeployed');
    expect(after.reason).toMatch(/no code at the ConsortiumRegistry address .* lost its state/);
    expect(after.admitted).toBe(true);
    expect(after.nodeAccountAdded).toBe(true);
    expect(after.funded).toBeGreaterThan(0n);
  });

  it('adds Prescriptions to a data directory deployed before it existed, against the same registry', async () => {
    const before = (await readDeployment(node.deploymentFile)) as Deployment;
    const { Prescriptions: _, ...older } = before.contracts;
    await writeFile(node.deploymentFile, JSON.stringify({ ...before, contracts: older }));
    const options = {
      rpcUrl: node.chain.rpcUrl,
      deploymentFile: node.deploymentFile,
      deployerKey: devAccount(0).privateKey,
      nodeAccount: nodeAccount(),
      organisation: hospital,
    };
    const upgraded = await ensureDeployment(options);
    expect(upgraded).toMatchObject({
      action: 'reused',
      added: ['Prescriptions'],
      admitted: false,
      nodeAccountAdded: false,
    });
    expect(upgraded.deployment.contracts).toMatchObject(older);
    expect(upgraded.deployment.blockNumber).toBe(before.blockNumber);
    const prescriptions = upgraded.deployment.contracts.Prescriptions!;
    expect(prescriptions.address).not.toBe(before.contracts.Prescriptions?.address);
    expect(await readDeployment(node.deploymentFile)).toEqual(upgraded.deployment);
    // It answers, and its checks go to the existing registry: the node account is not a practitioner.
    const client = createPublicClient({ transport: http(node.chain.rpcUrl) });
    expect(
      await client.readContract({
        address: prescriptions.address,
        abi: prescriptionsAbi,
        functionName: 'scheduleRule',
        args: [Schedule.II],
      }),
    ).toMatchObject({ maxRefills: 0, allowed: true });
    const refused = await client
      .simulateContract({
        address: prescriptions.address,
        abi: [...prescriptionsAbi, ...medledgerErrorsAbi],
        functionName: 'prescribe',
        args: [
          keccak256(toHex('prescription')),
          {
            notBefore: 0,
            notAfter: 2 ** 39,
            fillsAllowed: 1,
            quantityAllowed: 1,
            minInterval: 0,
            schedule: 0,
          },
        ],
        account: nodeAccount(),
      })
      .catch((e: unknown) => e);
    expect(String(refused)).toContain('NotLicensedPrescriber');
    // The next start finds it complete.
    expect(await ensureDeployment(options)).toMatchObject({ action: 'reused', added: [] });
  });

  it('refuses a deployment file from other ABIs or of another format with MDL_CONFIG', async () => {
    const dir = await tempDir();
    const file = join(dir, 'deployment.json');
    const tampered = structuredClone(node.boot.deployment);
    tampered.contracts.RecordRegistry.abiHash = `0x${'00'.repeat(32)}`;
    await writeFile(file, JSON.stringify(tampered));
    const options = {
      rpcUrl: node.chain.rpcUrl,
      deploymentFile: file,
      deployerKey: devAccount(0).privateKey,
      nodeAccount: nodeAccount(),
      organisation: hospital,
    };
    await expect(ensureDeployment(options)).rejects.toMatchObject({ code: 'MDL_CONFIG' });
    await writeFile(file, '{"format":"something else"}');
    await expect(ensureDeployment(options)).rejects.toMatchObject({ code: 'MDL_CONFIG' });
    await rm(dir, { recursive: true, force: true });
  });
});

describe('ensureDeployment on an external chain', () => {
  it('accepts an active node account without deploying anything', async () => {
    const result = await ensureDeployment({
      rpcUrl: node.chain.rpcUrl,
      deploymentFile: node.deploymentFile,
      nodeAccount: nodeAccount(),
      organisation: hospital,
    });
    expect(result).toMatchObject({ mode: 'external', action: 'reused', organisationId: 1, funded: 0n });
  });

  it('accepts a deployment made before Prescriptions, leaving the feature off and the file untouched', async () => {
    const dir = await tempDir();
    const file = join(dir, 'deployment.json');
    const { Prescriptions: _, ...older } = node.boot.deployment.contracts;
    const text = JSON.stringify({ ...node.boot.deployment, contracts: older });
    await writeFile(file, text);
    const result = await ensureDeployment({
      rpcUrl: node.chain.rpcUrl,
      deploymentFile: file,
      nodeAccount: nodeAccount(),
      organisation: hospital,
    });
    expect(result).toMatchObject({ mode: 'external', action: 'reused', added: [] });
    expect(result.deployment.contracts.Prescriptions).toBeUndefined();
    expect(await readFile(file, 'utf8')).toBe(text);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an account that is not an active node account with MDL_CONFIG', async () => {
    const stranger = privateKeyToAccount(toHex(randomBytes(32))).address;
    const error = await ensureDeployment({
      rpcUrl: node.chain.rpcUrl,
      deploymentFile: node.deploymentFile,
      nodeAccount: stranger,
      organisation: hospital,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MDL_CONFIG' });
    expect((error as Error).message).toContain(`account ${stranger} is not an active node account`);
    expect((error as Error).message).not.toContain('\n');
  });

  it('refuses a missing deployment file and a deployment with no code behind it with MDL_CONFIG', async () => {
    const dir = await tempDir();
    await expect(
      ensureDeployment({
        rpcUrl: node.chain.rpcUrl,
        deploymentFile: join(dir, 'missing.json'),
        nodeAccount: nodeAccount(),
        organisation: hospital,
      }),
    ).rejects.toMatchObject({ code: 'MDL_CONFIG', message: expect.stringMatching(/no deployment file/) });
    const elsewhere = structuredClone(node.boot.deployment);
    elsewhere.contracts.AuditAnchor.address = '0x000000000000000000000000000000000000dEaD';
    await writeFile(join(dir, 'elsewhere.json'), JSON.stringify(elsewhere));
    await expect(
      ensureDeployment({
        rpcUrl: node.chain.rpcUrl,
        deploymentFile: join(dir, 'elsewhere.json'),
        nodeAccount: nodeAccount(),
        organisation: hospital,
      }),
    ).rejects.toMatchObject({
      code: 'MDL_CONFIG',
      message: expect.stringMatching(/no code at the AuditAnchor/),
    });
    await rm(dir, { recursive: true, force: true });
  });

  it('maps an unreachable RPC to MDL_UNAVAILABLE', async () => {
    await expect(
      ensureDeployment({
        rpcUrl: 'http://127.0.0.1:1',
        deploymentFile: node.deploymentFile,
        nodeAccount: nodeAccount(),
        organisation: hospital,
      }),
    ).rejects.toMatchObject({ code: 'MDL_UNAVAILABLE' });
  });
});
