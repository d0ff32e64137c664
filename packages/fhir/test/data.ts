/** Loads the external test data in ../shared/data (Synthea bundles, HL7 examples, PDDI-CDS requests). */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DATA_DIR = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export interface Bundle {
  resourceType: 'Bundle';
  type: string;
  entry: {
    fullUrl?: string;
    resource: Record<string, unknown> & { resourceType: string };
    request: unknown;
  }[];
}

export function syntheaBundles(): { file: string; bundle: Bundle }[] {
  const dir = `${DATA_DIR}synthea/r4-bundles/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, bundle: readJson(dir + file) as Bundle }));
}

export function hl7Examples(): { file: string; resource: Record<string, unknown> }[] {
  const dir = `${DATA_DIR}fhir/examples/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, resource: readJson(dir + file) as Record<string, unknown> }));
}

/** The Synthea Bulk Data export: one list of resources per NDJSON file. */
export function syntheaNdjson(): { file: string; resources: Record<string, unknown>[] }[] {
  const dir = `${DATA_DIR}synthea/bulk-ndjson-10-patients/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson') && f !== 'log.ndjson')
    .sort()
    .map((file) => ({
      file,
      resources: readFileSync(dir + file, 'utf8')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    }));
}

export function cdsHooksRequests(): { file: string; request: unknown }[] {
  const dir = `${DATA_DIR}drugs/pddi-cds/cds-hooks-requests/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, request: readJson(dir + file) }));
}

/** Every object with resourceType MedicationRequest anywhere inside `value`. */
export function findMedicationRequests(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) findMedicationRequests(v, out);
  else if (typeof value === 'object' && value !== null) {
    if ((value as { resourceType?: unknown }).resourceType === 'MedicationRequest') out.push(value);
    else for (const v of Object.values(value)) findMedicationRequests(v, out);
  }
  return out;
}
