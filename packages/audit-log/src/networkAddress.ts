/**
 * Network addresses in audit events, committed rather than logged in clear. BALP puts the client's IP address in
 * `agent.network.address`; a patient reading their access log must not learn the addresses of the clinicians
 * who read their record, but removing the address from a served event would break the event's commitment.
 *
 * So the leaf commits to the event with each agent's address **withheld**: the agent carries, instead of
 * `network`, an extension `urn:medledger:network-address-commitment` whose value is
 * base64url(SHA-256(addressSalt ‖ UTF-8(network.type ‖ 0x00 ‖ network.address))), with a fresh 32-byte
 * `addressSalt` per agent. The *disclosed* event — what the node seals and shows auditors — is the committed one
 * plus `network` and an extension `urn:medledger:network-address-salt` (the salt, base64url). Stripping those two
 * gives back the committed event exactly; the salt opens the address commitment.
 *
 * Limits: an event committed before this (no commitment extension) has its address inside the leaf; it can only
 * be hidden by breaking the event ↔ commitment check (see `patientAuditEvent`). The salt keeps a withheld
 * address from being guessed (IPv4 has only 2^32 values), so it must never reach whoever the address is
 * withheld from.
 */
import { randomBytes } from 'node:crypto';
import {
  base64urlToBytes,
  bytesToBase64url,
  concatBytes,
  equalBytes,
  sha256,
  utf8ToBytes,
} from '@medledger/crypto';
import { AUDIT_SALT_LENGTH, type AuditEventJson } from './auditLeaf.js';

export const ADDRESS_COMMITMENT_EXTENSION = 'urn:medledger:network-address-commitment';
export const ADDRESS_SALT_EXTENSION = 'urn:medledger:network-address-salt';

type Extension = { url: string; valueString?: string };
type Agent = Record<string, unknown> & {
  network?: { address?: string; type?: string };
  extension?: Extension[];
};

function commitAddress(salt: Uint8Array, network: { address?: string; type?: string }): Uint8Array {
  return sha256(concatBytes(salt, utf8ToBytes(`${network.type ?? ''}\u0000${network.address ?? ''}`)));
}

function agentsOf(event: AuditEventJson): Agent[] | undefined {
  const agents = event.agent;
  return Array.isArray(agents) ? (agents as Agent[]) : undefined;
}

const extensionValue = (agent: Agent, url: string) =>
  agent.extension?.find((x) => x.url === url)?.valueString;

/** The event as it is committed and as it is disclosed, for an event whose agents carry addresses in clear. */
export function withholdNetworkAddresses(event: AuditEventJson): {
  committed: AuditEventJson;
  disclosed: AuditEventJson;
} {
  const agents = agentsOf(event);
  if (!agents?.some((a) => a.network)) return { committed: event, disclosed: event };
  const committed: Agent[] = [];
  const disclosed: Agent[] = [];
  for (const agent of agents) {
    if (!agent.network) {
      committed.push(agent);
      disclosed.push(agent);
      continue;
    }
    const { network, ...rest } = agent;
    const s = new Uint8Array(randomBytes(AUDIT_SALT_LENGTH));
    const commitment = {
      url: ADDRESS_COMMITMENT_EXTENSION,
      valueString: bytesToBase64url(commitAddress(s, network)),
    };
    const withheld = { ...rest, extension: [...(agent.extension ?? []), commitment] };
    committed.push(withheld);
    disclosed.push({
      ...withheld,
      network,
      extension: [...withheld.extension, { url: ADDRESS_SALT_EXTENSION, valueString: bytesToBase64url(s) }],
    });
  }
  return { committed: { ...event, agent: committed }, disclosed: { ...event, agent: disclosed } };
}

/**
 * The event a leaf commits to, from its disclosed form: every agent with an address commitment loses its
 * `network` and the salt extension. An event committed with its address in clear is returned unchanged.
 */
export function committedAuditEvent(event: AuditEventJson): AuditEventJson {
  const agents = agentsOf(event);
  if (!agents?.some((a) => extensionValue(a, ADDRESS_COMMITMENT_EXTENSION) !== undefined)) return event;
  return {
    ...event,
    agent: agents.map((agent) => {
      if (extensionValue(agent, ADDRESS_COMMITMENT_EXTENSION) === undefined) return agent;
      const { network: _, ...rest } = agent;
      return { ...rest, extension: agent.extension!.filter((x) => x.url !== ADDRESS_SALT_EXTENSION) };
    }),
  };
}

/**
 * True iff every disclosed address in `event` opens its agent's commitment (an event without commitments has
 * nothing to check). Never throws.
 */
export function verifyNetworkAddresses(event: AuditEventJson): boolean {
  try {
    for (const agent of agentsOf(event) ?? []) {
      const commitment = extensionValue(agent, ADDRESS_COMMITMENT_EXTENSION);
      if (commitment === undefined) continue;
      const salt = extensionValue(agent, ADDRESS_SALT_EXTENSION);
      if (salt === undefined || !agent.network) return false;
      const s = base64urlToBytes(salt);
      if (s.length !== AUDIT_SALT_LENGTH) return false;
      if (!equalBytes(commitAddress(s, agent.network), base64urlToBytes(commitment))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * What a patient is shown of a stored (disclosed) event: the committed form, which holds no address. An event
 * committed with its address in clear has the address removed, so it no longer matches its commitment —
 * `redacted` says so, and its salt must then be withheld too (with the salt, the commitment would let the
 * address be found by trying every IPv4 address).
 */
export function patientAuditEvent(event: AuditEventJson): { event: AuditEventJson; redacted: boolean } {
  const committed = committedAuditEvent(event);
  const agents = agentsOf(committed);
  if (!agents?.some((a) => a.network)) return { event: committed, redacted: false };
  return {
    event: { ...committed, agent: agents.map(({ network: _, ...rest }) => rest) },
    redacted: true,
  };
}
