// Gas report and budgets. Measures each operation's transaction gasUsed (21,000 intrinsic gas included),
// asserts the issue's budgets, and deploys the seed's HealthRecordAccess (read from ../shared/anchors) to
// report its grantAccess beside our grant. Writes report/gas.json and report/gas.md.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Abi, type Hex, keccak256, parseEther, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, packageRoot } from '../scripts/solc.js';
import {
  consentIdOf,
  dispenseCommitment,
  MemberRole,
  OrganisationKind,
  packConsent,
  prescriptionCommitment,
  Schedule,
  scheduleMask,
} from '../src/index.js';
import { newPatient, signGrant, signRevoke, terms } from './helpers/consent.js';
import { HOSPITAL, type Suite, startSuite } from './helpers/fixture.js';

const BUDGET = {
  grantBySig: 55_000,
  revokeBySig: 35_000,
  anchorBatch: 50_000,
  anchorCheckpoint: 45_000,
  prescribe: 100_000,
  dispense: 70_000,
  cancel: 42_000,
  route: 58_000,
};
const INTRINSIC = 21_000;
const repoRoot = resolve(packageRoot, '..', '..');
/** The seed's contract, from shared/anchors beside the repository (override with MEDLEDGER_ANCHORS_DIR). */
const referenceFile = resolve(
  process.env.MEDLEDGER_ANCHORS_DIR ?? resolve(repoRoot, '..', 'shared', 'anchors'),
  'HealthRecordAccess.sol',
);

interface Row {
  operation: string;
  gasUsed: number;
  budget?: number;
  note?: string;
}

