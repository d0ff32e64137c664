/**
 * docs/consortium.md as a test: three organisations form a consortium on one external chain (anvil, started
 * the way an operator starts any JSON-RPC chain) with the `medledger consortium` commands, called in-process.
 * Governance deploys the contracts; each organisation makes its keystore and join request; a node that is not
 * admitted yet is refused; governance admits the three (by join request), and refuses a second admission of a
 * node account, a key that is not governance, and an organisation nobody is called; the nodes start and see one
 * another by name in the directory; node accounts are added and removed; the lab is suspended (its node is
 * refused at start), then reinstated (it serves again); governance is handed to a timelock, after which the old key
 * can do nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrganisationKind } from '@medledger/contracts';
import { bytesToHex } from '@medledger/crypto';
import { devAccount, EmbeddedChain, ensureDeployment } from '@medledger/ledger';
import { getAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consortiumCommand } from '../src/cli/consortium/consortiumCommand.js';
import { loadConfig } from '../src/config.js';
import { type RunningNode, startNode } from '../src/Node.js';
import { until } from './helpers.js';

const ORGANISATIONS = [
  { dir: 'hospital', name: 'City Hospital', kind: 'hospital' },
  { dir: 'lab', name: 'Riverside Lab', kind: 'lab' },
  { dir: 'pharmacy', name: 'Corner Pharmacy', kind: 'pharmacy' },
] as const;
type OrgDir = (typeof ORGANISATIONS)[number]['dir'];

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

let dir: string;
let chain: EmbeddedChain;
let env: NodeJS.ProcessEnv;
const ports = {} as Record<OrgDir, number>;
const nodes = {} as Partial<Record<OrgDir, RunningNode>>;

/** Runs `medledger consortium …` in-process: its printed lines, or the one-line refusal it throws. */
async function cli(argv: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const lines: string[] = [];
  await consortiumCommand(argv, { env: { ...env, ...extraEnv }, out: (l) => lines.push(...l.split('\n')) });
  return lines;
}
async function refusal(argv: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const error = await cli(argv, extraEnv).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error, `medledger consortium ${argv.join(' ')} should refuse`).toBeInstanceOf(Error);
  expect(error!.message).not.toContain('\n');
  return error!.message;
}

function startOptions(org: (typeof ORGANISATIONS)[number]): string[] {
  return [
    '--data-dir',
    join(dir, org.dir),
    '--port',
    String(ports[org.dir]),
    '--organisation-kind',
    org.kind,
    '--organisation-name',
    org.name,
  ];
}
/** A node as `medledger start` runs it on the external chain: no governance key, only the deployment file. */
function nodeConfig(org: (typeof ORGANISATIONS)[number]) {
  return loadConfig(
    [
      ...startOptions(org),
      '--ledger-rpc-url',
      env.LEDGER_RPC_URL!,
      '--deployment-file',
      env.MEDLEDGER_DEPLOYMENT_FILE!,
    ],
    { MEDLEDGER_KEYSTORE_PASSPHRASE: `${org.dir} keystore passphrase`, MEDLEDGER_LOG_LEVEL: 'silent' },
  );
}
const orgOf = (d: OrgDir) => ORGANISATIONS.find((o) => o.dir === d)!;

/** The registry check a start of the lab's node makes (Node.ts → ensureDeployment), with its join request. */
function labGate() {
  const request = JSON.parse(readFileSync(join(dir, 'lab.join.json'), 'utf8'));
  return {
    rpcUrl: env.LEDGER_RPC_URL!,
    deploymentFile: env.MEDLEDGER_DEPLOYMENT_FILE!,
    nodeAccount: request.nodeAccount,
    organisation: {
      kind: OrganisationKind.Lab,
      endpoint: request.endpoint,
      keyBundleCommitment: request.keyBundleHash,
      keyBundleUri: request.keyBundleUri,
    },
  };
}

async function members() {
  const [json] = [(await cli(['members', '--json'])).join('\n')];
  return JSON.parse(json!).members as {
    id: number;
    name: string;
    kind: string;
    status: string;
    endpoint: string;
    nodeAccounts: string[];
  }[];
}

