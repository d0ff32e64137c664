/**
 * Crypto benchmark: `npm run bench -w @medledger/crypto` (or `npm run bench` at the root).
 *
 * Measures ops/s of the operations medledger performs per record, per grant and per batch, and in the same
 * run the physical baseline — raw AES-256-GCM (node:crypto) over the same bytes — so the headline figure is a
 * ratio that does not depend on how fast this machine happens to be. Writes bench/report/crypto.{json,md}.
 *
 * Each case runs for a fixed time after a warm-up; the result is the median of several rounds.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { DataCategory } from '@medledger/core';
import {
  CategoryKey,
  CompositeSigner,
  canonicalBytes,
  compositeKeygen,
  compositeVerify,
  computeCid,
  generateKeyBundle,
  inclusionProof,
  leafHash,
  MerkleTree,
  openRecord,
  sealRecord,
  sha256,
  unwrapCategoryKey,
  verifyInclusion,
  wrapCategoryKey,
  XWingDecapsulationKey,
} from '@medledger/crypto';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 400);

interface Result {
  name: string;
  group: string;
  opsPerSec: number;
  note?: string;
}

function measure(fn: () => unknown): number {
  const deadline = performance.now() + ROUND_MS / 4;
  while (performance.now() < deadline) fn(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = performance.now();
    const end = start + ROUND_MS;
    let now = start;
    while (now < end) {
      for (let i = 0; i < 8; i++) fn();
      n += 8;
      now = performance.now();
    }
    rates.push((n * 1000) / (now - start));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/** The Synthea resource whose canonical JSON is closest to 4 KiB (a real FHIR resource, not padding). */
function fourKibResource(): Uint8Array {
  const dir = new URL('../../../../shared/data/synthea/r4-bundles/', import.meta.url);
  let best: Uint8Array | undefined;
  for (const f of readdirSync(dir).slice(0, 6)) {
    const bundle = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { entry: { resource: unknown }[] };
    for (const e of bundle.entry) {
      const bytes = canonicalBytes(e.resource);
      if (!best || Math.abs(bytes.length - 4096) < Math.abs(best.length - 4096)) best = bytes;
    }
  }
  return best!;
}

const results: Result[] = [];
function bench(group: string, name: string, fn: () => unknown, note?: string) {
  const opsPerSec = measure(fn);
  results.push({ group, name, opsPerSec, ...(note ? { note } : {}) });
  console.log(
    `${group.padEnd(10)} ${name.padEnd(44)} ${Math.round(opsPerSec).toLocaleString('en').padStart(10)} ops/s`,
  );
}

const record = fourKibResource();
console.log(
  `record: a ${record.length}-byte canonical Synthea resource; ${ROUNDS} rounds × ${ROUND_MS} ms per case`,
);

// Baseline: raw AES-256-GCM over the same bytes, no key hierarchy.
const rawKey = randomBytes(32);
const rawIv = randomBytes(12);
const rawSealed = (() => {
  const c = createCipheriv('aes-256-gcm', rawKey, rawIv);
  return { ct: Buffer.concat([c.update(record), c.final()]), tag: c.getAuthTag() };
})();
bench('baseline', 'raw AES-256-GCM encrypt (node:crypto)', () => {
  const c = createCipheriv('aes-256-gcm', rawKey, randomBytes(12));
  c.update(record);
  c.final();
  return c.getAuthTag();
});
bench('baseline', 'raw AES-256-GCM decrypt (node:crypto)', () => {
  const d = createDecipheriv('aes-256-gcm', rawKey, rawIv);
  d.setAuthTag(rawSealed.tag);
  d.update(rawSealed.ct);
  return d.final();
});

// Per record: seal/open under the key hierarchy (fresh data key wrapped under a category key).
const pseudonym = sha256(new TextEncoder().encode('bench-patient'));
const categoryKey = CategoryKey.generate({ pseudonym, category: DataCategory.Observations, epoch: 0 });
const envelope = sealRecord(categoryKey, { recordId: 'Observation/bench', recordVersion: 1 }, record);
bench('record', 'sealRecord 4 KiB (data key + category key)', () =>
  sealRecord(categoryKey, { recordId: 'Observation/bench', recordVersion: 1 }, record),
);
bench('record', 'openRecord 4 KiB', () => openRecord(envelope, () => categoryKey));
bench('record', 'CIDv1 of the sealed envelope', () => computeCid(envelope));

