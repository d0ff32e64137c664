// The committed artifacts are a fresh compile byte for byte, and the on-chain data layout (storage slots and
// event fields) is pinned: changing it must be a deliberate edit of this file, checked against the privacy
// rules below (no names, record numbers or other plaintext identifiers; patients only as pseudonyms).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AbiFunction, toFunctionSelector } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CompileOutput,
  compile,
  generatedDir,
  governanceContracts,
  renderAll,
  suiteContracts,
} from '../scripts/solc.js';

let output: CompileOutput;
beforeAll(() => {
  output = compile();
}, 120_000);

describe('generated artifacts', () => {
  it('are byte-identical to a fresh compile', () => {
    const files = renderAll(output);
    expect(Object.keys(files).sort()).toEqual(
      [...suiteContracts, ...governanceContracts].map((n) => `${n}.generated.ts`).sort(),
    );
    for (const [name, text] of Object.entries(files)) {
      expect(readFileSync(join(generatedDir, name), 'utf8'), `${name} is stale: npm run compile`).toBe(text);
    }
  });
});

/** `label slot:offset type` with solc's AST ids removed from type names. */
function storage(contract: string): string[] {
  const layout = output.contracts[contract]!.storageLayout;
  const clean = (t: string) => t.replace(/\)\d+/g, ')');
  return layout.storage.map((s) => `${s.label} ${s.slot}:${s.offset} ${clean(s.type)}`);
}

/** Every struct stored by a contract: `Struct.member slot:offset type`. */
function storedStructs(contract: string): string[] {
  const types = output.contracts[contract]!.storageLayout.types ?? {};
  const clean = (t: string) => t.replace(/\)\d+/g, ')');
  return Object.entries(types).flatMap(([, t]) => {
    const members = (t as { members?: { label: string; slot: string; offset: number; type: string }[] })
      .members;
    return (members ?? []).map(
      (m) => `${t.label.replace('struct ', '')}.${m.label} ${m.slot}:${m.offset} ${clean(m.type)}`,
    );
  });
}

interface AbiEvent {
  type: string;
  name: string;
  inputs: { name: string; type: string; internalType: string; indexed: boolean }[];
}

function events(contract: string): string[] {
  return (output.contracts[contract]!.abi as AbiEvent[])
    .filter((item) => item.type === 'event')
    .map(
      (e) =>
        `${e.name}(${e.inputs.map((i) => `${i.internalType.replace(/^(contract|enum|struct) /, '')}${i.indexed ? ' indexed' : ''} ${i.name}`).join(', ')})`,
    )
    .sort();
}