async function directoryNames(node: RunningNode): Promise<string[]> {
  const token = readFileSync(node.adminTokenFile!, 'utf8').trim();
  const res = await fetch(`${new URL(node.fhirUrl).origin}/directory/organisations`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { organisations: { name: string }[] };
  return body.organisations.map((o) => o.name).sort();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'medledger-consortium-cli-'));
  // The external chain: an anvil process of its own, which no node starts or owns.
  chain = new EmbeddedChain({ dataDir: join(dir, 'chain-host'), blockTime: 0.25 });
  const { rpcUrl } = await chain.start();
  const keyFile = join(dir, 'governance.key');
  writeFileSync(keyFile, `0x${bytesToHex(devAccount(0).privateKey)}\n`, { mode: 0o600 });
  env = {
    LEDGER_RPC_URL: rpcUrl,
    MEDLEDGER_DEPLOYMENT_FILE: join(dir, 'deployment.json'),
    MEDLEDGER_GOVERNANCE_KEY_FILE: keyFile,
  };
  for (const org of ORGANISATIONS) ports[org.dir] = await freePort();
});

afterAll(async () => {
  for (const node of Object.values(nodes)) await node?.stop().catch(() => undefined);
  await chain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('forming a consortium with medledger consortium', () => {
  it('deploys the contracts with the governance key and never overwrites the deployment file', async () => {
    const lines = await cli(['deploy', '--out', env.MEDLEDGER_DEPLOYMENT_FILE!]);
    expect(lines[0]).toMatch(/^deployed the medledger contracts to chain \d+/);
    expect(lines.join('\n')).toContain(`governance: ${devAccount(0).address}`);
    expect(await refusal(['deploy', '--out', env.MEDLEDGER_DEPLOYMENT_FILE!])).toContain('never overwritten');
    expect(await members()).toEqual([]);
  });

  it('each organisation makes its join request from its data directory; a node not admitted is refused', async () => {
    for (const org of ORGANISATIONS) {
      const lines = await cli(
        ['join-request', '--out', join(dir, `${org.dir}.join.json`), ...startOptions(org)],
        { MEDLEDGER_KEYSTORE_PASSPHRASE: `${org.dir} keystore passphrase` },
      );
      expect(lines[0]).toBe(
        `join request for ${org.name} (${org.kind}) written to ${join(dir, `${org.dir}.join.json`)}`,
      );
      const request = readFileSync(join(dir, `${org.dir}.join.json`), 'utf8');
      expect(request).not.toMatch(/passphrase|secret|private/i);
    }
    const early = await startNode(nodeConfig(orgOf('hospital'))).catch((e: Error) => e);
    expect((early as Error).message).toMatch(/is not an active node account .*join request/);
  }, 180_000);

  it('governance admits the three, prints their ids, and refuses what it must', async () => {
    const ids: number[] = [];
    for (const org of ORGANISATIONS) {
      const lines = await cli(['admit', join(dir, `${org.dir}.join.json`), '--fund', '5']);
      const id = /^admitted (.+) \((\w+)\) as organisation (\d+)$/.exec(lines[0]!);
      expect(id?.slice(1, 3)).toEqual([org.name, org.kind]);
      ids.push(Number(id![3]));
    }
    expect(ids).toEqual([1, 2, 3]);

    // The same node account twice, a key that is not governance, an organisation nobody is called.
    expect(await refusal(['admit', join(dir, 'lab.join.json')])).toMatch(
      /^node account 0x[0-9a-fA-F]{40} already acts for Riverside Lab \(organisation 2\)$/,
    );
    const stranger = join(dir, 'stranger.key');
    writeFileSync(stranger, `0x${bytesToHex(devAccount(7).privateKey)}\n`, { mode: 0o600 });
    expect(
      await refusal(['suspend', 'Riverside Lab', '--reason', 'x'], {
        MEDLEDGER_GOVERNANCE_KEY_FILE: stranger,
      }),
    ).toBe(
      `${devAccount(7).address} does not hold the governance role of the registry at ` +
        `${getAddress(JSON.parse(readFileSync(env.MEDLEDGER_DEPLOYMENT_FILE!, 'utf8')).contracts.ConsortiumRegistry.address)}; ` +
        `governance is held by ${devAccount(0).address}`,
    );
    expect(await refusal(['suspend', 'Nowhere Clinic', '--reason', 'x'])).toBe(
      'no organisation named "Nowhere Clinic" (members: City Hospital, Riverside Lab, Corner Pharmacy)',
    );
    // A tampered join request (another endpoint under the lab's signature) changes nothing.
    const tampered = JSON.parse(readFileSync(join(dir, 'lab.join.json'), 'utf8'));
    tampered.endpoint = 'https://evil.example/fhir';
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify(tampered));
    expect(await refusal(['admit', join(dir, 'tampered.json')])).toContain(
      'signature is not the node account',
    );
    expect((await members()).length).toBe(3);
  });

  it('the nodes start and see one another by name in the directory', async () => {
    const started = await Promise.all(ORGANISATIONS.map((org) => startNode(nodeConfig(org))));
    for (const [i, org] of ORGANISATIONS.entries()) nodes[org.dir] = started[i];
    expect(started.map((n) => [n.chain.mode, n.organisationId])).toEqual([
      ['external', 1],
      ['external', 2],
      ['external', 3],
    ]);
    const everyone = ORGANISATIONS.map((o) => o.name).sort();
    for (const node of started) expect(await directoryNames(node)).toEqual(everyone);
  }, 180_000);

  it('lists members with name, kind, status, endpoint and node accounts, and manages node accounts', async () => {
    const list = await members();
    expect(list.map((m) => [m.id, m.name, m.kind, m.status, m.endpoint])).toEqual(
      ORGANISATIONS.map((o, i) => [i + 1, o.name, o.kind, 'active', `http://127.0.0.1:${ports[o.dir]}/fhir`]),
    );
    const labAccount = JSON.parse(readFileSync(join(dir, 'lab.join.json'), 'utf8')).nodeAccount;
    expect(list[1]!.nodeAccounts).toEqual([labAccount]);

    const second = privateKeyToAccount(`0x${bytesToHex(devAccount(8).privateKey)}`).address;
    expect(await cli(['add-node-account', 'riverside lab', second])).toEqual([
      `${second} now acts for Riverside Lab (organisation 2)`,
    ]);
    expect(await refusal(['add-node-account', '3', second])).toBe(
      `node account ${second} already acts for Riverside Lab (organisation 2)`,
    );
    expect(await refusal(['remove-node-account', 'Corner Pharmacy', second])).toMatch(
      new RegExp(`^${second} is not a node account of Corner Pharmacy`),
    );
    await cli(['remove-node-account', 'Riverside Lab', second]);
    expect((await members())[1]!.nodeAccounts).toEqual([labAccount]);
    expect(await refusal(['members', 'extra'])).toBe('usage: medledger consortium members [--json]');
  });

  it('suspends the lab (its node is refused) and reinstates it (it serves again)', async () => {
    expect(await refusal(['suspend', 'Riverside Lab'])).toContain('--reason');
    const [line] = await cli(['suspend', 'Riverside Lab', '--reason', 'audit anchors overdue since March']);
    expect(line).toMatch(/^suspended Riverside Lab \(organisation 2\); reason hash 0x[0-9a-f]{64}$/);
    expect(await refusal(['suspend', 'riverside lab', '--reason', 'again'])).toBe(
      'Riverside Lab (organisation 2) is already suspended',
    );
    expect((await members())[1]!.status).toBe('suspended');
    await until('the hospital to drop the suspended lab from its directory', async () =>
      (await directoryNames(nodes.hospital!)).includes('Riverside Lab') ? undefined : true,
    );
    // What a (re)start of the lab's node asks the chain before it serves: refused while suspended.
    const refused = await ensureDeployment(labGate()).catch((e: Error) => e);
    expect((refused as Error).message).toMatch(/is a node account of organisation 2, which is suspended/);

    expect(await cli(['reinstate', 'Riverside Lab'])).toEqual(['reinstated Riverside Lab (organisation 2)']);
    expect(await refusal(['reinstate', '2'])).toBe('Riverside Lab (organisation 2) is not suspended');
    expect((await ensureDeployment(labGate())).organisationId).toBe(2);
    await until('the hospital to list the lab again', async () =>
      (await directoryNames(nodes.hospital!)).includes('Riverside Lab') ? true : undefined,
    );
  });

  it('hands governance to a timelock; the old key can then do nothing', async () => {
    const safe = devAccount(9).address; // stands for the member organisations' Safe multisig
    expect(await refusal(['hand-over', '--to', safe])).toContain('holds no contract');
    const deployed = await cli(['deploy-timelock', '--min-delay', '172800', '--proposers', safe]);
    const timelock = /^deployed the consortium timelock at (0x[0-9a-fA-F]{40})$/.exec(deployed[0]!)![1]!;
    expect(await cli(['hand-over', '--to', timelock])).toEqual([
      `governance of the registry and the consent manager is now held by ${timelock}`,
      `${devAccount(0).address} renounced its roles: governance actions are now proposed through ${timelock}`,
    ]);
    const after = await refusal(['suspend', 'Corner Pharmacy', '--reason', 'x']);
    expect(after).toMatch(
      new RegExp(`does not hold the governance role .*; governance is held by ${timelock}$`),
    );
    expect((await members()).map((m) => m.status)).toEqual(['active', 'active', 'active']);
  });
});
