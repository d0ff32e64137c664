import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeFhirSchema, FHIR_SCHEMA_SHA256, FHIR_SCHEMA_URL, loadFhirSchema } from '../src/fhirSchema.js';
import { RESOURCE_TYPES } from '../src/resourceTypes.js';
import { DATA_DIR } from './data.js';

describe('vendored R4 schema', () => {
  it('is byte-identical to shared/data/fhir/fhir.schema.json and has the pinned hash', () => {
    const vendored = gunzipSync(readFileSync(FHIR_SCHEMA_URL));
    const shared = readFileSync(`${DATA_DIR}fhir/fhir.schema.json`);
    expect(vendored.equals(shared)).toBe(true);
    expect(createHash('sha256').update(vendored).digest('hex')).toBe(FHIR_SCHEMA_SHA256);
  });

  it('loads once and its discriminator matches the static resource type list', () => {
    const schema = loadFhirSchema();
    expect(loadFhirSchema()).toBe(schema);
    expect(Object.keys(schema.discriminator.mapping)).toEqual([...RESOURCE_TYPES]);
    expect(Object.keys(schema.definitions)).toHaveLength(680);
  });

  it('refuses a schema whose hash does not match, and non-gzip bytes', () => {
    const tampered = readFileSync(`${DATA_DIR}fhir/fhir.schema.json`, 'utf8').replace('4.0.1', '4.0.2');
    expect(() => decodeFhirSchema(gzipSync(tampered))).toThrow(
      expect.objectContaining({ code: 'MDL_CONFIG' }),
    );
    expect(() => decodeFhirSchema(new Uint8Array([1, 2, 3]))).toThrow(
      expect.objectContaining({ code: 'MDL_CONFIG' }),
    );
  });
});
