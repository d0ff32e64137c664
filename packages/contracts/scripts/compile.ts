// CLI: recompiles the contracts and rewrites src/generated/*.generated.ts.
// Run with `npm run compile -w @medledger/contracts`.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, generatedDir, renderAll } from './solc.js';

const started = performance.now();
const files = renderAll(compile());
mkdirSync(generatedDir, { recursive: true });
for (const [name, text] of Object.entries(files)) {
  writeFileSync(join(generatedDir, name), text);
}
console.log(
  `compiled ${Object.keys(files).length} contracts in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