describe('on-chain data layout', () => {
  it('pins the storage of every contract', () => {
    expect(storage('ConsortiumRegistry')).toEqual([
      '_roles 0:0 t_mapping(t_bytes32,t_struct(RoleData)_storage)',
      '_organisationCount 1:0 t_uint32',
      '_organisations 2:0 t_mapping(t_userDefinedValueType(OrganisationId),t_struct(Organisation)_storage)',
      '_nodeAccounts 3:0 t_mapping(t_address,t_userDefinedValueType(OrganisationId))',
      '_enodes 4:0 t_mapping(t_bytes32,t_userDefinedValueType(OrganisationId))',
      '_members 5:0 t_mapping(t_address,t_struct(Member)_storage)',
      '_licences 6:0 t_mapping(t_address,t_struct(Licence)_storage)',
    ]);
    expect(storage('ConsentManager')).toEqual([
      '_nameFallback 0:0 t_string_storage',
      '_versionFallback 1:0 t_string_storage',
      '_roles 2:0 t_mapping(t_bytes32,t_struct(RoleData)_storage)',
      '_consents 3:0 t_mapping(t_userDefinedValueType(ConsentId),t_uint256)',
      '_breakGlass 4:0 t_mapping(t_uint256,t_struct(BreakGlass)_storage)',
      '_breakGlassCount 5:0 t_uint256',
      '_breakGlassDurationCap 6:0 t_uint32',
    ]);
    expect(storage('RecordRegistry')).toEqual(['_chain 0:0 t_uint256']);
    expect(storage('AuditAnchor')).toEqual([
      '_checkpoints 0:0 t_mapping(t_bytes32,t_struct(Checkpoint)_storage)',
    ]);
    expect(storage('Prescriptions')).toEqual([
      '_prescriptions 0:0 t_mapping(t_userDefinedValueType(PrescriptionId),t_struct(Prescription)_storage)',
      '_rules 1:0 t_mapping(t_enum(Schedule),t_struct(ScheduleRule)_storage)',
      '_registrations 2:0 t_mapping(t_address,t_struct(ControlledRegistration)_storage)',
      '_monitoringEnabled 3:0 t_bool',
      '_monitoringLookbackDays 3:1 t_uint16',
    ]);
  });

  it('pins the structs kept in storage', () => {
    expect(storedStructs('ConsortiumRegistry').sort()).toEqual(
      [
        'AccessControl.RoleData.hasRole 0:0 t_mapping(t_address,t_bool)',
        'AccessControl.RoleData.adminRole 1:0 t_bytes32',
        'Licence.issuer 0:0 t_userDefinedValueType(OrganisationId)',
        'Licence.issuedAt 0:4 t_uint40',
        'Licence.expiresAt 0:9 t_uint40',
        'Licence.revokedAt 0:14 t_uint40',
        'Licence.credentialHash 1:0 t_bytes32',
        'Member.organisation 0:0 t_userDefinedValueType(OrganisationId)',
        'Member.role 0:4 t_enum(MemberRole)',
        'Organisation.kind 0:0 t_enum(OrganisationKind)',
        'Organisation.status 0:1 t_enum(OrganisationStatus)',
        'Organisation.keyBundleHash 1:0 t_bytes32',
        'Organisation.endpoint 2:0 t_string_storage',
        'Organisation.keyBundleUri 3:0 t_string_storage',
      ].sort(),
    );
    expect(storedStructs('ConsentManager').sort()).toEqual(
      [
        'AccessControl.RoleData.hasRole 0:0 t_mapping(t_address,t_bool)',
        'AccessControl.RoleData.adminRole 1:0 t_bytes32',
        'BreakGlass.patient 0:0 t_userDefinedValueType(PatientPseudonym)',
        'BreakGlass.member 1:0 t_address',
        'BreakGlass.openedAt 1:20 t_uint40',
        'BreakGlass.expiresAt 1:25 t_uint40',
        'BreakGlass.reviewed 1:30 t_bool',
      ].sort(),
    );
    expect(storedStructs('AuditAnchor')).toEqual([
      'AuditAnchor.Checkpoint.root 0:0 t_bytes32',
      'AuditAnchor.Checkpoint.treeSize 1:0 t_uint64',
      'AuditAnchor.Checkpoint.anchoredAt 1:8 t_uint40',
      // Set when the log is opened and never cleared: keeps the slot non-zero (see AuditAnchor's @dev).
      'AuditAnchor.Checkpoint.openedAt 1:13 t_uint40',
    ]);
    // Two words per prescription; nothing names a patient, a drug or a dosage.
    expect(storedStructs('Prescriptions').sort()).toEqual(
      [
        'ControlledRegistration.issuer 0:0 t_userDefinedValueType(OrganisationId)',
        'ControlledRegistration.schedules 0:4 t_uint8',
        'ControlledRegistration.issuedAt 0:5 t_uint40',
        'ControlledRegistration.expiresAt 0:10 t_uint40',
        'ControlledRegistration.revokedAt 0:15 t_uint40',
        'ControlledRegistration.registrationHash 1:0 t_bytes32',
        'Prescription.prescriber 0:0 t_address',
        'Prescription.organisation 0:20 t_userDefinedValueType(OrganisationId)',
        'Prescription.schedule 0:24 t_enum(Schedule)',
        'Prescription.status 0:25 t_enum(PrescriptionStatus)',
        'Prescription.fillsAllowed 0:26 t_uint8',
        'Prescription.fillsUsed 0:27 t_uint8',
        'Prescription.notBefore 1:0 t_uint40',
        'Prescription.notAfter 1:5 t_uint40',
        'Prescription.quantityAllowed 1:10 t_uint32',
        'Prescription.quantityDispensed 1:14 t_uint32',
        'Prescription.minInterval 1:18 t_uint32',
        'Prescription.issuedAt 1:22 t_uint40',
        'Prescription.lastFilledAt 1:27 t_uint40',
        'ScheduleRule.maxRefills 0:0 t_uint8',
        'ScheduleRule.maxValidity 0:1 t_uint32',
        'ScheduleRule.allowed 0:5 t_bool',
      ].sort(),
    );
  });

  it('pins every event field', () => {
    expect(events('ConsentManager')).toEqual([
      'BreakGlassDurationCapChanged(uint32 previousCap, uint32 newCap)',
      'BreakGlassEnded(uint256 indexed id)',
      'BreakGlassOpened(uint256 indexed id, PatientPseudonym indexed patient, address indexed member, OrganisationId organisation, bytes32 reasonHash, uint40 expiresAt)',
      'BreakGlassReviewed(uint256 indexed id, address indexed auditor, bool justified, bytes32 findingHash)',
      'ConsentGranted(ConsentId indexed consentId, PatientPseudonym indexed patient, OrganisationId indexed grantee, ConsentScope scope, ConsentPeriod period)',
      'ConsentRevoked(ConsentId indexed consentId)',
      'EIP712DomainChanged()',
      'RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)',
      'RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)',
      'RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)',
    ]);
    expect(events('RecordRegistry')).toEqual([
      'BatchAnchored(OrganisationId indexed organisation, bytes32 indexed root, uint64 sequence, uint32 batchSize, bytes32 signatureDigest, bytes32 head)',
      'RecordAnchored(OrganisationId indexed organisation, bytes32 indexed recordCommitment, uint64 sequence, bytes32 signatureDigest, bytes32 head)',
    ]);
    expect(events('AuditAnchor')).toEqual([
      'AuditLogOpened(OrganisationId indexed organisation, bytes32 indexed logId)',
      'CheckpointAnchored(OrganisationId indexed organisation, bytes32 indexed logId, uint64 treeSize, bytes32 root)',
    ]);
    expect(events('Prescriptions')).toEqual([
      'ControlledRegistrationIssued(address indexed member, OrganisationId indexed issuer, uint8 schedules, uint40 expiresAt, bytes32 registrationHash)',
      'ControlledRegistrationRevoked(address indexed member, OrganisationId indexed issuer)',
      'MonitoringPolicySet(OrganisationId indexed regulator, bool enabled, uint16 lookbackDays)',
      'PrescriptionCancelled(PrescriptionId indexed id, address indexed cancelledBy, bytes32 reasonHash)',
      'PrescriptionDispensed(PrescriptionId indexed id, OrganisationId indexed pharmacy, address indexed pharmacist, bytes32 dispenseCommitment, uint32 quantity, uint8 fillNumber, uint8 fillsRemaining, uint32 quantityRemaining)',
      'PrescriptionIssued(PrescriptionId indexed id, address indexed prescriber, OrganisationId indexed organisation, Schedule schedule, uint40 notBefore, uint40 notAfter, uint8 fillsAllowed, uint32 quantityAllowed, uint32 minInterval)',
      'PrescriptionRouted(PrescriptionId indexed id, OrganisationId indexed pharmacy)',
      'ScheduleRuleSet(Schedule indexed schedule, OrganisationId indexed regulator, uint8 maxRefills, uint32 maxValidity, bool allowed)',
    ]);
    expect(events('ConsortiumRegistry')).toEqual([
      'LicenceIssued(address indexed member, OrganisationId indexed issuer, bytes32 credentialHash, uint40 expiresAt)',
      'LicenceRevoked(address indexed member, OrganisationId indexed issuer)',
      'MemberRegistered(OrganisationId indexed organisation, address indexed account, MemberRole role)',
      'MemberRemoved(OrganisationId indexed organisation, address indexed account)',
      'NodeAccountAdded(OrganisationId indexed organisation, address indexed account)',
      'NodeAccountRemoved(OrganisationId indexed organisation, address indexed account)',
      'NodeEnodeAdded(OrganisationId indexed organisation, bytes32 enodeHigh, bytes32 enodeLow)',
      'NodeEnodeRemoved(OrganisationId indexed organisation, bytes32 enodeHigh, bytes32 enodeLow)',
      'OrganisationAdmitted(OrganisationId indexed organisation, OrganisationKind kind, string endpoint, bytes32 keyBundleHash, string keyBundleUri)',
      'OrganisationProfileUpdated(OrganisationId indexed organisation, string endpoint, bytes32 keyBundleHash, string keyBundleUri)',
      'OrganisationReinstated(OrganisationId indexed organisation)',
      'OrganisationSuspended(OrganisationId indexed organisation, bytes32 reasonHash)',
      'RoleAdminChanged(bytes32 indexed role, bytes32 indexed previousAdminRole, bytes32 indexed newAdminRole)',
      'RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)',
      'RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)',
    ]);
  });
});

