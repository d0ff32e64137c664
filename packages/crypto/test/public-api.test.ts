/**
 * The whole key hierarchy through the package's public entry point, as a node will use it: an organisation
 * keystore, a patient's records sealed under category keys, a grant wrapped to another organisation, content
 * addressing, and a Merkle batch root signed with the composite key.
 */
import { DataCategory } from '@medledger/core';
import {
  CategoryKey,
  canonicalBytes,
  compositeSign,
  compositeVerify,
  computeCid,
  decodePublicKeyBundle,
  derivePatientPseudonym,
  deriveSubkey,
  hexToBytes,
  Keystore,
  leafHash,
  MerkleTree,
  openRecord,
  publicBundleCommitment,
  sealRecord,
  unwrapCategoryKey,
  verifyCid,
  verifyInclusion,
  wrapCategoryKey,
  XWingDecapsulationKey,
} from '@medledger/crypto';
import { describe, expect, it } from 'vitest';
import { syntheaResources } from './fixtures.js';

const FAST = { N: 2 ** 14, r: 8, p: 1 };

describe('@medledger/crypto public API, end to end', () => {
  it('custodian seals a Synthea patient, grants observations to a lab, the lab reads them', () => {
    const hospital = Keystore.create('hospital passphrase 1', { scrypt: FAST });
    const lab = Keystore.create('lab passphrase 123456', { scrypt: FAST });
    // The lab's public bundle travels to the hospital; its commitment would be checked against the registry.
    const labPublic = decodePublicKeyBundle(lab.exportPublicBundle().encoded);
    expect(publicBundleCommitment(labPublic)).toEqual(publicBundleCommitment(lab.exportPublicBundle()));

    const master = new Uint8Array(32).fill(7);
    const patient = syntheaResources().find((r) => r.resourceType === 'Patient')!;
    const pseudonymHex = derivePatientPseudonym(
      deriveSubkey(master, 'patient-pseudonym'),
      'urn:synthea',
      String(patient.id),
    );
    const pseudonym = hexToBytes(pseudonymHex.slice(2));

    const obsKey = CategoryKey.generate({ pseudonym, category: DataCategory.Observations, epoch: 0 });
    const observations = syntheaResources().filter((r) => r.resourceType === 'Observation');
    expect(observations.length).toBeGreaterThan(5);

    const tree = new MerkleTree();
    const blobs = observations.map((o, i) => {
      const envelope = sealRecord(
        obsKey,
        { recordId: `Observation/${o.id}`, recordVersion: 1 },
        canonicalBytes(o),
      );
      const cid = computeCid(envelope);
      tree.append(new TextEncoder().encode(`${cid}|Observation/${o.id}|1`));
      return { cid, envelope, i };
    });
    const rootSig = compositeSign(
      hospital.active().signingSecretKey,
      tree.root(),
      'medledger/record-batch/v1',
    );
    const hospitalSigningKey = hospital.exportPublicBundle().signingPublicKey;
    expect(compositeVerify(hospitalSigningKey, tree.root(), rootSig, 'medledger/record-batch/v1')).toBe(true);

    // Grant: one HPKE wrap of the category key to the lab.
    const wrapped = wrapCategoryKey(obsKey, { keyId: labPublic.keyId, kemPublicKey: labPublic.kemPublicKey });
    const labKey = unwrapCategoryKey(wrapped, {
      keyId: lab.active().keyId,
      decapsulationKey: new XWingDecapsulationKey(lab.active().kemSecretKey),
    });
    for (const { cid, envelope, i } of blobs) {
      expect(verifyCid(cid, envelope)).toBe(true);
      const { plaintext } = openRecord(envelope, () => labKey);
      expect(plaintext).toEqual(canonicalBytes(observations[i]));
      const proof = tree.inclusionProof(i);
      const leaf = leafHash(new TextEncoder().encode(`${cid}|Observation/${observations[i]!.id}|1`));
      expect(verifyInclusion(leaf, i, tree.size, proof, tree.root())).toBe(true);
    }
  });
});
