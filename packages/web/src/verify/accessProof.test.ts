/**
 * The browser's access-log check on real proofs: an audit log built with @medledger/audit-log's own leaf
 * commitments and signed checkpoints, an organisation key bundle whose commitment plays the on-chain hash.
 * Every honest entry checks (and agrees with audit-log's verifyAuditInclusion); each kind of lie fails — a
 * flipped byte in the leaf, the event, the salt or the proof, a wrong index, a checkpoint signed by another
 * key or altered after signing, another organisation's log, a key bundle that is not the committed one.
 */
import { commitAuditEvent, signCheckpoint, verifyAuditInclusion } from '@medledger/audit-log';
import {
  bytesToBase64url,
  bytesToHex,
  CompositeSigner,
  generateKeyBundle,
  inclusionProof,
  leafHash,
  publicBundleCommitment,
  rootFromLeafHashes,
} from '@medledger/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckpointJson,
  type CommittedKeyBundleJson,
  type EntryJson,
  entryIncluded,
  verifyAccessLogPage,
} from './accessProof';

const ORG = '1';
const b64 = bytesToBase64url;

function event(i: number) {
  return {
    resourceType: 'AuditEvent',
    recorded: `2026-12-07T10:00:0${i}.000Z`,
    action: 'R',
    outcome: '0',
    agent: [
      { who: { identifier: { system: 'urn:medledger:account', value: `acct-${i}` } }, requestor: true },
    ],
    purposeOfUse: [{ coding: [{ code: 'TREAT' }] }],
  };
}

function flip(base64url: string, at = 0): string {
  const bytes = Uint8Array.from(Buffer.from(base64url, 'base64url'));
  bytes[at]! ^= 0x01;
  return b64(bytes);
}