describe('Besu permissioning interface', () => {
  it("exposes the exact functions Besu's permissioning controllers call", () => {
    const selectors = (output.contracts.ConsortiumRegistry!.abi as AbiFunction[])
      .filter((item) => item.type === 'function')
      .map((item) => toFunctionSelector(item));
    // The strings Besu hashes (TransactionSmartContractPermissioningController,
    // NodeSmartContractPermissioningController, NodeSmartContractV2PermissioningController).
    for (const signature of [
      'transactionAllowed(address,address,uint256,uint256,uint256,bytes)',
      'connectionAllowed(bytes32,bytes32,bytes16,uint16,bytes32,bytes32,bytes16,uint16)',
      'connectionAllowed(string,string,uint16)',
    ]) {
      expect(selectors, signature).toContain(toFunctionSelector(signature));
    }
    expect(toFunctionSelector('transactionAllowed(address,address,uint256,uint256,uint256,bytes)')).toBe(
      '0x936421d5',
    );
  });
});

describe('privacy of the layout', () => {
  const identifying =
    /name|mrn|ssn|nhs|email|phone|birth|dob|surname|given|identifier|passport|insuranceNumber/i;

  it('names no storage slot or event field after a personal identifier', () => {
    for (const contract of suiteContracts) {
      // OpenZeppelin's EIP712 keeps its domain name ("medledger ConsentManager") in *Fallback slots.
      const labels = [...storage(contract), ...storedStructs(contract)]
        .map((s) => s.split(' ')[0]!)
        .filter((label) => !label.endsWith('Fallback'));
      for (const label of labels) expect(label, `${contract} storage`).not.toMatch(identifying);
      for (const event of events(contract)) expect(event, `${contract} event`).not.toMatch(identifying);
    }
  });

  it('keeps patient-facing contracts free of free text: no strings or bytes outside the EIP-712 domain', () => {
    for (const contract of ['ConsentManager', 'RecordRegistry', 'AuditAnchor', 'Prescriptions']) {
      const slots = storage(contract).filter(
        (s) => !s.startsWith('_nameFallback') && !s.startsWith('_versionFallback'),
      );
      for (const line of [...slots, ...storedStructs(contract), ...events(contract)]) {
        expect(line, contract).not.toMatch(/t_string|t_bytes_storage|\bstring\b|\bbytes\b /);
      }
    }
    // The registry holds only organisations' public profile text.
    const registryText = [...storedStructs('ConsortiumRegistry'), ...events('ConsortiumRegistry')].filter(
      (l) => /string/.test(l),
    );
    expect(registryText.join('\n')).not.toMatch(/\bstring (?!endpoint|keyBundleUri)/);
  });

  it('types every patient field as a pseudonym', () => {
    for (const contract of suiteContracts) {
      for (const line of [...storedStructs(contract), ...events(contract)]) {
        for (const match of line.matchAll(/(\S+)(?: indexed)? patient\b/g)) {
          expect(match[1], `${contract}: ${line}`).toBe('PatientPseudonym');
        }
        if (/\.patient /.test(line)) expect(line).toContain('PatientPseudonym');
      }
    }
  });
});
