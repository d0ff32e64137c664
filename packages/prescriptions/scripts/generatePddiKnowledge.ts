// CLI: rewrites src/interactions/pddiCdsKnowledge.generated.ts from ../shared/data/drugs/pddi-cds.
// Run with `npm run generate -w @medledger/prescriptions`.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPddiInputs, renderPddiKnowledge } from './pddiKnowledge.js';

const target = fileURLToPath(new URL('../src/interactions/pddiCdsKnowledge.generated.ts', import.meta.url));
writeFileSync(target, renderPddiKnowledge(loadPddiInputs()));
console.log(`wrote ${target}`);