describe.skipIf(Boolean(process.env.MEDLEDGER_COVERAGE_DIR))('gas', () => {
  let suite: Suite;
  const rows: Row[] = [];
  const measure = (operation: string, gasUsed: bigint, budget?: number, note?: string) => {
    rows.push({
      operation,
      gasUsed: Number(gasUsed),
      ...(budget ? { budget } : {}),
      ...(note ? { note } : {}),
    });
    return Number(gasUsed);
  };

  beforeAll(async () => {
    suite = await startSuite();
  });
  afterAll(async () => {
    await suite?.stop();
  });

  it('keeps a relayed consent grant within 55,000 gas and a relayed revocation within 35,000', async () => {
    const { hospitalNode } = suite.accounts;
    const grants: number[] = [];
    const revokes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const patient = newPatient();
      const now = await suite.now();
      // Half the grants name a single member: 20 more non-zero calldata bytes.
      const consent = terms(patient, now, {
        nonce: BigInt(i + 1),
        ...(i % 2 ? { granteeMember: suite.accounts.clinicPractitioner.address } : {}),
      });
      const deadline = BigInt(now + 600);
      const sig = await signGrant(
        patient.account,
        suite.deployment.chainId,
        suite.addresses.ConsentManager,
        consent,
        deadline,
      );
      const granted = await suite.send(hospitalNode, 'ConsentManager', 'grantConsentBySig', [
        packConsent(consent),
        deadline,
        sig.r,
        sig.vs,
      ]);
      grants.push(Number(granted.gasUsed));
      const rsig = await signRevoke(
        patient.account,
        suite.deployment.chainId,
        suite.addresses.ConsentManager,
        consentIdOf(consent),
        deadline,
      );
      const revoked = await suite.send(hospitalNode, 'ConsentManager', 'revokeConsentBySig', [
        consentIdOf(consent),
        deadline,
        rsig.r,
        rsig.vs,
      ]);
      revokes.push(Number(revoked.gasUsed));
    }
    const grant = Math.max(...grants);
    const revoke = Math.max(...revokes);
    measure('ConsentManager.grantConsentBySig (relayed, max of 8)', BigInt(grant), BUDGET.grantBySig);
    measure('ConsentManager.revokeConsentBySig (relayed, max of 8)', BigInt(revoke), BUDGET.revokeBySig);
    expect(grant).toBeLessThanOrEqual(BUDGET.grantBySig);
    expect(revoke).toBeLessThanOrEqual(BUDGET.revokeBySig);
  });

  it('measures grants and revocations sent by the patient directly', async () => {
    const patient = newPatient();
    await suite.chain.testClient.setBalance({ address: patient.account.address, value: parseEther('1') });
    const consent = terms(patient, await suite.now());
    const wallet = suite.chain.wallet(patient.account as never);
    const grantHash = await wallet.writeContract({
      address: suite.addresses.ConsentManager,
      abi: (await import('../src/index.js')).consentManagerAbi,
      functionName: 'grantConsent',
      args: [packConsent(consent)],
      chain: wallet.chain,
      account: patient.account,
    });
    const granted = await suite.chain.publicClient.waitForTransactionReceipt({ hash: grantHash });
    const revokeHash = await wallet.writeContract({
      address: suite.addresses.ConsentManager,
      abi: (await import('../src/index.js')).consentManagerAbi,
      functionName: 'revokeConsent',
      args: [consentIdOf(consent)],
      chain: wallet.chain,
      account: patient.account,
    });
    const revoked = await suite.chain.publicClient.waitForTransactionReceipt({ hash: revokeHash });
    expect(granted.status).toBe('success');
    expect(revoked.status).toBe('success');
    measure('ConsentManager.grantConsent (patient sends)', granted.gasUsed);
    measure('ConsentManager.revokeConsent (patient sends)', revoked.gasUsed);
  });

  it('keeps a batch anchor within 50,000 gas whatever the batch size', async () => {
    const { hospitalNode } = suite.accounts;
    const sizes = [1, 1_000, 1_000_000, 0xffffffff];
    const used: number[] = [];
    for (const size of sizes) {
      const receipt = await suite.send(hospitalNode, 'RecordRegistry', 'anchorBatch', [
        keccak256(toHex(`root ${size}`)),
        size,
        keccak256(toHex(`signature ${size}`)),
      ]);
      used.push(
        measure(`RecordRegistry.anchorBatch (batch of ${size})`, receipt.gasUsed, BUDGET.anchorBatch),
      );
    }
    for (const gas of used) expect(gas).toBeLessThanOrEqual(BUDGET.anchorBatch);
    // The size is a number in calldata: cost varies only with its non-zero bytes.
    expect(Math.max(...used) - Math.min(...used)).toBeLessThanOrEqual(200);
    const single = await suite.send(hospitalNode, 'RecordRegistry', 'anchorRecord', [
      keccak256(toHex('record commitment')),
      keccak256(toHex('record signature')),
    ]);
    measure('RecordRegistry.anchorRecord', single.gasUsed);
  });

  it("keeps every audit checkpoint within 45,000 gas, a log's first included", async () => {
    const { hospitalNode } = suite.accounts;
    const logId = keccak256(toHex('hospital audit log'));
    const opened = await suite.send(hospitalNode, 'AuditAnchor', 'openLog', [logId]);
    expect(opened.status).toBe('success');
    measure('AuditAnchor.openLog (once per log)', opened.gasUsed, undefined, "writes the log's two slots");
    const first = await suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [
      logId,
      100n,
      keccak256(toHex('root 100')),
    ]);
    const firstGas = measure(
      'AuditAnchor.anchorCheckpoint (first checkpoint of a log)',
      first.gasUsed,
      BUDGET.anchorCheckpoint,
    );
    const later: number[] = [];
    for (const size of [250n, 1_000n, 123_456_789n]) {
      const receipt = await suite.send(hospitalNode, 'AuditAnchor', 'anchorCheckpoint', [
        logId,
        size,
        keccak256(toHex(`root ${size}`)),
      ]);
      later.push(Number(receipt.gasUsed));
    }
    const worst = Math.max(...later);
    measure(
      'AuditAnchor.anchorCheckpoint (later checkpoints, max of 3)',
      BigInt(worst),
      BUDGET.anchorCheckpoint,
    );
    expect(firstGas).toBeLessThanOrEqual(BUDGET.anchorCheckpoint);
    expect(worst).toBeLessThanOrEqual(BUDGET.anchorCheckpoint);
    // Opening the log is what makes the first checkpoint a rewrite: it costs no more than a later one.
    expect(firstGas).toBeLessThanOrEqual(worst + 200);
  });

  it('measures break-glass and registry operations', async () => {
    const { practitioner, auditor, hospitalNode } = suite.accounts;
    const opened = await suite.send(practitioner, 'ConsentManager', 'openBreakGlass', [
      newPatient().pseudonym,
      keccak256(toHex('unconscious, no consent on file')),
      3600,
    ]);
    measure('ConsentManager.openBreakGlass', opened.gasUsed);
    await suite.advance(3600);
    const reviewed = await suite.send(auditor, 'ConsentManager', 'closeBreakGlassReview', [
      1n,
      true,
      keccak256(toHex('finding')),
    ]);
    measure('ConsentManager.closeBreakGlassReview', reviewed.gasUsed);
    const member = await suite.send(hospitalNode, 'ConsortiumRegistry', 'registerMember', [
      suite.chain.account(9).address,
      MemberRole.Practitioner,
    ]);
    measure('ConsortiumRegistry.registerMember', member.gasUsed);
    expect(HOSPITAL).toBe(1);
  });

  it('keeps prescribing, routing, dispensing and cancelling within their budgets', async () => {
    const { admin, practitioner, regulatorNode } = suite.accounts;
    const pharmacyNode = suite.chain.account(8);
    const pharmacist = suite.chain.account(10);
    await suite.chain.testClient.setBalance({ address: pharmacist.address, value: parseEther('10') });
    const admitted = await suite.send(admin, 'ConsortiumRegistry', 'admitOrganisation', [
      OrganisationKind.Pharmacy,
      'https://node.pharmacy.example',
      keccak256(toHex('key bundle of the pharmacy')),
      'https://node.pharmacy.example/.well-known/medledger/keys',
    ]);
    const pharmacy = admitted.events.find((e) => e.eventName === 'OrganisationAdmitted')!.args.organisation;
    await suite.send(admin, 'ConsortiumRegistry', 'addNodeAccount', [pharmacy, pharmacyNode.address]);
    await suite.send(pharmacyNode, 'ConsortiumRegistry', 'registerMember', [
      pharmacist.address,
      MemberRole.Pharmacist,
    ]);
    const now = await suite.now();
    await suite.send(regulatorNode, 'Prescriptions', 'issueControlledRegistration', [
      practitioner.address,
      scheduleMask(Schedule.II, Schedule.III, Schedule.IV, Schedule.V),
      now + 365 * 86_400,
      keccak256(toHex('registration')),
    ]);
    const prescribed: number[] = [];
    const dispensed: number[] = [];
    const cancelled: number[] = [];
    const routed: number[] = [];
    const schedules = [Schedule.None, Schedule.II, Schedule.III, Schedule.IV];
    for (let i = 0; i < 8; i++) {
      const schedule = schedules[i % schedules.length]!;
      const id = prescriptionCommitment(keccak256(toHex(`salt ${i}`)), keccak256(toHex(`request ${i}`)));
      const at = await suite.now();
      const rx = await suite.send(practitioner, 'Prescriptions', 'prescribe', [
        id,
        {
          notBefore: at,
          notAfter: at + 30 * 86_400,
          fillsAllowed: schedule === Schedule.II ? 1 : 3,
          quantityAllowed: 90,
          minInterval: i % 2 ? 86_400 : 0,
          schedule,
        },
      ]);
      prescribed.push(Number(rx.gasUsed));
      const routing = await suite.send(suite.accounts.hospitalNode, 'Prescriptions', 'route', [id, pharmacy]);
      routed.push(Number(routing.gasUsed));
      // The first fill, and (when allowed) a refill: the refill rewrites warm, non-zero words.
      const fills = schedule === Schedule.II ? 1 : 2;
      for (let f = 0; f < fills; f++) {
        if (f > 0) await suite.advance(86_400);
        const filled = await suite.send(pharmacist, 'Prescriptions', 'dispense', [
          id,
          30,
          dispenseCommitment(keccak256(toHex(`fill salt ${i}.${f}`)), keccak256(toHex(`dispense ${i}.${f}`))),
        ]);
        dispensed.push(Number(filled.gasUsed));
      }
      if (schedule !== Schedule.II) {
        const cancel = await suite.send(practitioner, 'Prescriptions', 'cancel', [
          id,
          keccak256(toHex(`reason ${i}`)),
        ]);
        cancelled.push(Number(cancel.gasUsed));
      }
    }
    const worst = (xs: number[]) => Math.max(...xs);
    measure(
      'Prescriptions.prescribe (max of 8, schedules None to IV)',
      BigInt(worst(prescribed)),
      BUDGET.prescribe,
    );
    measure(
      'Prescriptions.dispense (max of 14, first fills and refills)',
      BigInt(worst(dispensed)),
      BUDGET.dispense,
    );
    measure('Prescriptions.cancel (max of 6)', BigInt(worst(cancelled)), BUDGET.cancel);
    measure('Prescriptions.route (max of 8)', BigInt(worst(routed)), BUDGET.route);
    expect(worst(prescribed)).toBeLessThanOrEqual(BUDGET.prescribe);
    expect(worst(dispensed)).toBeLessThanOrEqual(BUDGET.dispense);
    expect(worst(cancelled)).toBeLessThanOrEqual(BUDGET.cancel);
    expect(worst(routed)).toBeLessThanOrEqual(BUDGET.route);
  });

  it("compares our grant with the seed's HealthRecordAccess.grantAccess and writes the report", async () => {
    if (!existsSync(referenceFile)) {
      throw new Error(
        `${referenceFile} not found: the repository must sit beside shared/ (or set MEDLEDGER_ANCHORS_DIR)`,
      );
    }
    const source = readFileSync(referenceFile, 'utf8');
    const compiled = compile({ sources: { 'anchors/HealthRecordAccess.sol': source } }).contracts
      .HealthRecordAccess;
    if (!compiled) throw new Error('HealthRecordAccess did not compile');
    const { admin, practitioner } = suite.accounts;
    const wallet = suite.chain.wallet(admin);
    const deployHash = await wallet.deployContract({
      abi: compiled.abi as Abi,
      bytecode: compiled.bytecode,
      chain: wallet.chain,
      account: admin,
    });
    const deployed = await suite.chain.publicClient.waitForTransactionReceipt({ hash: deployHash });
    const address = deployed.contractAddress!;
    const recordHash: Hex = keccak256(toHex('record'));
    const call = async (functionName: string, args: readonly unknown[]) => {
      const hash = await wallet.writeContract({
        address,
        abi: compiled.abi as Abi,
        functionName,
        args,
        chain: wallet.chain,
        account: admin,
      });
      return suite.chain.publicClient.waitForTransactionReceipt({ hash });
    };
    const registered = await call('registerRecord', [recordHash]);
    const granted = await call('grantAccess', [practitioner.address, recordHash]);
    expect(granted.status).toBe('success');
    measure('HealthRecordAccess.registerRecord (seed reference)', registered.gasUsed);
    const reference = measure('HealthRecordAccess.grantAccess (seed reference)', granted.gasUsed);

    const ours = rows.find((r) => r.operation.startsWith('ConsentManager.grantConsentBySig'))!.gasUsed;
    const ratio = reference / ours;
    const report = {
      generatedAt: new Date().toISOString(),
      note: 'gasUsed per transaction, including the 21,000 intrinsic gas; anvil --hardfork prague; solc 0.8.30, optimizer 10,000 runs',
      intrinsic: INTRINSIC,
      rows: rows.map((r) => ({ ...r, gasExcludingIntrinsic: r.gasUsed - INTRINSIC })),
      comparison: {
        reference: 'HealthRecordAccess.grantAccess',
        referenceGas: reference,
        ours: 'ConsentManager.grantConsentBySig',
        oursGas: ours,
        referenceOverOurs: Number(ratio.toFixed(2)),
      },
    };
    const dir = join(packageRoot, 'report');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'gas.json'), `${JSON.stringify(report, null, 2)}\n`);
    const table = [
      '# Gas report',
      '',
      `${report.note}.`,
      '',
      '| operation | gasUsed | excl. intrinsic | budget |',
      '|---|---:|---:|---:|',
      ...report.rows.map(
        (r) =>
          `| ${r.operation}${r.note ? ` (${r.note})` : ''} | ${r.gasUsed} | ${r.gasExcludingIntrinsic} | ${r.budget ?? ''} |`,
      ),
      '',
      `HealthRecordAccess.grantAccess uses ${reference} gas, ${ratio.toFixed(2)}× our relayed, signature-checked grant (${ours}).`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'gas.md'), table);
    // Opening a log is reported beside the checkpoints it makes cheap.
    expect(report.rows.map((r) => r.operation)).toEqual(
      expect.arrayContaining([
        'AuditAnchor.openLog (once per log)',
        'AuditAnchor.anchorCheckpoint (first checkpoint of a log)',
        'AuditAnchor.anchorCheckpoint (later checkpoints, max of 3)',
      ]),
    );
    expect(ratio).toBeGreaterThan(1);
  });
});
