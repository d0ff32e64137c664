/**
 * What the chain tells an observer about where patients are cared for. A consortium of a hospital and a lab on
 * one anvil chain; patients registered at each grant the other organisation access (one revokes it), each
 * grant signed with the patient's own key and relayed by their home organisation's node. Then an observer
 * holding only the RPC URL and the public deployment (contract addresses) maps every patient pseudonym in
 * ConsentManager's events to the senders of its transactions and, through ConsortiumRegistry's events, to an
 * organisation: it links every patient to their home organisation. docs/contracts-privacy.md states this risk
 * with this measurement; the test fails if the link ever weakens or breaks, so the document is revisited.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resourceTypesOfCategory } from '@medledger/consent';
import { DataCategory } from '@medledger/core';
import type { AccountId } from '@medledger/identity';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureConsentLinkage } from '../src/consortium/consentLinkage.js';
import { call, consent } from '../src/consortium/demoScenario.js';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { personApiToken, registerTokenApp } from '../src/consortium/personSignIn.js';
import { TEST_BLOCK_TIME, TEST_START_OPTIONS } from './helpers.js';

const PASSWORD = 'correct horse battery staple (linkage test)';

describe('an observer of the chain and patients’ home organisations', () => {
  let dir: string;
  let consortium: LocalConsortium;
  /** Each patient's pseudonym and the organisation that registered them. */
  const home = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medledger-linkage-'));
    consortium = await startLocalConsortium({
      dir,
      members: [
        { name: 'hospital', kind: 'hospital' },
        { name: 'lab', kind: 'lab' },
      ],
      keystorePassphrase: 'linkage test passphrase',
      logLevel: 'silent',
      blockTime: TEST_BLOCK_TIME,
      startOptions: TEST_START_OPTIONS,
    });
  }, 600_000);
  afterAll(async () => {
    await consortium?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('links every patient who granted consent to the organisation that relayed it', async () => {
    const [hospital, lab] = consortium.nodes.map((n) => n.node);
    const classes = resourceTypesOfCategory(DataCategory.Observations);
    let n = 0;
    for (const [at, other] of [
      [hospital!, lab!],
      [hospital!, lab!],
      [lab!, hospital!],
      [lab!, hospital!],
    ] as const) {
      const admin = readFileSync(at.adminTokenFile!, 'utf8').trim();
      const base = at.fhirUrl.replace(/\/fhir$/, '');
      const created = await call(base, admin, 'POST', '/admin/accounts', {
        username: `patient.${++n}`,
        displayName: `patient ${n}`,
        role: 'patient',
        password: PASSWORD,
        demographics: { gender: 'other' },
      });
      expect(created.status).toBe(201);
      // The patient signs in and mints their own token (administrators mint none for others).
      await registerTokenApp(base, admin);
      const token = {
        body: await personApiToken(at, created.body.account.id as AccountId, { password: PASSWORD }),
      };
      const passphrase = { 'x-medledger-key-passphrase': PASSWORD };
      const patientId = created.body.patient.id as string;
      const grant = await call(
        at.fhirUrl,
        token.body.token,
        'POST',
        '/Consent',
        consent(patientId, other.organisationId, ['access'], classes),
        passphrase,
      );
      expect(grant.status).toBe(201);
      if (n === 4) {
        const revoked = await call(
          at.fhirUrl,
          token.body.token,
          'DELETE',
          `/Consent/${grant.body.id}`,
          undefined,
          passphrase,
        );
        expect(revoked.status).toBe(204);
      }
      home.set((created.body.patient.pseudonym as string).toLowerCase(), at.organisationId);
    }

    // The observer: the RPC URL and the consortium's public deployment, nothing from any node.
    const deployment = JSON.parse(readFileSync(consortium.deploymentFile, 'utf8'));
    const linkage = await measureConsentLinkage({ rpcUrl: consortium.rpcUrl, deployment });
    console.info(
      `consent linkage: ${linkage.linked} of ${linkage.patients} patients linked to their home organisation (${(
        linkage.fraction * 100
      ).toFixed(0)} %)`,
    );
    expect(linkage.patients).toBe(home.size);
    expect(linkage.fraction).toBe(1);
    for (const [pseudonym, organisation] of linkage.byPatient) {
      expect(organisation).toBe(home.get((pseudonym as Hex).toLowerCase()));
    }
  }, 600_000);
});
