/**
 * Roles × data categories × purposes of use at the FHIR API. One grant from the patient covers every category
 * and purpose tested, to this organisation and any of its members, so what each person may read is decided by
 * the rest of the policy alone: the role ceiling (docs/identity.md's matrix, whose table a test in the identity
 * package holds to the code), the licence of clinical roles, and the purpose asserted. Every cell is a real
 * request; refused cells answer 404 like a missing record, and searches list exactly the permitted records.
 */
import { consortiumRegistryAbi, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import { type AccountId, type Role, roleAllows, roleDefinition } from '@medledger/identity';
import { encodeFunctionData, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personApiToken } from '../src/consortium/personSignIn.js';
import type { RunningNode } from '../src/Node.js';
import { type CareSetting, startCareSetting } from './careSetting.js';

const ROLES: Role[] = ['doctor', 'nurse', 'pharmacist', 'lab', 'insurer', 'researcher', 'auditor', 'admin'];
const PURPOSES = [
  ['TREAT', Purpose.Treatment],
  ['HPAYMT', Purpose.Payment],
  ['HRESCH', Purpose.Research],
] as const;

describe('roles × categories × purposes', () => {
  let setting: CareSetting;
  const tokens = new Map<Role, string>();
  /** One record per category, of the linked patient. */
  const records: { type: string; id: string; category: DataCategory }[] = [];

  beforeAll(async () => {
    setting = await startCareSetting();
    const [hospital, regulator] = setting.consortium.nodes.map((n) => n.node) as [RunningNode, RunningNode];
    const registry = hospital.ledger.deployment.contracts.ConsortiumRegistry.address;
    const send = async (from: RunningNode, functionName: string, args: readonly unknown[]) => {
      const tx = await from.ledger.sendCall({
        to: registry,
        data: encodeFunctionData({ abi: consortiumRegistryAbi, functionName, args } as never),
      });
      expect((await from.ledger.waitForReceipt(tx.hash)).status).toBe('success');
    };
    const year = Math.floor(Date.now() / 1000) + 365 * 24 * 3600;
    for (const role of ROLES) {
      const def = roleDefinition(role);
      let memberAddress: `0x${string}` | undefined;
      if (def.memberRole !== undefined) {
        memberAddress = privateKeyToAccount(generatePrivateKey()).address;
        await send(hospital, 'registerMember', [memberAddress, def.memberRole]);
        if (def.clinical)
          await send(regulator, 'issueLicence', [memberAddress, keccak256(toHex(role)), year]);
      }
      const account = await hospital.accounts.createAccount({
        username: `matrix-${role}`,
        displayName: role,
        role,
        organisation: hospital.organisationId,
        ...(memberAddress ? { memberAddress } : {}),
      });
      tokens.set(role, (await personApiToken(hospital, account.id as AccountId)).token);
    }

    const patient = { reference: `Patient/${setting.ids.patient}` };
    records.push(
      { type: 'Patient', id: setting.ids.patient!, category: DataCategory.Demographics },
      { type: 'Observation', id: setting.ids.observation!, category: DataCategory.Observations },
      { type: 'Condition', id: setting.ids.condition!, category: DataCategory.Conditions },
    );
    const more = [
      {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: { text: 'metformin' },
        subject: patient,
      },
      {
        resourceType: 'Claim',
        status: 'active',
        type: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
        },
        use: 'claim',
        patient,
        created: '2026-11-01',
        provider: { display: 'General Hospital' },
        priority: { coding: [{ code: 'normal' }] },
        insurance: [{ sequence: 1, focal: true, coverage: { display: 'Coverage' } }],
      },
    ];
    for (const [resource, category] of [
      [more[0]!, DataCategory.Medications],
      [more[1]!, DataCategory.Claims],
    ] as const) {
      const r = await setting.call('admin', 'POST', `/${resource.resourceType}`, resource);
      expect(r.status).toBe(201);
      records.push({ type: resource.resourceType, id: r.body.id, category });
    }

    // The patient's one grant: every tested category and purpose, to the hospital, any member.
    await setting.grant({
      categories: records.map((r) => r.category),
      purposes: [Purpose.Treatment, Purpose.Payment, Purpose.Research],
    });
  }, 900_000);
  afterAll(async () => {
    await setting?.close();
  });

  const read = async (role: Role, path: string, purpose: string) => {
    const res = await fetch(`${setting.url}${path}`, {
      headers: { authorization: `Bearer ${tokens.get(role)}`, 'x-purpose-of-use': purpose },
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('reads exactly what each role may, for each purpose', async () => {
    const cells: string[] = [];
    let permitted = 0;
    for (const role of ROLES) {
      for (const [code, purpose] of PURPOSES) {
        for (const r of records) {
          const expected = roleAllows(role, 'read', r.category, purpose) ? 200 : 404;
          if (expected === 200) permitted++;
          const { status } = await read(role, `/${r.type}/${r.id}`, code);
          if (status !== expected) cells.push(`${role} ${code} ${r.type}: ${status}, expected ${expected}`);
        }
      }
    }
    expect(cells).toEqual([]);
    // The matrix is not trivial: some cells open, most stay shut.
    expect(permitted).toBeGreaterThan(5);
    expect(permitted).toBeLessThan((ROLES.length * PURPOSES.length * records.length) / 2);
  });

  it('lists in searches exactly the records each role may read, with no total', async () => {
    for (const role of ROLES) {
      for (const [code, purpose] of PURPOSES) {
        for (const r of records) {
          const { status, body } = await read(role, `/${r.type}?_count=50`, code);
          const ids = ((body.entry ?? []) as { resource: { id: string } }[]).map((e) => e.resource.id);
          if (status === 403) continue; // scopes that can never allow it (none for API tokens: user/*.cruds)
          expect(status).toBe(200);
          expect(body.total).toBeUndefined();
          expect(ids.includes(r.id), `${role} ${code} ${r.type}`).toBe(
            roleAllows(role, 'read', r.category, purpose),
          );
        }
      }
    }
  });
});
