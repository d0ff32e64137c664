/**
 * The official HL7 FHIR R4 (4.0.1) JSON schema, vendored gzip-compressed in ../schema and loaded once. The
 * decompressed bytes must match the pinned sha256, so a damaged or swapped file is refused rather than used
 * to validate. This is the only I/O in the package.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { MdlError, MdlErrorCode } from '@medledger/core';

/** sha256 of http://hl7.org/fhir/R4/fhir.schema.json (4.0.1), as published by HL7. */
export const FHIR_SCHEMA_SHA256 = '2230406893b4cf002a4ee1e5e2bbeca22ac5d2d4931b3e9ef7b9594bbc376a01';

/** The vendored file, relative to this module: the same from src/ (tests) and dist/ (build). */
export const FHIR_SCHEMA_URL = new URL('../schema/fhir.schema.json.gz', import.meta.url);

export interface FhirJsonSchema {
  $schema: string;
  id: string;
  discriminator: { propertyName: string; mapping: Record<string, string> };
  definitions: Record<string, Record<string, unknown>>;
}

/** Decompresses and checks the schema bytes; throws MDL_CONFIG on a hash mismatch. */
export function decodeFhirSchema(gzipped: Uint8Array): FhirJsonSchema {
  let raw: Buffer;
  try {
    raw = gunzipSync(gzipped);
  } catch (cause) {
    throw new MdlError(MdlErrorCode.Config, 'FHIR schema file is not valid gzip', { cause });
  }
  const digest = createHash('sha256').update(raw).digest('hex');
  if (digest !== FHIR_SCHEMA_SHA256) {
    throw new MdlError(MdlErrorCode.Config, 'FHIR schema file does not match the pinned R4 4.0.1 hash');
  }
  return JSON.parse(raw.toString('utf8')) as FhirJsonSchema;
}

let cached: FhirJsonSchema | undefined;

/** The R4 schema, read and verified on first use. Callers must treat it as read-only. */
export function loadFhirSchema(): FhirJsonSchema {
  if (cached === undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(FHIR_SCHEMA_URL);
    } catch (cause) {
      throw new MdlError(MdlErrorCode.Config, 'FHIR schema file is missing', { cause });
    }
    cached = decodeFhirSchema(bytes);
  }
  return cached;
}

/** Every concrete R4 resource type name (the schema's discriminator), e.g. `Patient`. */
export function resourceTypeNames(): readonly string[] {
  return Object.keys(loadFhirSchema().discriminator.mapping);
}
