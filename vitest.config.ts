import { defineConfig } from 'vitest/config';

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
  },
});
