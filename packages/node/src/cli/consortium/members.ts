/**
 * The consortium's members as governance lists and names them: the registry's organisations (kind, status,
 * endpoint), their node accounts (folded from NodeAccountAdded / NodeAccountRemoved), and their names.
 *
 * Names: the registry holds none. Governance keeps the names of the join requests it admitted in a small
 * register beside the deployment file (`organisation-names.json`, public data); an organisation missing from
 * it is named by its own node (`/directory/self`, as the nodes' directory does), else "<Kind> <id>".
 * `resolveOrganisation` turns what a person typed — a name (any case) or a registry id — into one organisation,
 * refusing an unknown or ambiguous one in one line.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { consortiumRegistryAbi, OrganisationStatus } from '@medledger/contracts';
import { type Address, getAddress, parseEventLogs } from 'viem';
import { ORGANISATION_KINDS } from '../../config.js';
import { DIRECTORY_SELF_PATH } from '../../features/directoryRoutes.js';
import { type GovernanceChain, refuse } from './governanceChain.js';
import { ORGANISATION_NAME } from './joinRequest.js';

export const NAMES_FORMAT = 'medledger.consortium.names/1';

export interface Member {
  id: number;
  name: string;
  /** Where the name came from: governance's register of join requests, the organisation's node, or a default. */
  nameSource: 'join request' | 'node' | 'default';
  kind: string;
  status: 'active' | 'suspended';
  endpoint: string;
  keyBundleHash: string;
  nodeAccounts: Address[];
}

/** The register of names beside the deployment file. */
export function namesFileOf(deploymentFile: string): string {
  return join(dirname(deploymentFile), 'organisation-names.json');
}

export function readNames(file: string, registry: Address): Map<number, string> {
  if (!existsSync(file)) return new Map();
  let parsed: { format?: unknown; registry?: unknown; organisations?: Record<string, unknown> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    refuse(`${file} is not JSON`);
  }
  if (parsed.format !== NAMES_FORMAT) refuse(`${file} is not a medledger names register`);
  if (typeof parsed.registry !== 'string' || parsed.registry.toLowerCase() !== registry.toLowerCase()) {
    refuse(`${file} names the organisations of another registry (${String(parsed.registry)})`);
  }
  const names = new Map<number, string>();
  for (const [id, name] of Object.entries(parsed.organisations ?? {})) {
    if (/^[1-9]\d{0,9}$/.test(id) && typeof name === 'string' && ORGANISATION_NAME.test(name)) {
      names.set(Number(id), name);
    }
  }
  return names;
}

export function writeName(file: string, registry: Address, id: number, name: string): void {
  const names = readNames(file, registry);
  names.set(id, name);
  const organisations = Object.fromEntries(
    [...names].sort(([a], [b]) => a - b).map(([k, v]) => [String(k), v]),
  );
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ format: NAMES_FORMAT, registry, organisations }, null, 2)}\n`);
  renameSync(tmp, file);
}

const kindName = (kind: number) => ORGANISATION_KINDS[kind] ?? 'organisation';
const defaultName = (kind: number, id: number) => {
  const k = kindName(kind);
  return `${k.charAt(0).toUpperCase()}${k.slice(1)} ${id}`;
};

/** The name an organisation's node declares at /directory/self, when it answers in time and for this id. */
async function selfName(endpoint: string, id: number): Promise<string | undefined> {
  try {
    const res = await fetch(new URL(DIRECTORY_SELF_PATH, endpoint), {
      signal: AbortSignal.timeout(2_000),
      redirect: 'error',
    });
    if (!res.ok) return undefined;
    const self = (await res.json()) as { id?: unknown; name?: unknown };
    return self.id === String(id) && typeof self.name === 'string' && ORGANISATION_NAME.test(self.name)
      ? self.name
      : undefined;
  } catch {
    return undefined;
  }
}

/** Every organisation ever admitted, with its node accounts and name. */
export async function readMembers(chain: GovernanceChain, namesFile: string): Promise<Member[]> {
  const { client, registry } = chain;
  const names = readNames(namesFile, registry);
  const count = Number(
    await client.readContract({
      address: registry,
      abi: consortiumRegistryAbi,
      functionName: 'organisationCount',
    }),
  );
  const logs = await client.getLogs({
    address: registry,
    fromBlock: BigInt(chain.deployment.contracts.ConsortiumRegistry.blockNumber),
  });
  const accounts = new Map<Address, number>();
  for (const e of parseEventLogs({
    abi: consortiumRegistryAbi,
    logs,
    eventName: ['NodeAccountAdded', 'NodeAccountRemoved'],
  })) {
    if (e.eventName === 'NodeAccountAdded')
      accounts.set(getAddress(e.args.account), Number(e.args.organisation));
    else accounts.delete(getAddress(e.args.account));
  }
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  return Promise.all(
    ids.map(async (id): Promise<Member> => {
      const org = await client.readContract({
        address: registry,
        abi: consortiumRegistryAbi,
        functionName: 'organisation',
        args: [id],
      });
      const registered = names.get(id);
      const fromNode = registered === undefined ? await selfName(org.endpoint, id) : undefined;
      return {
        id,
        name: registered ?? fromNode ?? defaultName(org.kind, id),
        nameSource: registered !== undefined ? 'join request' : fromNode !== undefined ? 'node' : 'default',
        kind: kindName(org.kind),
        status: org.status === OrganisationStatus.Active ? 'active' : 'suspended',
        endpoint: org.endpoint,
        keyBundleHash: org.keyBundleHash,
        nodeAccounts: [...accounts].filter(([, org]) => org === id).map(([a]) => a),
      };
    }),
  );
}

/** The one organisation `given` names (its name in any case, or its registry id); refuses anything else. */
export function resolveOrganisation<M extends { id: number; name: string }>(
  members: readonly M[],
  given: string,
): M {
  const wanted = given.trim();
  if (/^\d+$/.test(wanted)) {
    const byId = members.find((m) => m.id === Number(wanted));
    if (!byId) refuse(`no organisation ${wanted} in the registry (${members.length} admitted)`);
    return byId;
  }
  const folded = wanted.toLocaleLowerCase();
  const matches = members.filter((m) => m.name.toLocaleLowerCase() === folded);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    refuse(
      `"${wanted}" names ${matches.length} organisations (ids ${matches.map((m) => m.id).join(', ')}): give the id`,
    );
  }
  const known = members.map((m) => m.name).join(', ');
  refuse(
    `no organisation named "${wanted.slice(0, 100)}"${known ? ` (members: ${known})` : ' (no members yet)'}`,
  );
}
