/**
 * The consortium's directory as people need it: organisations by name, and each organisation's public key
 * bundle next to the hash the on-chain registry commits to, so a browser — which cannot reach the chain —
 * recomputes the hash itself and checks signatures (audit checkpoints) under the key the registry names.
 *
 * | route | who | answers |
 * |---|---|---|
 * | `GET /directory/organisations` | anyone signed in | `{ organisations: [{ id, name, kind, self }] }`, the registry's active organisations |
 * | `GET /directory/organisations/:id/key-bundle` | anyone signed in | `{ id, keyBundleHash, keyBundle }`: the registry's commitment, read from the chain now, and the encoded public bundle |
 * | `GET /directory/self` | public | this organisation's `{ id, name, kind, self }` (how other nodes learn its name) |
 *
 * Names: the registry holds none. Each node declares its own (`--organisation-name`, default "<Kind> <id>")
 * at `/directory/self`; other organisations' names are fetched from their registry endpoint's origin and
 * cached. A name is a label, not an identity: what authenticates an organisation is its registry id and key.
 * Also here: `auditAgentNames`, which resolves the agents of an audit event (accounts, members, organisations)
 * to the names of people and organisations, for access logs — never an account id or an address.
 */
import { consortiumRegistryAbi } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToBase64url } from '@medledger/crypto';
import { type Address, isAddress } from 'viem';
import { ORGANISATION_KINDS } from '../config.js';
import { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import { directorySelfSchema, keyBundleSchema, organisationsSchema } from '../openapi/routeSchemas.js';

export const DIRECTORY_SELF_PATH = '/directory/self';

const NAME_TTL_MS = 60_000;
const NAME_FETCH_TIMEOUT_MS = 3_000;
const NAME = /^\P{Cc}{1,100}$/u;

export interface DirectoryOrganisation {
  id: string;
  name: string;
  kind: string;
  /** Whether it is this node's own organisation. */
  self: boolean;
}

/** A person or organisation taking part in an audited request, by name (no ids, no addresses). */
export interface AgentName {
  /** The person's display name (accounts of this node), or a description ("unauthenticated client"). */
  person?: string;
  /** The organisation's name. */
  organisation?: string;
  /** The person's role (doctor, lab, patient…), when the event says it. */
  role?: string;
  /** Whether this agent made the request. */
  requestor: boolean;
}

const kindName = (kind: number) => ORGANISATION_KINDS[kind] ?? 'organisation';
const defaultName = (kind: number, id: number) => {
  const k = kindName(kind);
  return `${k.charAt(0).toUpperCase()}${k.slice(1)} ${id}`;
};

/** Organisation names: this node's own from its configuration, the others' from their nodes. */
export class OrganisationNames {
  readonly #ctx: NodeContext;
  readonly directory: OrganisationDirectory;
  readonly #names = new Map<number, { name: string; until: number }>();

  constructor(ctx: NodeContext, directory = new OrganisationDirectory(ctx.ledger)) {
    this.#ctx = ctx;
    this.directory = directory;
  }

  get ownName(): string {
    return (
      this.#ctx.config.organisationName ??
      defaultName(ORGANISATION_KINDS.indexOf(this.#ctx.config.organisationKind), this.#ctx.organisationId)
    );
  }

  /** The organisation's name; a default from its kind when its node does not say. Undefined if unknown. */
  async name(id: number): Promise<string | undefined> {
    if (id === this.#ctx.organisationId) return this.ownName;
    const cached = this.#names.get(id);
    if (cached && cached.until > Date.now()) return cached.name;
    const profile = await this.directory.profile(id);
    if (!profile) return undefined;
    let name = defaultName(profile.kind, id);
    try {
      const res = await fetch(new URL(DIRECTORY_SELF_PATH, profile.endpoint), {
        signal: AbortSignal.timeout(NAME_FETCH_TIMEOUT_MS),
        redirect: 'error',
      });
      if (res.ok) {
        const self = (await res.json()) as { id?: unknown; name?: unknown };
        if (self.id === String(id) && typeof self.name === 'string' && NAME.test(self.name)) name = self.name;
      }
    } catch {
      // the peer is away: its default name until the next try
    }
    this.#names.set(id, { name, until: Date.now() + NAME_TTL_MS });
    return name;
  }

  /** The registry's organisations (active ones), with names. */
  async organisations(): Promise<DirectoryOrganisation[]> {
    const ledger = this.#ctx.ledger;
    const count = await ledger.rpc('reading the registry', () =>
      ledger.publicClient.readContract({
        address: ledger.deployment.contracts.ConsortiumRegistry.address,
        abi: consortiumRegistryAbi,
        functionName: 'organisationCount',
      }),
    );
    const ids = Array.from({ length: Number(count) }, (_, i) => i + 1).filter((id) =>
      this.#ctx.consent.consortium.organisationActive(id),
    );
    const out = await Promise.all(
      ids.map(async (id) => {
        const profile = await this.directory.profile(id);
        if (!profile) return undefined;
        return {
          id: String(id),
          name: (await this.name(id)) ?? defaultName(profile.kind, id),
          kind: kindName(profile.kind),
          self: id === this.#ctx.organisationId,
        };
      }),
    );
    return out.filter((o): o is DirectoryOrganisation => o !== undefined);
  }
}

type Agent = {
  who?: { identifier?: { system?: string; value?: string }; display?: string };
  role?: { coding?: { system?: string; code?: string }[] }[];
  type?: { coding?: { code?: string }[] };
  requestor?: boolean;
};

/**
 * A resolver of audit-event agents to names, for one request (lookups cached for its duration): accounts of
 * this node by display name, members of other organisations by their organisation, organisations by name.
 */
export function auditAgentNames(ctx: NodeContext, names: OrganisationNames) {
  const accounts = new Map<string, Promise<string | undefined>>();
  const organisations = new Map<number, Promise<string | undefined>>();
  const account = (key: string, find: () => Promise<{ displayName: string } | undefined>) => {
    let p = accounts.get(key);
    if (!p) {
      p = find().then(
        (a) => a?.displayName,
        () => undefined,
      );
      accounts.set(key, p);
    }
    return p;
  };
  const organisation = (id: number) => {
    let p = organisations.get(id);
    if (!p) {
      p = names.name(id).catch(() => undefined);
      organisations.set(id, p);
    }
    return p;
  };
  const one = async (agent: Agent): Promise<AgentName> => {
    const requestor = agent.requestor === true;
    const role = agent.role?.[0]?.coding?.find((c) => c.system === 'urn:medledger:role')?.code;
    const { system, value } = agent.who?.identifier ?? {};
    const withRole = role ? { role } : {};
    if (system === 'urn:medledger:account' && value) {
      const person = await account(`account:${value}`, () => ctx.accounts.getAccount(value));
      const own = names.ownName;
      if (person) return { person, organisation: own, ...withRole, requestor };
      // A system caller: the organisation itself (its API token) or one of its registered apps.
      return { person: 'a system of the organisation', organisation: own, ...withRole, requestor };
    }
    if (system === 'urn:medledger:organisation' && value && /^\d{1,10}$/.test(value)) {
      const name = await organisation(Number(value));
      return { organisation: name ?? 'an organisation no longer in the registry', requestor };
    }
    if (system === 'urn:medledger:member' && value && isAddress(value, { strict: false })) {
      const person = await account(`member:${value.toLowerCase()}`, () =>
        ctx.accounts.findByMemberAddress(value as Address),
      );
      const id = ctx.consent.consortium.memberOrganisation(value as Address);
      const name = id ? await organisation(id) : undefined;
      return {
        person: person ?? 'a member of staff',
        ...(name ? { organisation: name } : {}),
        requestor,
      };
    }
    if (agent.who?.display) return { person: agent.who.display, requestor };
    return { person: 'someone', requestor };
  };
  return async (event: Readonly<Record<string, unknown>>): Promise<AgentName[]> => {
    const agents = Array.isArray(event.agent) ? (event.agent as Agent[]) : [];
    return Promise.all(agents.map(one));
  };
}

export function directoryFeature(ctx: NodeContext, names: OrganisationNames): Feature {
  return {
    publicPaths: [DIRECTORY_SELF_PATH],
    register(app) {
      app.get(DIRECTORY_SELF_PATH, { schema: directorySelfSchema }, async () => ({
        id: String(ctx.organisationId),
        name: names.ownName,
        kind: ctx.config.organisationKind,
        self: true,
      }));

      app.get('/directory/organisations', { schema: organisationsSchema }, async () => ({
        organisations: await names.organisations(),
      }));

      app.get<{ Params: { id: string } }>(
        '/directory/organisations/:id/key-bundle',
        { schema: keyBundleSchema },
        async (request) => {
          const raw = request.params.id;
          if (!/^[1-9]\d{0,9}$/.test(raw)) {
            throw new MdlError(MdlErrorCode.BadInput, 'the organisation id must be a positive integer');
          }
          const id = Number(raw);
          const profile = await names.directory.profile(id);
          const bundle =
            id === ctx.organisationId ? ctx.bundle.publicBundle : await names.directory.bundle(id);
          if (!profile || !bundle) throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
          // The node's own bundle is served as it holds it; if it no longer matches the registry (a rotation
          // not yet committed), the browser sees the mismatch — which is the point.
          return {
            id: raw,
            keyBundleHash: profile.keyBundleHash,
            keyBundle: bytesToBase64url(bundle.encoded),
          };
        },
      );
    },
  };
}
