/**
 * A consortium on one machine: one shared chain and several organisations' nodes on 127.0.0.1, each with its
 * own data directory, keystore, database and blob store — what `medledger demo` and the multi-node tests run.
 *
 * The chain is an anvil child process (EmbeddedChain, state persisted under `<dir>/chain`). Every node joins it
 * as an external chain with the development governance key (anvil's well-known dev account 0, written to a
 * 0600 file — a published test key, not a secret): the first node deploys the suite, each node admits its
 * own organisation and node account and funds itself. Nodes start one after another so that exactly one
 * of them deploys. A real consortium replaces all of this with its governance admitting members by vote.
 *
 * Limits: development only (the governance key is anvil's); all nodes run in this process, sharing its two
 * cores; each node's bootstrap admin token is generated into its data directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@medledger/crypto';
import { devAccount, EmbeddedChain } from '@medledger/ledger';
import { loadConfig, type OrganisationKindName } from '../config.js';
import { type RunningNode, type StartOptions, startNode } from '../Node.js';

export interface ConsortiumMember {
  /** Short name, also the node's data directory under `<dir>/nodes/`. */
  name: string;
  kind: OrganisationKindName;
}

export interface LocalConsortiumOptions {
  dir: string;
  members: readonly ConsortiumMember[];
  /** Port of the first node; the others follow (0: any free port each). */
  basePort?: number;
  keystorePassphrase: string;
  logLevel?: string;
  /** Hosts rest-hook subscriptions may notify (MEDLEDGER_REST_HOOK_HOSTS), e.g. a test's local receiver. */
  restHookHosts?: string;
  /**
   * The host name the nodes' public URLs carry (default 127.0.0.1, where they listen). `localhost` lets a
   * browser run passkey ceremonies against them: WebAuthn refuses an IP address as relying-party id.
   */
  publicHostname?: string;
  /** TESTS ONLY: seconds between the chain's blocks (default 1, as a QBFT network); tests pass a fraction. */
  blockTime?: number;
  /** TESTS ONLY: what every node is started with (StartOptions). */
  startOptions?: StartOptions;
}

export interface ConsortiumNode extends ConsortiumMember {
  node: RunningNode;
  dataDir: string;
}

export interface LocalConsortium {
  rpcUrl: string;
  deploymentFile: string;
  nodes: ConsortiumNode[];
  stop(): Promise<void>;
}

export async function startLocalConsortium(options: LocalConsortiumOptions): Promise<LocalConsortium> {
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  const chain = new EmbeddedChain({
    dataDir: options.dir,
    ...(options.blockTime ? { blockTime: options.blockTime } : {}),
  });
  const { rpcUrl } = await chain.start();
  const governorKeyFile = join(options.dir, 'chain', 'governor-key');
  writeFileSync(governorKeyFile, `${bytesToHex(devAccount(0).privateKey)}\n`, { mode: 0o600 });
  const deploymentFile = join(options.dir, 'chain', 'deployment.json');

  const nodes: ConsortiumNode[] = [];
  const stop = async () => {
    for (const n of nodes.reverse()) await n.node.stop().catch(() => undefined);
    await chain.stop();
  };
  try {
    for (const [i, member] of options.members.entries()) {
      const dataDir = join(options.dir, 'nodes', member.name);
      const port = options.basePort ? options.basePort + i : 0;
      const config = loadConfig(
        [
          '--data-dir',
          dataDir,
          '--port',
          String(port),
          '--ledger-rpc-url',
          rpcUrl,
          '--deployment-file',
          deploymentFile,
          '--governor-key-file',
          governorKeyFile,
          '--organisation-kind',
          member.kind,
          '--log-level',
          options.logLevel ?? 'warn',
          ...(options.restHookHosts ? ['--rest-hook-hosts', options.restHookHosts] : []),
          // Port 0 stays 0 in the URL: the node puts the port it picks there.
          ...(options.publicHostname ? ['--base-url', `http://${options.publicHostname}:${port}/fhir`] : []),
        ],
        { MEDLEDGER_KEYSTORE_PASSPHRASE: options.keystorePassphrase },
      );
      nodes.push({ ...member, dataDir, node: await startNode(config, options.startOptions) });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { rpcUrl, deploymentFile, nodes, stop };
}
