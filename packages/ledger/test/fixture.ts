// A node's ledger side as the tests need it: an embedded chain in a temporary data directory, the suite
// deployed by ensureDeployment, a fresh node account (random key, funded by bootstrap) and composite signer.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrganisationKind } from '@medledger/contracts';
import { CompositeSigner } from '@medledger/crypto';
import { type Hex, keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type EnsureDeploymentResult, ensureDeployment } from '../src/bootstrap.js';
import { devAccount, EmbeddedChain } from '../src/EmbeddedChain.js';
import { LedgerClient } from '../src/LedgerClient.js';

export const hospital = {
  kind: OrganisationKind.Hospital,
  endpoint: 'https://node.hospital.example',
  keyBundleCommitment: keccak256(toHex('key bundle of the hospital')) as Hex,
  keyBundleUri: 'https://node.hospital.example/.well-known/medledger/keys',
};

export interface NodeLedger {
  dataDir: string;
  chain: EmbeddedChain;
  nodeKey: Uint8Array;
  signer: CompositeSigner;
  boot: EnsureDeploymentResult;
  ledger: LedgerClient;
  deploymentFile: string;
  /** Re-runs bootstrap and reconnects (after a chain restart). */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

export async function tempDir(prefix = 'mdl-ledger-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startNodeLedger(dataDir?: string): Promise<NodeLedger> {
  const dir = dataDir ?? (await tempDir());
  // Quarter-second blocks keep the suite short; the node's default is one second.
  const chain = new EmbeddedChain({ dataDir: dir, blockTime: 0.25 });
  await chain.start();
  const nodeKey = new Uint8Array(randomBytes(32));
  const deploymentFile = join(dir, 'chain', 'deployment.json');
  const bootstrap = () =>
    ensureDeployment({
      rpcUrl: chain.rpcUrl,
      deploymentFile,
      deployerKey: devAccount(0).privateKey,
      nodeAccount: privateKeyToAccount(toHex(nodeKey)).address,
      organisation: hospital,
    });
  const node: NodeLedger = {
    dataDir: dir,
    chain,
    nodeKey,
    signer: new CompositeSigner(new Uint8Array(randomBytes(64))),
    deploymentFile,
    boot: await bootstrap(),
    ledger: undefined as unknown as LedgerClient,
    async reconnect() {
      node.boot = await bootstrap();
      node.ledger = await LedgerClient.connect({
        rpcUrl: chain.rpcUrl,
        deployment: node.boot.deployment,
        privateKey: nodeKey,
      });
    },
    async close() {
      await chain.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  node.ledger = await LedgerClient.connect({
    rpcUrl: chain.rpcUrl,
    deployment: node.boot.deployment,
    privateKey: nodeKey,
  });
  return node;
}

/** A distinct 32-byte leaf hash per index. */
export function leafOf(i: number, salt = 'leaf'): Uint8Array {
  return new Uint8Array(Buffer.from(keccak256(toHex(`${salt}-${i}`)).slice(2), 'hex'));
}
