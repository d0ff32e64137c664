/** Loads the JSON test fixtures beside this file (published vectors, each citing its source). */
import { readFileSync } from 'node:fs';

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Returns a copy of `bytes` with bit `bit` flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/** Resources of one Synthea R4 transaction bundle from ../shared/data (external, synthetic patient data). */
export function syntheaResources(file = 'Alfreda_Wyman_3287b938-4670-47eb-91e5-e0ce3df71405.json') {
  const url = new URL(`../../../../shared/data/synthea/r4-bundles/${file}`, import.meta.url);
  const bundle = JSON.parse(readFileSync(url, 'utf8')) as { entry: { resource: Record<string, unknown> }[] };
  return bundle.entry.map((e) => e.resource);
}
