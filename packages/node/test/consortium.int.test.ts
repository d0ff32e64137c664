/**
 * Several organisations on one chain: the local consortium that `medledger demo` runs. Each node admits its own
 * organisation with the development governance key, gets its own organisation id, serves its own records and
 * anchors them in the shared RecordRegistry.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { until } from './helpers.js';

describe('a local consortium on one chain', () => {
  let dir: string;
  let consortium: LocalConsortium;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'medledger-consortium-'));
    consortium = await startLocalConsortium({
      dir,
      members: [
        { name: 'hospital', kind: 'hospital' },
        { name: 'lab', kind: 'lab' },
      ],
      keystorePassphrase: 'consortium test passphrase',
      logLevel: 'silent',
    });
  }, 180_000);
  afterAll(async () => {
    await consortium?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (n: number, method: string, path: string, body?: unknown) => {
    const member = consortium.nodes[n]!;
    const token = readFileSync(member.node.adminTokenFile!, 'utf8').trim();
    const res = await fetch(`${member.node.fhirUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('admits each organisation once, with its own id, on the same contracts', () => {
    const [hospital, lab] = consortium.nodes;
    expect(hospital!.node.organisationId).toBeGreaterThan(0);
    expect(lab!.node.organisationId).toBeGreaterThan(0);
    expect(lab!.node.organisationId).not.toBe(hospital!.node.organisationId);
    expect(hospital!.node.chain.rpcUrl).toBe(lab!.node.chain.rpcUrl);
    expect(hospital!.node.chain.deployment).toBe(lab!.node.chain.deployment);
  });

  it('keeps each node’s records its own and anchors both on the shared chain', async () => {
    const patient = await call(0, 'POST', '/Patient', { resourceType: 'Patient', gender: 'female' });
    expect(patient.status).toBe(201);
    // The lab's node has its own index: the hospital's record is not there.
    expect((await call(1, 'GET', `/Patient/${patient.body.id}`)).status).toBe(404);
    const obs = await call(1, 'POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    });
    expect(obs.status).toBe(201);
    for (const n of [0, 1]) {
      const verified = await until(`node ${n} anchored`, async () => {
        const v = await call(n, 'GET', '/$verify');
        return v.body.anchored === 1 && v.body.pending === 0 ? v.body : undefined;
      });
      expect(verified.problems).toEqual([]);
    }
  });

  it('restarts on the same chain without deploying or admitting again', async () => {
    const lab = consortium.nodes[1]!;
    const id = lab.node.organisationId;
    await lab.node.stop();
    const again = await startLocalConsortiumMember(lab.dataDir);
    try {
      expect(again.organisationId).toBe(id);
      expect(again.chain.action).toBe('reused');
    } finally {
      await again.stop();
    }
  });

  async function startLocalConsortiumMember(dataDir: string) {
    const { loadConfig } = await import('../src/config.js');
    const { startNode } = await import('../src/Node.js');
    return startNode(
      loadConfig(
        [
          '--data-dir',
          dataDir,
          '--port',
          '0',
          '--ledger-rpc-url',
          consortium.rpcUrl,
          '--deployment-file',
          consortium.deploymentFile,
          '--governor-key-file',
          join(dir, 'chain', 'governor-key'),
          '--organisation-kind',
          'lab',
          '--log-level',
          'silent',
        ],
        { MEDLEDGER_KEYSTORE_PASSPHRASE: 'consortium test passphrase' },
      ),
    );
  }
});
