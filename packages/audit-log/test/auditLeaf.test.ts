import { canonicalBytes, concatBytes, sha256 } from '@medledger/crypto';
import { describe, expect, it } from 'vitest';
import { commitAuditEvent, commitCanonicalAuditEvent, verifyCommitment } from '../src/auditLeaf.js';

const event = { resourceType: 'AuditEvent', action: 'R', recorded: '2026-01-01T00:00:00Z', outcome: '0' };

describe('audit leaf commitments', () => {
  it('is SHA-256(salt ‖ canonical event) with a fresh 32-byte salt', () => {
    const { salt, commitment } = commitAuditEvent(event);
    expect(salt).toHaveLength(32);
    expect(commitment).toEqual(sha256(concatBytes(salt, canonicalBytes(event))));
    expect(verifyCommitment(event, salt, commitment)).toBe(true);
    expect(commitCanonicalAuditEvent(canonicalBytes(event), salt).commitment).toEqual(commitment);
    expect(() => commitCanonicalAuditEvent(canonicalBytes(event), new Uint8Array(31))).toThrow(/32 bytes/);
  });

  it('ignores key order (canonical JSON) and hides equal events under different salts', () => {
    const reordered = {
      outcome: '0',
      recorded: '2026-01-01T00:00:00Z',
      action: 'R',
      resourceType: 'AuditEvent',
    };
    const a = commitAuditEvent(event);
    expect(commitAuditEvent(reordered, a.salt).commitment).toEqual(a.commitment);
    expect(commitAuditEvent(event).commitment).not.toEqual(a.commitment);
  });

  it('rejects another event, salt or commitment, and malformed input, without throwing', () => {
    const { salt, commitment } = commitAuditEvent(event);
    expect(verifyCommitment({ ...event, action: 'U' }, salt, commitment)).toBe(false);
    const salt2 = salt.slice();
    salt2[0]! ^= 1;
    expect(verifyCommitment(event, salt2, commitment)).toBe(false);
    expect(verifyCommitment(event, salt.subarray(1), commitment)).toBe(false);
    expect(verifyCommitment(event, salt, commitment.subarray(1))).toBe(false);
    expect(verifyCommitment({ bad: Number.NaN }, salt, commitment)).toBe(false);
    expect(() => commitAuditEvent(event, new Uint8Array(31))).toThrow(/32 bytes/);
  });
});
