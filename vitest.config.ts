import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that run several nodes or a browser, heaviest first: they start before everything else so that the
 * suite does not end on one of them running alone. Vitest orders the rest by the durations it remembers from
 * earlier runs, or by file size on a fresh clone (CI) — where these, small files driving large helpers, would
 * otherwise come last.
 */
const HEAVY_FIRST = [
  'packages/web/test/app.int.test.ts', // three nodes, Chromium, every journey
  'packages/node/test/demo.int.test.ts', // the five-node demo consortium
  'packages/node/test/exchange.int.test.ts', // three nodes exchanging records
  'packages/node/test/keyRotation.int.test.ts', // three nodes exchanging records
  'packages/node/test/consortium.int.test.ts', // several nodes on one chain, restarted
  'packages/node/test/node.int.test.ts', // two nodes, every HL7 example and a Synthea bundle
  'packages/crypto/test/browser.int.test.ts', // the vectors again in Chromium
  'packages/node/test/consentLinkage.int.test.ts', // two nodes
  'packages/node/test/crash.int.test.ts', // nodes as child processes, killed and restarted
];

class HeavyFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = HEAVY_FIRST.findIndex((heavy) => f.moduleId.endsWith(heavy));
      return i < 0 ? HEAVY_FIRST.length : i;
    };
    // Array.prototype.sort is stable: the others keep Vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}

// Tests run against the TypeScript sources (the `source` export condition) so no build step precedes them.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Two test files at a time even on two cores (Vitest's default there is one): most integration files spend
    // their time waiting on chains, blocks and sockets. Measured on the 2-core CI machine: 899 s serial, 519 s.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    globalSetup: ['vitest.globalSetup.ts'],
    sequence: { sequencer: HeavyFirstSequencer },
  },
});