describe('access-log proofs checked in the browser', () => {
  const bundle = generateKeyBundle();
  const other = generateKeyBundle();
  let committed: CommittedKeyBundleJson;
  let page: { checkpoint: CheckpointJson; entries: EntryJson[] };
  let signer: CompositeSigner;

  beforeAll(() => {
    signer = new CompositeSigner(bundle.signingSecretKey);
    committed = {
      id: ORG,
      keyBundleHash: `0x${bytesToHex(publicBundleCommitment(bundle.publicBundle))}`,
      keyBundle: b64(bundle.publicBundle.encoded),
    };
    const events = Array.from({ length: 7 }, (_, i) => event(i));
    const commitments = events.map((e) => commitAuditEvent(e));
    const hashes = commitments.map((c) => leafHash(c.commitment));
    const cp = signCheckpoint(signer, {
      logId: `medledger:organisation:${ORG}`,
      size: hashes.length,
      root: rootFromLeafHashes(hashes),
      timestamp: Date.parse('2026-12-07T10:00:10Z'),
    });
    page = {
      checkpoint: {
        logId: cp.logId,
        size: cp.size,
        root: b64(cp.root),
        timestamp: cp.timestamp,
        signature: b64(cp.signature),
      },
      entries: events.map((e, i) => ({
        index: i,
        event: e,
        salt: b64(commitments[i]!.salt),
        commitment: b64(commitments[i]!.commitment),
        proof: inclusionProof(hashes, i).map(b64),
      })),
    };
  });

  const withEntry = (i: number, change: (e: EntryJson) => EntryJson) => ({
    ...page,
    entries: page.entries.map((e) => (e.index === i ? change(e) : e)),
  });

  it('checks every honest entry, as audit-log’s verifyAuditInclusion does', () => {
    const result = verifyAccessLogPage(page, committed, ORG);
    expect(result.key).toBe('ok');
    expect(result.checkpoint).toBe(true);
    expect(result.entries).toEqual(Array(7).fill('ok'));
    const cp = page.checkpoint;
    for (const e of page.entries) {
      const claim = {
        event: e.event,
        salt: Buffer.from(e.salt!, 'base64url'),
        commitment: Buffer.from(e.commitment, 'base64url'),
        index: e.index,
        proof: e.proof.map((p) => Buffer.from(p, 'base64url')),
        checkpoint: {
          ...cp,
          root: Buffer.from(cp.root, 'base64url'),
          signature: Buffer.from(cp.signature, 'base64url'),
        },
      };
      expect(verifyAuditInclusion(claim, bundle.publicBundle.signingPublicKey)).toBe(true);
    }
  });

  it('fails an entry whose leaf, event, salt, proof or index was changed — and only that entry', () => {
    const tampered: [string, (e: EntryJson) => EntryJson][] = [
      ['leaf (commitment)', (e) => ({ ...e, commitment: flip(e.commitment, 5) })],
      ['event', (e) => ({ ...e, event: { ...e.event, action: 'D' } })],
      ['salt', (e) => ({ ...e, salt: flip(e.salt!) })],
      ['proof', (e) => ({ ...e, proof: [flip(e.proof[0]!, 31), ...e.proof.slice(1)] })],
      ['index', (e) => ({ ...e, index: 5 })],
      ['missing salt', ({ salt: _s, ...e }) => e],
    ];
    for (const [what, change] of tampered) {
      const result = verifyAccessLogPage(withEntry(3, change), committed, ORG);
      expect(result.checkpoint, what).toBe(true);
      const failed = result.entries.flatMap((c, i) => (c === 'failed' ? [i] : []));
      expect(failed, what).toEqual([3]);
    }
  });

  it('fails every entry under a checkpoint that is not signed by the committed key', () => {
    const cp = page.checkpoint;
    const forged = signCheckpoint(new CompositeSigner(other.signingSecretKey), {
      logId: cp.logId,
      size: cp.size,
      root: Buffer.from(cp.root, 'base64url'),
      timestamp: cp.timestamp,
    });
    const cases: [string, CheckpointJson][] = [
      ['signed by another key', { ...cp, signature: b64(forged.signature) }],
      ['signature byte flipped', { ...cp, signature: flip(cp.signature, 100) }],
      ['root changed after signing', { ...cp, root: flip(cp.root) }],
      ['size changed after signing', { ...cp, size: cp.size + 1 }],
      ['another organisation’s log', { ...cp, logId: 'medledger:organisation:2' }],
    ];
    for (const [what, checkpoint] of cases) {
      const result = verifyAccessLogPage({ ...page, checkpoint }, committed, ORG);
      expect(result.checkpoint, what).toBe(false);
      expect(result.entries, what).toEqual(Array(7).fill('failed'));
    }
  });

  it('fails everything when the key bundle is not the one the registry commits to', () => {
    const swapped = { ...committed, keyBundle: b64(other.publicBundle.encoded) };
    const r1 = verifyAccessLogPage(page, swapped, ORG);
    expect(r1.key).toBe('not-committed');
    expect(r1.entries).toEqual(Array(7).fill('failed'));
    const wrongHash = { ...committed, keyBundleHash: `0x${'00'.repeat(32)}` };
    expect(verifyAccessLogPage(page, wrongHash, ORG).key).toBe('not-committed');
    const broken = { ...committed, keyBundle: flip(committed.keyBundle, 40) };
    expect(verifyAccessLogPage(page, broken, ORG).key).toBe('malformed');
    expect(verifyAccessLogPage(page, { ...committed, id: '2' }, ORG).key).toBe('not-committed');
  });

  it('marks an entry recorded before addresses were withheld as included only', () => {
    const { salt: _s, ...e } = page.entries[2]!;
    expect(entryIncluded({ ...e, redacted: true }, page.checkpoint)).toBe('included-only');
    expect(entryIncluded({ ...e, redacted: true, commitment: flip(e.commitment) }, page.checkpoint)).toBe(
      'failed',
    );
  });

  it('never throws on garbage', () => {
    const junk = {
      checkpoint: { logId: 1, size: 'x' } as never,
      entries: [{ index: 0, proof: 'no' } as never],
    };
    expect(verifyAccessLogPage(junk, committed, ORG).entries[0]).toBe('failed');
    expect(verifyAccessLogPage(page, { id: ORG } as never, ORG).key).toBe('malformed');
  });
});
