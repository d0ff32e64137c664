/**
 * `medledger demo`: the members of the demo consortium and the Synthea patient the walk-through registers.
 * The patient comes from ../shared/data/synthea (synthetic data, see its README); without it, a minimal
 * synthetic Patient stands in.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConsortiumMember } from './LocalConsortium.js';

export const DEMO_MEMBERS: readonly ConsortiumMember[] = [
  { name: 'hospital', kind: 'hospital' },
  { name: 'lab', kind: 'lab' },
  { name: 'pharmacy', kind: 'pharmacy' },
  { name: 'insurer', kind: 'insurer' },
  { name: 'regulator', kind: 'regulator' },
];

const SYNTHEA = fileURLToPath(new URL('../../../../../shared/data/synthea/r4-bundles/', import.meta.url));

/** The Patient resource of the first Synthea bundle (alphabetically). */
export function demoSyntheaPatient(): Record<string, unknown> {
  if (existsSync(SYNTHEA)) {
    const first = readdirSync(SYNTHEA)
      .filter((f) => f.endsWith('.json'))
      .sort()[0];
    if (first) {
      const bundle = JSON.parse(readFileSync(`${SYNTHEA}${first}`, 'utf8')) as {
        entry?: { resource?: Record<string, unknown> }[];
      };
      const patient = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource;
      if (patient) return patient;
    }
  }
  return {
    resourceType: 'Patient',
    name: [{ family: 'Demo', given: ['Synthetic'] }],
    gender: 'female',
    birthDate: '1970-01-01',
  };
}
