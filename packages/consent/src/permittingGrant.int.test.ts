// The index's decision against the contract's own: random grants relayed to a real chain (some revoked, some
// grantees suspended or members removed afterwards), then random queries aimed at each grant's boundaries —
// recorded/revoked seconds, validity and data periods, organisation, member and each bit — asked both of
// grantPermits over the indexed grant and of ConsentManager.isPermitted over its terms. They must agree.

import { type ConsentTerms, consentIdOf, consentManagerAbi, packConsent } from '@medledger/contracts';
import { openPgliteDb } from '@medledger/storage';
import fc from 'fast-check';
import { type Address, type Hex, zeroAddress } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestConsortium, type TestConsortium, type TestPatient } from '../test/testConsortium.js';
import { ConsentIndex } from './ConsentIndex.js';
import { ConsentRelayer } from './ConsentRelayer.js';
import { grantPermits, type IndexedGrant } from './permittingGrant.js';

const U40_MAX = 2 ** 40 - 1;

let c: TestConsortium;
let index: ConsentIndex;
let close: () => Promise<void>;
beforeAll(async () => {
  c = await startTestConsortium();
  const db = await openPgliteDb();
  index = await ConsentIndex.open({ db, ledger: c.hospital, pollMs: 50 });
  index.follow();
  close = async () => {
    await index.stop();
    await db.close();
  };
});
afterAll(async () => {
  await close?.();
  await c?.close();
});

const seed = Number(process.env.MEDLEDGER_PROPERTY_SEED ?? 20_260_301);

