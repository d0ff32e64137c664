/** Reads the Synthea R4 bundles and NDJSON from shared/data (third-party synthetic data) for the tests. */
import { readdirSync, readFileSync } from 'node:fs';

const ROOT = new URL('../../../../shared/data/synthea/', import.meta.url);
export const BUNDLE_DIR = new URL('r4-bundles/', ROOT);
export const NDJSON_DIR = new URL('bulk-ndjson-10-patients/', ROOT);

export interface Resource {
  resourceType: string;
  id?: string;
  [k: string]: unknown;
}

export function bundleNames(): string[] {
  return readdirSync(BUNDLE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function bundleResources(name: string): Resource[] {
  const bundle = JSON.parse(readFileSync(new URL(name, BUNDLE_DIR), 'utf8')) as {
    entry: { resource: Resource }[];
  };
  return bundle.entry.map((e) => e.resource);
}

export function ndjsonResources(file: string): Resource[] {
  return readFileSync(new URL(file, NDJSON_DIR), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Resource);
}
