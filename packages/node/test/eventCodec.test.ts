/**
 * The audit event codec: canonical bytes → deflate against the frozen dictionary → key-committing AES-GCM, and
 * back; events sealed by the first slice (v1, not deflated) still open; anything altered or sealed under
 * another key is refused with MDL_DECRYPT_FAILED.
 */
import { randomBytes } from 'node:crypto';
import { AeadKey, canonicalBytes, utf8ToBytes } from '@medledger/crypto';
import { describe, expect, it } from 'vitest';
import { auditEventsOf } from '../src/audit/auditEvents.js';
import { openAuditEvent, sealAuditEvent } from '../src/audit/eventCodec.js';

const key = new AeadKey(new Uint8Array(randomBytes(32)));
const read = auditEventsOf(
  {
    method: 'GET',
    route: '/fhir/:type/:id',
    params: { type: 'Observation', id: randomBytes(16).toString('hex') },
    status: 200,
    caller: { kind: 'person', id: randomBytes(8).toString('hex'), role: 'doctor', scopes: [], purpose: 0 },
    address: '10.1.2.3',
    subjects: [{ pseudonym: new Uint8Array(randomBytes(32)), breakGlass: true }],
    denied: false,
  },
  7,
  new Date(),
)[0]!.event;

describe('the audit event codec', () => {
  it('round-trips the canonical bytes and keeps a BALP read small at rest', () => {
    const canonical = canonicalBytes(read);
    const sealed = sealAuditEvent(key, canonical);
    expect(openAuditEvent(key, sealed)).toEqual(canonical);
    expect(canonical.length).toBeGreaterThan(1000);
    expect(sealed.length).toBeLessThan(canonical.length / 3);
  });

  it('opens events sealed before compression (v1)', () => {
    const canonical = canonicalBytes(read);
    const v1 = key.seal(canonical, utf8ToBytes('medledger/audit-event/v1'));
    expect(openAuditEvent(key, v1)).toEqual(canonical);
  });

  it('refuses altered bytes, another key, and a v2 label over bytes that do not inflate', () => {
    const sealed = sealAuditEvent(key, canonicalBytes(read));
    const flipped = sealed.slice();
    flipped[flipped.length - 5]! ^= 1;
    expect(() => openAuditEvent(key, flipped)).toThrow(
      expect.objectContaining({ code: 'MDL_DECRYPT_FAILED' }),
    );
    const other = new AeadKey(new Uint8Array(randomBytes(32)));
    expect(() => openAuditEvent(other, sealed)).toThrow(
      expect.objectContaining({ code: 'MDL_DECRYPT_FAILED' }),
    );
    const garbage = key.seal(new Uint8Array([0xff, 0xff, 0xff]), utf8ToBytes('medledger/audit-event/v2'));
    expect(() => openAuditEvent(key, garbage)).toThrow(/does not inflate/);
  });
});