it('decides exactly as ConsentManager.isPermitted', async () => {
  const relayer = new ConsentRelayer(c.hospital, { index });
  const patients = [c.newPatient(), c.newPatient(), c.newPatient()];
  const members: Address[] = [
    zeroAddress,
    c.members.labTech.address,
    c.members.practitioner.address,
    c.members.unlicensed.address,
    c.members.auditor.address,
    '0x00000000000000000000000000000000000000f1', // never registered
  ];
  const organisations = [c.ids.hospital, c.ids.lab, c.ids.regulator, 99];
  const now = await c.chainNow();

  // Random terms the contract accepts (it refuses empty masks and periods already over).
  const termsArb = fc
    .record({
      patient: fc.nat({ max: patients.length - 1 }),
      grantee: fc.constantFrom(c.ids.hospital, c.ids.lab, c.ids.lab, c.ids.regulator),
      member: fc.nat({ max: 3 }),
      actions: fc.integer({ min: 1, max: 3 }),
      resourceClasses: fc.integer({ min: 1, max: 0xfff }),
      purposes: fc.integer({ min: 1, max: 0x1f }),
      validFrom: fc.integer({ min: -100, max: 100 }),
      length: fc.integer({ min: 1, max: 400 }),
      dataFrom: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 })),
      dataLength: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 1000 })),
      nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    })
    .map((r): { patient: TestPatient; terms: ConsentTerms } => {
      const validFrom = Math.max(0, now + r.validFrom);
      return {
        patient: patients[r.patient]!,
        terms: {
          patient: patients[r.patient]!.pseudonym,
          grantee: r.grantee,
          granteeMember: members[r.member]!,
          actions: r.actions,
          resourceClasses: r.resourceClasses,
          purposes: r.purposes,
          validFrom,
          validUntil: Math.max(validFrom + r.length, now + 60),
          dataFrom: r.dataFrom,
          dataUntil: r.dataLength < 0 ? 0 : Math.max(1, r.dataFrom + r.dataLength),
          nonce: r.nonce,
        },
      };
    });
  const grants = fc.sample(termsArb, { numRuns: 36, seed });
  const deadline = BigInt(now + 600);
  const relayed = await Promise.all(
    grants.map(async ({ patient, terms }) =>
      relayer.grant({ terms, deadline, signature: await c.signGrant(patient, terms, deadline) }),
    ),
  );
  expect(relayed).toHaveLength(grants.length);
  // Revoke every third one a little later, so revocation seconds differ from grant seconds.
  await new Promise((r) => setTimeout(r, 1100));
  await Promise.all(
    grants
      .filter((_, i) => i % 3 === 0)
      .map(async ({ patient, terms }) => {
        const id = consentIdOf(terms);
        await relayer.revoke({
          consentId: id,
          deadline,
          signature: await c.signRevoke(patient, id, deadline),
        });
      }),
  );
  // The registry moves too: a member leaves, an organisation is suspended.
  await c.registry(c.hospital, 'removeMember', [c.members.unlicensed.address]);
  await c.registry(c.admin, 'suspendOrganisation', [c.ids.regulator, `0x${'11'.repeat(32)}`]);
  await index.waitForBlock(await c.hospital.blockNumber());

  const indexed = new Map<Hex, IndexedGrant>();
  for (const p of patients) for (const g of await index.grantsOf(p.pseudonym)) indexed.set(g.id, g);
  expect(indexed.size).toBe(grants.length);
  const unrecorded = { ...grants[0]!.terms, nonce: grants[0]!.terms.nonce ^ 1n };
  expect(indexed.has(consentIdOf(unrecorded))).toBe(false);

  const bitOf = (mask: number, width: number, pick: number) => {
    const set = [...Array(width).keys()].filter((b) => (mask >> b) & 1);
    return set[pick % set.length]!;
  };
  const queryArb = fc.record({
    pick: fc.nat(),
    aimed: fc.nat({ max: 4 }),
    organisation: fc.nat({ max: organisations.length - 1 }),
    member: fc.nat({ max: members.length - 1 }),
    action: fc.nat({ max: 1 }),
    resourceClass: fc.nat({ max: 11 }),
    purpose: fc.nat({ max: 4 }),
    at: fc.nat({ max: 14 }),
    atOffset: fc.integer({ min: -300, max: 600 }),
    data: fc.nat({ max: 10 }),
    dataOffset: fc.integer({ min: 0, max: 2500 }),
    unrecorded: fc.nat({ max: 30 }),
  });
  // Members who act for each grantee (the node itself when undefined).
  const colleagues = new Map<number, Address[]>([
    [c.ids.hospital, [c.members.practitioner.address]],
    [c.ids.lab, [c.members.labTech.address, c.members.auditor.address]],
  ]);
  const tally = { permitted: 0, refused: 0 };
  const clamp = (n: number) => Math.min(U40_MAX, Math.max(0, n));
  await fc.assert(
    fc.asyncProperty(queryArb, async (q) => {
      const { terms } = grants[q.pick % grants.length]!;
      const grant = indexed.get(consentIdOf(terms))!;
      const aimed = q.aimed > 0; // mostly aimed at the grant, so that permitted answers are common
      // In force: from the later of grant and validFrom, before the earlier of revocation and validUntil.
      const inForce = Math.max(grant.grantedAt, terms.validFrom);
      const at = clamp(
        [
          inForce,
          grant.grantedAt - 1,
          grant.grantedAt,
          (grant.revokedAt ?? grant.grantedAt) - 1,
          grant.revokedAt ?? grant.grantedAt + 1,
          terms.validFrom - 1,
          terms.validFrom,
          terms.validUntil - 1,
          terms.validUntil,
          now + q.atOffset,
        ].at(aimed && q.at > 9 ? 0 : q.at % 10)!,
      );
      const dataTime = clamp(
        [terms.dataFrom, 0, terms.dataFrom - 1, terms.dataUntil, terms.dataUntil + 1, q.dataOffset, 1][
          aimed && q.data > 6 ? 0 : q.data % 7
        ]!,
      );
      const request = {
        organisation: aimed ? terms.grantee : organisations[q.organisation]!,
        member: aimed
          ? terms.granteeMember !== zeroAddress
            ? terms.granteeMember
            : (colleagues.get(terms.grantee)?.[q.member % 3] ?? zeroAddress)
          : members[q.member]!,
        action: aimed ? bitOf(terms.actions, 2, q.action) : q.action,
        resourceClass: aimed ? bitOf(terms.resourceClasses, 12, q.resourceClass) : q.resourceClass,
        purpose: aimed ? bitOf(terms.purposes, 5, q.purpose) : q.purpose,
        at,
        dataTime,
      };
      const asked = q.unrecorded === 0 ? unrecorded : terms;
      const expected = await c.hospital.publicClient.readContract({
        address: c.deployment.contracts.ConsentManager.address,
        abi: consentManagerAbi,
        functionName: 'isPermitted',
        args: [packConsent(asked), request],
      });
      const actual =
        q.unrecorded === 0
          ? indexed.has(consentIdOf(unrecorded))
          : grantPermits(grant, { ...request, patient: terms.patient, dataDate: dataTime }, index.consortium);
      expect(
        actual,
        JSON.stringify({ request, grant }, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
      ).toBe(expected);
      tally[expected ? 'permitted' : 'refused']++;
      // The index's own entry point agrees when this grant is the patient's only permitting one.
      if (expected && q.unrecorded !== 0) {
        const id = await index.permits(
          { ...request, patient: terms.patient, dataDate: dataTime },
          { fresh: false },
        );
        expect(id).toBeDefined();
      }
    }),
    { numRuns: Number(process.env.MEDLEDGER_PROPERTY_RUNS ?? 600), seed },
  );
  // Both answers must be well represented, or the comparison says little.
  expect(tally.permitted).toBeGreaterThan(50);
  expect(tally.refused).toBeGreaterThan(50);
});
