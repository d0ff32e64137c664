/**
 * Project Wycheproof vectors (shared/data/wycheproof) against both platform implementations in Node: node.ts
 * (node:crypto) and web.ts (@noble/*), plus HKDF from hash.ts. A vector file that yields no executed case fails,
 * every JSON file in the directory must be either run or listed as deliberately unused, and a mutation check
 * shows the runner can fail. The same runner runs inside Chromium in browser.int.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hkdf } from '../src/hash.js';
import { platform as nodePlatform } from '../src/platform/node.js';
import type { Platform } from '../src/platform/Platform.js';
import { platform as webPlatform } from '../src/platform/web.js';
import {
  formatReport,
  runWycheproof,
  UNUSED_FILES,
  type VectorReport,
  WYCHEPROOF_FILES,
  type WycheproofFile,
  type WycheproofTest,
} from './vectors/wycheproof.js';

/** shared/data/wycheproof beside the repository root (override with MEDLEDGER_WYCHEPROOF_DIR). */
const WYCHEPROOF_DIR =
  process.env.MEDLEDGER_WYCHEPROOF_DIR ??
  fileURLToPath(new URL('../../../../shared/data/wycheproof/', import.meta.url));

function loadVectors(name: string): WycheproofFile {
  return JSON.parse(readFileSync(`${WYCHEPROOF_DIR}/${name}.json`, 'utf8')) as WycheproofFile;
}

const platforms: readonly Platform[] = [nodePlatform, webPlatform];
const summary: string[] = [];

afterAll(() => {
  if (summary.length > 0) console.log(summary.join('\n'));
});

function expectClean(report: VectorReport, file: WycheproofFile): void {
  expect(report.failures).toEqual([]);
  expect(report.failed).toBe(0);
  expect(report.total - report.skipped, 'the file must execute at least one case').toBeGreaterThan(0);
  if (file.numberOfTests !== undefined) expect(report.total).toBe(file.numberOfTests);
}

describe('Wycheproof vector files', () => {
  it('every file in the directory is run or deliberately unused', () => {
    const present = readdirSync(WYCHEPROOF_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
    expect(present).toEqual([...WYCHEPROOF_FILES, ...Object.keys(UNUSED_FILES)].sort());
    summary.push(...Object.entries(UNUSED_FILES).map(([name, why]) => `wycheproof ${name} not run: ${why}`));
  });
});

// ML-KEM and ML-DSA come from @noble/post-quantum on both platforms, so their files run once, under [node].
const usesPlatform = (name: string) => !name.startsWith('mlkem_') && !name.startsWith('mldsa_');

for (const platform of platforms) {
  describe(`Wycheproof [${platform.name}]`, () => {
    const files = platform === nodePlatform ? WYCHEPROOF_FILES : WYCHEPROOF_FILES.filter(usesPlatform);
    it.each(files)('%s', (name) => {
      const file = loadVectors(name);
      const report = runWycheproof(file, platform, { name });
      summary.push(formatReport(report, platform.name));
      expectClean(report, file);
    });
  });
}

describe('Wycheproof HKDF through src/hash.ts', () => {
  it('hkdf_sha256_test with hash.ts hkdf (default platform)', () => {
    const file = loadVectors('hkdf_sha256_test');
    const report = runWycheproof(file, nodePlatform, { name: 'hkdf_sha256_test', hkdf });
    summary.push(formatReport(report, 'node, hash.ts hkdf'));
    expectClean(report, file);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The runner must be able to fail: corrupt one case and check that exactly that case is reported.

/** The field holding each schema's expected output (what a mutation corrupts). */
const OUTPUT_FIELD: Record<string, string> = {
  'aead_test_schema_v1.json': 'tag',
  'xdh_comp_schema_v1.json': 'shared',
  'eddsa_verify_schema_v1.json': 'sig',
  'mac_test_schema_v1.json': 'tag',
  'hkdf_test_schema_v1.json': 'okm',
  'mlkem_test_schema.json': 'K',
  'mlkem_encaps_test_schema.json': 'K',
  'mlkem_keygen_seed_test_schema.json': 'ek',
  'mlkem_semi_expanded_decaps_test_schema.json': 'K',
  'mldsa_verify_schema.json': 'sig',
  'mldsa_sign_seed_schema.json': 'sig',
  'mldsa_sign_noseed_schema.json': 'sig',
};

/** Flips the lowest bit of the last byte of a hex string. */
function flipLastBit(hexText: string): string {
  const last = Number.parseInt(hexText.slice(-2), 16);
  return hexText.slice(0, -2) + (last ^ 1).toString(16).padStart(2, '0');
}

/** A one-case copy of `file` holding its first valid case, changed by `mutate`. */
function oneCaseCopy(
  file: WycheproofFile,
  mutate: (test: WycheproofTest) => WycheproofTest,
): { copy: WycheproofFile; tcId: number } {
  for (const group of file.testGroups) {
    const test = group.tests.find((t) => t.result === 'valid');
    if (test) {
      return {
        copy: { ...file, numberOfTests: 1, testGroups: [{ ...group, tests: [mutate(test)] }] },
        tcId: test.tcId,
      };
    }
  }
  throw new Error(`${file.schema} has no valid case`);
}

describe('Wycheproof runner can fail', () => {
  it.each(WYCHEPROOF_FILES)('%s: a corrupted expected output is reported', (name) => {
    const file = loadVectors(name);
    const field = OUTPUT_FIELD[file.schema];
    expect(field, `no output field known for ${file.schema}`).toBeDefined();
    const pristine = oneCaseCopy(file, (t) => t);
    expect(runWycheproof(pristine.copy, webPlatform).failed).toBe(0);

    const { copy, tcId } = oneCaseCopy(file, (t) => {
      expect(typeof t[field!], `tcId ${t.tcId} has no ${field}`).toBe('string');
      return { ...t, [field!]: flipLastBit(t[field!] as string) };
    });
    const report = runWycheproof(copy, webPlatform);
    expect(report.total).toBe(1);
    expect(report.failed).toBe(1);
    expect(report.failures[0]).toMatch(new RegExp(`^tcId ${tcId} \\(valid`));
  });

  it.each(WYCHEPROOF_FILES)('%s: a valid case relabelled invalid is reported as accepted', (name) => {
    const { copy, tcId } = oneCaseCopy(loadVectors(name), (t) => ({ ...t, result: 'invalid' }));
    const report = runWycheproof(copy, webPlatform);
    expect(report.failed).toBe(1);
    expect(report.failures[0]).toMatch(new RegExp(`^tcId ${tcId} \\(invalid.*(accepted|verified)`));
  });

  it('a corrupted AES-GCM case fails on the node platform too', () => {
    const { copy, tcId } = oneCaseCopy(loadVectors('aes_gcm_test'), (t) => ({
      ...t,
      ct: flipLastBit(t.ct as string),
    }));
    const report = runWycheproof(copy, nodePlatform);
    expect(report.failures).toEqual([expect.stringMatching(new RegExp(`^tcId ${tcId} .*ciphertext`))]);
  });

  it('refuses a file it has no runner for, and counts a file without cases as zero', () => {
    expect(() =>
      runWycheproof({ ...loadVectors('hmac_sha256_test'), algorithm: 'HMACSHA1' }, nodePlatform),
    ).toThrow(/no Wycheproof runner/);
    const empty = runWycheproof({ ...loadVectors('aes_gcm_test'), testGroups: [] }, nodePlatform);
    expect(empty.total - empty.skipped).toBe(0);
  });
});
