/**
 * Network addresses withheld from the leaf: the committed event holds a salted commitment to each agent's
 * address and no address; the disclosed event adds the address and its salt, strips back to the committed one
 * exactly, and opens the commitment — and nothing else does. Events committed with the address in clear (before
 * this) stay as they are for auditors and lose the address, marked redacted, for patients.
 */
import { describe, expect, it } from 'vitest';
import { commitAuditEvent, verifyCommitment } from '../src/auditLeaf.js';
import {
  ADDRESS_COMMITMENT_EXTENSION,
  ADDRESS_SALT_EXTENSION,
  committedAuditEvent,
  patientAuditEvent,
  verifyNetworkAddresses,
  withholdNetworkAddresses,
} from '../src/networkAddress.js';

const event = (address: string) => ({
  resourceType: 'AuditEvent',
  agent: [
    {
      who: { identifier: { system: 'urn:medledger:account', value: 'a1' } },
      requestor: true,
      extension: [{ url: 'urn:example:kept', valueString: 'x' }],
      network: { address, type: '2' },
    },
    { who: { identifier: { system: 'urn:medledger:organisation', value: '2' } }, requestor: false },
  ],
  entity: [{ what: { reference: 'Observation/o1' } }],
});

describe('network addresses in audit events', () => {
  it('commits to the address, not the address itself', () => {
    for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '2001:db8::7']) {
      const { committed, disclosed } = withholdNetworkAddresses(event(address));
      const text = JSON.stringify(committed);
      expect(text).not.toContain(address);
      expect(text).not.toContain('"network"');
      expect(text).not.toContain(ADDRESS_SALT_EXTENSION);
      expect(JSON.stringify(disclosed)).toContain(address);
      expect(committedAuditEvent(disclosed)).toEqual(committed);
      expect(verifyNetworkAddresses(disclosed)).toBe(true);
      // Agents without an address and other extensions are untouched.
      expect((committed.agent as any[])[1]).toEqual(event(address).agent[1]);
      expect((committed.agent as any[])[0].extension[0]).toEqual({
        url: 'urn:example:kept',
        valueString: 'x',
      });
      // The leaf over the committed form verifies with what a patient is served.
      const { salt, commitment } = commitAuditEvent(committed);
      const served = patientAuditEvent(disclosed);
      expect(served.redacted).toBe(false);
      expect(verifyCommitment(served.event, salt, commitment)).toBe(true);
    }
  });

  it('salts each address afresh: equal addresses give unrelated commitments', () => {
    const a = withholdNetworkAddresses(event('10.0.0.1')).committed;
    const b = withholdNetworkAddresses(event('10.0.0.1')).committed;
    const value = (e: any) =>
      e.agent[0].extension.find((x: any) => x.url === ADDRESS_COMMITMENT_EXTENSION).valueString;
    expect(value(a)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(value(a)).not.toBe(value(b));
  });

  it('refuses a disclosed address, type or salt that does not open the commitment', () => {
    const { disclosed } = withholdNetworkAddresses(event('10.0.0.1'));
    const agent = (disclosed.agent as any[])[0];
    const withAgent = (a: Record<string, unknown>) => ({
      ...disclosed,
      agent: [a, (disclosed.agent as any[])[1]],
    });
    expect(verifyNetworkAddresses(withAgent({ ...agent, network: { address: '10.0.0.2', type: '2' } }))).toBe(
      false,
    );
    expect(verifyNetworkAddresses(withAgent({ ...agent, network: { address: '10.0.0.1', type: '1' } }))).toBe(
      false,
    );
    const { network: _, ...noNetwork } = agent;
    expect(verifyNetworkAddresses(withAgent(noNetwork))).toBe(false);
    const otherSalt = (withholdNetworkAddresses(event('10.0.0.1')).disclosed.agent as any[])[0].extension[2];
    expect(
      verifyNetworkAddresses(withAgent({ ...agent, extension: [...agent.extension.slice(0, 2), otherSalt] })),
    ).toBe(false);
    expect(
      verifyNetworkAddresses(
        withAgent({
          ...agent,
          extension: [...agent.extension.slice(0, 2), { url: ADDRESS_SALT_EXTENSION, valueString: '!' }],
        }),
      ),
    ).toBe(false);
  });

  it('serves an event committed with its address in clear to auditors as it is, to patients redacted', () => {
    const legacy = event('127.0.0.1');
    expect(committedAuditEvent(legacy)).toEqual(legacy);
    expect(verifyNetworkAddresses(legacy)).toBe(true);
    const served = patientAuditEvent(legacy);
    expect(served.redacted).toBe(true);
    expect(JSON.stringify(served.event)).not.toContain('127.0.0.1');
    const { salt, commitment } = commitAuditEvent(legacy);
    expect(verifyCommitment(served.event, salt, commitment)).toBe(false);
    // An event with no address at all is neither changed nor redacted.
    const plain = { resourceType: 'AuditEvent', agent: [{ who: { display: 'x' } }] };
    expect(withholdNetworkAddresses(plain)).toEqual({ committed: plain, disclosed: plain });
    expect(patientAuditEvent(plain)).toEqual({ event: plain, redacted: false });
  });
});