// Per grant: HPKE wrap of a category key to a holder's X-Wing key.
const holder = generateKeyBundle();
const holderDk = new XWingDecapsulationKey(holder.kemSecretKey);
const recipient = { keyId: holder.keyId, kemPublicKey: holder.publicBundle.kemPublicKey };
const wrapped = wrapCategoryKey(categoryKey, recipient);
bench('grant', 'wrapCategoryKey (HPKE X-Wing encap + seal)', () => wrapCategoryKey(categoryKey, recipient));
bench('grant', 'unwrapCategoryKey (HPKE X-Wing decap + open)', () =>
  unwrapCategoryKey(wrapped, { keyId: holder.keyId, decapsulationKey: holderDk }),
);

// Per batch: composite signature over a Merkle root.
const { secretKey } = compositeKeygen();
const signer = new CompositeSigner(secretKey);
const root = sha256(record);
const signature = signer.sign(root, 'medledger/bench/v1');
bench('signature', 'composite sign (ML-DSA-65 + Ed25519)', () => signer.sign(root, 'medledger/bench/v1'));
bench('signature', 'composite verify', () =>
  compositeVerify(signer.publicKey, root, signature, 'medledger/bench/v1'),
);

// Audit log: Merkle append and inclusion proofs (RFC 9162).
const tree = new MerkleTree();
let counter = 0;
bench('merkle', 'MerkleTree append (leaf hash + tree update)', () =>
  tree.append(new Uint8Array([counter++ & 0xff])),
);
const leaves = Array.from({ length: 100_000 }, (_, i) => leafHash(new TextEncoder().encode(`entry ${i}`)));
const big = MerkleTree.fromLeafHashes(leaves);
const bigRoot = big.root();
let idx = 0;
bench('merkle', 'inclusion proof, 100k-leaf tree (MerkleTree)', () => {
  idx = (idx + 7919) % 100_000;
  return big.inclusionProof(idx);
});
const proof = big.inclusionProof(4242);
bench('merkle', 'verify inclusion proof, 100k-leaf tree', () =>
  verifyInclusion(leaves[4242]!, 4242, 100_000, proof, bigRoot),
);
// inclusionProof() over a leaf array recomputes subtrees: shown for contrast with the cached MerkleTree.
const small = leaves.slice(0, 1024);
bench('merkle', 'inclusion proof, 1k leaves (stateless function)', () => inclusionProof(small, 512, 1024));

// Report
const by = (n: string) => results.find((r) => r.name.startsWith(n))!.opsPerSec;
const report = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
  recordBytes: record.length,
  rounds: ROUNDS,
  roundMs: ROUND_MS,
  results: results.map((r) => ({ ...r, opsPerSec: Math.round(r.opsPerSec) })),
  ratios: {
    sealVsRawAesGcm: by('sealRecord') / by('raw AES-256-GCM encrypt'),
    openVsRawAesGcm: by('openRecord') / by('raw AES-256-GCM decrypt'),
  },
  targets: {
    'sealRecord >= 20000/s': by('sealRecord') >= 20_000,
    'openRecord >= 20000/s': by('openRecord') >= 20_000,
    'composite sign >= 150/s': by('composite sign') >= 150,
  },
};
const outDir = new URL('./report/', import.meta.url);
mkdirSync(outDir, { recursive: true });
writeFileSync(new URL('crypto.json', outDir), `${JSON.stringify(report, null, 2)}\n`);
const md = [
  '# medledger crypto benchmark',
  '',
  `${report.date} · ${report.machine.cpus} × ${report.machine.model} · Node ${report.machine.node}`,
  `Record: a ${record.length}-byte canonical Synthea FHIR resource. Median of ${ROUNDS} rounds of ${ROUND_MS} ms.`,
  '',
  '| group | operation | ops/s |',
  '|---|---|---:|',
  ...report.results.map((r) => `| ${r.group} | ${r.name} | ${r.opsPerSec.toLocaleString('en')} |`),
  '',
  `**Headline:** sealRecord runs at ${(report.ratios.sealVsRawAesGcm * 100).toFixed(1)}% of raw AES-256-GCM ` +
    `encryption of the same bytes measured in this run; openRecord at ${(report.ratios.openVsRawAesGcm * 100).toFixed(1)}% of raw decryption.`,
  '',
  '| target | met |',
  '|---|---|',
  ...Object.entries(report.targets).map(([k, v]) => `| ${k} | ${v ? 'yes' : '**no**'} |`),
  '',
].join('\n');
writeFileSync(new URL('crypto.md', outDir), md);
console.log(`\n${md}`);
console.log(`report written to ${new URL('crypto.md', outDir).pathname}`);
