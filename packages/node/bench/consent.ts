/**
 * Consent benchmark (part of `npm run bench -w @medledger/node`): what enforcing consent costs on the read path
 * and how fast a revocation bites, on a real chain (1 s interval mining, as the embedded default).
 *
 * - Consent-check latency: the pure decision (decide) on a gathered view; the access policy's decision for one
 *   record (gathering the view: patient link, grants from the consent index, licence), measured in-process over
 *   many calls; and reads by id over HTTP by a doctor holding a grant, against the same reads by the
 *   organisation's unrestricted token in the same run.
 * - Denied against missing: the same doctor reading a record no grant covers and one that does not exist,
 *   interleaved — the two latency distributions side by side (their answers are byte-identical).
 * - Revocation latency: the patient's revocation is sent (not waited for); a watcher polls its receipt every
 *   5 ms while the doctor reads back to back; latency = first 404 − receipt first seen. Repeated ROUNDS times.
 *   In the same rounds, the key rotation the revocation causes (docs/consent.md, *Key epochs*): receipt first
 *   seen → the new epoch of the patient's observation key committed at the hospital (polled every 5 ms).
 * - Rotation cost: the key ring's `current` when an ended grant makes it start a new epoch (an X-Wing wrap and
 *   one transaction), against `current` returning the cached key, on the hospital's database, ROTATIONS times.
 *
 * Writes bench/report/consent.{json,md}. Client and nodes share this process (the care-setting fixture runs
 * the hospital and regulator in-process), so HTTP latencies include the client's share of the event loop;
 * the unrestricted baseline carries the same overhead.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Action, Purpose } from '@medledger/contracts';
import { DataCategory } from '@medledger/core';
import { bytesToHex, generateKeyBundle, hexToBytes, XWingDecapsulationKey } from '@medledger/crypto';
import { parseScopes } from '@medledger/identity';
import { RecordIndex } from '@medledger/storage';
import type { Hex } from 'viem';
import { subjectOf } from '../src/access/AccessPolicy.js';
import { decide } from '../src/access/decide.js';
import { CategoryKeyRing } from '../src/services/CategoryKeyRing.js';
import { startCareSetting } from '../test/careSetting.js';
import { stats } from './stats.js';

const READS = Number(process.env.BENCH_CONSENT_READS ?? 500);
const DECISIONS = Number(process.env.BENCH_CONSENT_DECISIONS ?? 5000);
const ROUNDS = Number(process.env.BENCH_REVOCATION_ROUNDS ?? 10);
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 200);

const setting = await startCareSetting();
try {
  const { hospital, patientKeys, relayer, ids, call } = setting;
  const grant = () => setting.grant({ categories: [DataCategory.Observations] });

  // 1. The decision itself, in-process.
  let consentId = await grant();
  const caller = {
    kind: 'person',
    id: 'bench',
    role: 'doctor',
    member: setting.members.doctor,
    scopes: parseScopes('user/*.rs'),
    purpose: Purpose.Treatment,
  } as const;
  const policy = () => hospital.records.accessFor(caller);
  const facts = {
    type: 'Observation',
    pseudonym: hospital.records.patientPseudonym(ids.patient!),
    category: DataCategory.Observations,
  };
  const decisions: number[] = [];
  for (let i = 0; i < DECISIONS; i++) {
    const t = performance.now();
    await hospital.consent.permits({
      patient: patientKeys.pseudonym,
      organisation: hospital.organisationId,
      member: setting.members.doctor,
      action: Action.Read,
      resourceClass: DataCategory.Observations,
      purpose: Purpose.Treatment,
    });
    decisions.push(performance.now() - t);
  }
  if (!(await policy().may('read', facts))) throw new Error('the access policy refuses the granted read');
  const fullDecisions: number[] = [];
  for (let i = 0; i < DECISIONS; i++) {
    const t = performance.now();
    await policy().may('read', facts); // a fresh policy each time: a request gathers its view once
    fullDecisions.push(performance.now() - t);
  }
  // The pure decision alone, on the view a request gathers.
  const subject = subjectOf(caller);
  const view = {
    organisation: hospital.organisationId,
    at: hospital.consent.now(),
    consortium: hospital.consent.consortium,
    grants: await hospital.consent.grantsOf(patientKeys.pseudonym),
    breakGlass: false,
    licenceValid: true,
  };
  const target = { type: 'Observation', owner: 'patient', category: DataCategory.Observations } as const;
  if (!decide(subject, 'read', target, view).allow) throw new Error('decide refuses the granted read');
  const pureDecisions: number[] = [];
  for (let i = 0; i < DECISIONS * 10; i++) {
    const t = performance.now();
    decide(subject, 'read', target, view);
    pureDecisions.push(performance.now() - t);
  }

  // 2. Reads by id over HTTP: consent path against the unrestricted baseline, interleaved.
  const consentReads: number[] = [];
  const baselineReads: number[] = [];
  for (let i = 0; i < READS; i++) {
    for (const [who, into] of [
      ['doctor', consentReads],
      ['admin', baselineReads],
    ] as const) {
      const t = performance.now();
      const r = await call(who, 'GET', `/Observation/${ids.observation}`);
      into.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`${who} read: HTTP ${r.status}`);
    }
  }

  // 2b. Denied against missing: the doctor has no grant for conditions; a random id does not exist.
  const deniedReads: number[] = [];
  const missingReads: number[] = [];
  for (let i = 0; i < READS; i++) {
    for (const [path, into] of [
      [`/Condition/${ids.condition}`, deniedReads],
      [`/Condition/${randomUUID()}`, missingReads],
    ] as const) {
      const t = performance.now();
      const r = await call('doctor', 'GET', path);
      into.push(performance.now() - t);
      if (r.status !== 404) throw new Error(`denied/missing read: HTTP ${r.status}`);
    }
  }

  // 3. Revocation latency: revoke transaction mined → first denied read.
  const revocations: number[] = [];
  const rotationLatencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round > 0) consentId = await grant();
    if ((await call('doctor', 'GET', `/Observation/${ids.observation}`)).status !== 200)
      throw new Error('no access');
    const deadline = BigInt(hospital.consent.now() + 600);
    const { signature } = await patientKeys.signRevocation(consentId as Hex, setting.domain(), deadline);
    const hash = await relayer.submitRevoke({ consentId: consentId as Hex, deadline, signature });
    let minedSeenAt: number | undefined;
    const watcher = (async () => {
      for (;;) {
        const receipt = await hospital.ledger.publicClient
          .getTransactionReceipt({ hash })
          .catch(() => undefined);
        if (receipt) {
          minedSeenAt = Date.now();
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let deniedAt: number;
    for (;;) {
      const r = await call('doctor', 'GET', `/Observation/${ids.observation}`);
      if (r.status === 404) {
        deniedAt = Date.now();
        break;
      }
    }
    await watcher;
    revocations.push(deniedAt - minedSeenAt!);
    for (;;) {
      const { rows } = await hospital.db.query(
        'SELECT 1 FROM category_key_rotations WHERE consent_id = $1 AND pseudonym = $2',
        [hexToBytes(consentId.slice(2)), facts.pseudonym],
      );
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    rotationLatencies.push(Date.now() - minedSeenAt!);
  }

  // 4. What one rotation costs the key ring, against a cached `current`.
  const bundle = generateKeyBundle();
  const ended: string[] = [];
  const ring = new CategoryKeyRing(
    new RecordIndex(),
    {
      keyId: bundle.keyId,
      kemPublicKey: bundle.publicBundle.kemPublicKey,
      decapsulationKey: new XWingDecapsulationKey(bundle.kemSecretKey),
    },
    { db: hospital.db, endings: async () => ended },
  );
  const benchPseudonym = new Uint8Array(randomBytes(32));
  await ring.current(hospital.db, benchPseudonym, DataCategory.Observations);
  const rotations: number[] = [];
  const cachedCurrent: number[] = [];
  for (let i = 0; i < ROTATIONS; i++) {
    ended.push(`0x${bytesToHex(randomBytes(32))}`);
    let t = performance.now();
    const key = await ring.current(hospital.db, benchPseudonym, DataCategory.Observations);
    rotations.push(performance.now() - t);
    if (key.ref.epoch !== i + 1) throw new Error('the ring did not rotate');
    t = performance.now();
    await ring.current(hospital.db, benchPseudonym, DataCategory.Observations);
    cachedCurrent.push(performance.now() - t);
  }

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    consentDecisionMs: stats(decisions),
    accessPolicyDecisionMs: stats(fullDecisions),
    pureDecisionMs: stats(pureDecisions),
    deniedVersusMissingMs: { denied: stats(deniedReads), missing: stats(missingReads) },
    readByIdMs: { withConsentCheck: stats(consentReads), unrestrictedBaseline: stats(baselineReads) },
    revocationLatencyMs: stats(revocations),
    revocationToNewEpochMs: stats(rotationLatencies),
    epochRotationMs: { rotating: stats(rotations), cachedBaseline: stats(cachedCurrent) },
  };
  const f = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 3 });
  const md = [
    '# medledger consent benchmark',
    '',
    `${report.date} · ${report.machine.cpus} × ${report.machine.model} · Node ${report.machine.node}`,
    'Hospital and regulator nodes in one local consortium (embedded anvil, 1 s blocks, PGlite), in this process.',
    '',
    '| measure | p50 | p90 | p99 | n |',
    '|---|---:|---:|---:|---:|',
    `| consent index decision (permits), ms | ${f(report.consentDecisionMs.p50)} | ${f(report.consentDecisionMs.p90)} | ${f(report.consentDecisionMs.p99)} | ${report.consentDecisionMs.n} |`,
    `| access policy decision (ceiling, licence, link, grant), ms | ${f(report.accessPolicyDecisionMs.p50)} | ${f(report.accessPolicyDecisionMs.p90)} | ${f(report.accessPolicyDecisionMs.p99)} | ${report.accessPolicyDecisionMs.n} |`,
    `| the decision alone (decide, on a gathered view), ms | ${f(report.pureDecisionMs.p50)} | ${f(report.pureDecisionMs.p90)} | ${f(report.pureDecisionMs.p99)} | ${report.pureDecisionMs.n} |`,
    `| read by id over HTTP, denied (no grant), ms | ${f(report.deniedVersusMissingMs.denied.p50)} | ${f(report.deniedVersusMissingMs.denied.p90)} | ${f(report.deniedVersusMissingMs.denied.p99)} | ${report.deniedVersusMissingMs.denied.n} |`,
    `| read by id over HTTP, missing record, ms | ${f(report.deniedVersusMissingMs.missing.p50)} | ${f(report.deniedVersusMissingMs.missing.p90)} | ${f(report.deniedVersusMissingMs.missing.p99)} | ${report.deniedVersusMissingMs.missing.n} |`,
    `| read by id over HTTP, doctor with consent, ms | ${f(report.readByIdMs.withConsentCheck.p50)} | ${f(report.readByIdMs.withConsentCheck.p90)} | ${f(report.readByIdMs.withConsentCheck.p99)} | ${report.readByIdMs.withConsentCheck.n} |`,
    `| read by id over HTTP, unrestricted baseline, ms | ${f(report.readByIdMs.unrestrictedBaseline.p50)} | ${f(report.readByIdMs.unrestrictedBaseline.p90)} | ${f(report.readByIdMs.unrestrictedBaseline.p99)} | ${report.readByIdMs.unrestrictedBaseline.n} |`,
    `| revocation mined → first denied read, ms | ${f(report.revocationLatencyMs.p50)} | ${f(report.revocationLatencyMs.p90)} | ${f(report.revocationLatencyMs.p99)} | ${report.revocationLatencyMs.n} |`,
    `| revocation mined → new key epoch committed at the custodian, ms | ${f(report.revocationToNewEpochMs.p50)} | ${f(report.revocationToNewEpochMs.p90)} | ${f(report.revocationToNewEpochMs.p99)} | ${report.revocationToNewEpochMs.n} |`,
    `| key ring: current() starting a new epoch (wrap + transaction), ms | ${f(report.epochRotationMs.rotating.p50)} | ${f(report.epochRotationMs.rotating.p90)} | ${f(report.epochRotationMs.rotating.p99)} | ${report.epochRotationMs.rotating.n} |`,
    `| key ring: current() of a cached key, baseline, ms | ${f(report.epochRotationMs.cachedBaseline.p50)} | ${f(report.epochRotationMs.cachedBaseline.p90)} | ${f(report.epochRotationMs.cachedBaseline.p99)} | ${report.epochRotationMs.cachedBaseline.n} |`,
    '',
  ].join('\n');
  const out = new URL('./report/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('consent.json', out), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL('consent.md', out), md);
  console.log(`\n${md}\nreport written to ${new URL('consent.md', out).pathname}`);
} finally {
  await setting.close();
}
process.exit(0);
