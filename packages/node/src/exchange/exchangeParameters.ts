/**
 * The input of `POST /fhir/$exchange-request`: a FHIR `Parameters` resource naming what to ask another node
 * for. Parameters (each once unless said otherwise):
 *
 * | name | value[x] | meaning |
 * |---|---|---|
 * | `custodian` | `valueInteger` / `valuePositiveInt`, or `valueString` | the custodian's organisation id in the ConsortiumRegistry, or its name as the directory lists it (resolved to the id by the exchange feature) |
 * | `patient` | `valueString`, or `valueIdentifier` with system `urn:medledger:patient-pseudonym` | the patient's ledger pseudonym, 0x + 64 lower-case hex |
 * | `resourceType` | `valueCode`, one or more | FHIR resource types; each stands for its whole data category |
 * | `purpose` | `valueCode`, or `valueCoding` in v3-ActReason | TREAT, HPAYMT, HOPERAT, HRESCH or ETREAT |
 * | `since` | `valueInstant` / `valueDateTime`, optional | only records last updated at or after this instant |
 * | `breakGlass` | `valueInteger`, optional | the practitioner's on-chain break-glass session, for ETREAT |
 *
 * Malformed input is MDL_BAD_INPUT naming the parameter, never echoing its value.
 */
import { PURPOSE_CODES, PURPOSE_OF_USE_SYSTEM } from '@medledger/consent';
import type { Purpose } from '@medledger/contracts';
import { type DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import { dataCategoryOf, isResourceType } from '@medledger/fhir';
import type { Hex } from 'viem';
import { PATIENT_PSEUDONYM_SYSTEM } from '../access/PatientLinks.js';

export interface ExchangeAsk {
  custodian: number;
  patient: Hex;
  /** The resource types named, as given (deduplicated). */
  resourceTypes: string[];
  /** Their data categories, sorted and unique: what the request asks for. */
  categories: DataCategory[];
  purpose: Purpose;
  /** Seconds. */
  since?: number;
  breakGlass?: number;
}

const NAMES = new Set(['custodian', 'patient', 'resourceType', 'purpose', 'since', 'breakGlass']);

const bad = (message: string) => new MdlError(MdlErrorCode.BadInput, message);

type Parameter = Record<string, unknown> & { name?: unknown };

function single(params: Parameter[], name: string, required: boolean): Parameter | undefined {
  const found = params.filter((p) => p.name === name);
  if (found.length > 1) throw bad(`Parameters: ${name} must be given once`);
  if (required && found.length === 0) throw bad(`Parameters: ${name} is required`);
  return found[0];
}

function integer(p: Parameter, name: string, min: number, max: number): number {
  const v = p.valueInteger ?? p.valuePositiveInt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw bad(`Parameters: ${name} must be a valueInteger from ${min} to ${max}`);
  }
  return v;
}

export function parseExchangeParameters(body: unknown): ExchangeAsk {
  if (
    typeof body !== 'object' ||
    body === null ||
    (body as { resourceType?: unknown }).resourceType !== 'Parameters'
  ) {
    throw bad('the body must be a FHIR Parameters resource');
  }
  const raw = (body as { parameter?: unknown }).parameter;
  if (!Array.isArray(raw) || raw.length > 64) throw bad('Parameters.parameter must be a list');
  const params = raw as Parameter[];
  for (const p of params) {
    if (typeof p !== 'object' || p === null || typeof p.name !== 'string' || !NAMES.has(p.name)) {
      throw bad(`Parameters.parameter: names are ${[...NAMES].join(', ')}`);
    }
  }

  const custodian = integer(single(params, 'custodian', true)!, 'custodian', 1, 0xffffffff);

  const patientParam = single(params, 'patient', true)!;
  const identifier = patientParam.valueIdentifier as { system?: unknown; value?: unknown } | undefined;
  const patient =
    identifier === undefined
      ? patientParam.valueString
      : identifier.system === PATIENT_PSEUDONYM_SYSTEM
        ? identifier.value
        : undefined;
  if (typeof patient !== 'string' || !/^0x[0-9a-f]{64}$/.test(patient)) {
    throw bad('Parameters: patient must be the ledger pseudonym, 0x and 64 lower-case hex digits');
  }

  const types = params.filter((p) => p.name === 'resourceType').map((p) => p.valueCode);
  if (types.length === 0) throw bad('Parameters: resourceType is required');
  const categories = new Set<DataCategory>();
  for (const type of types) {
    const category = typeof type === 'string' && isResourceType(type) ? dataCategoryOf(type) : undefined;
    if (category === undefined) throw bad('Parameters: resourceType must name a type of patient data');
    categories.add(category);
  }

  const purposeParam = single(params, 'purpose', true)!;
  const coding = purposeParam.valueCoding as { system?: unknown; code?: unknown } | undefined;
  const code =
    coding === undefined
      ? purposeParam.valueCode
      : coding.system === PURPOSE_OF_USE_SYSTEM
        ? coding.code
        : undefined;
  const purpose =
    typeof code === 'string' && Object.hasOwn(PURPOSE_CODES, code) ? PURPOSE_CODES[code] : undefined;
  if (purpose === undefined) {
    throw bad(`Parameters: purpose must be one of ${Object.keys(PURPOSE_CODES).join(', ')}`);
  }

  const ask: ExchangeAsk = {
    custodian,
    patient: patient as Hex,
    resourceTypes: [...new Set(types as string[])],
    categories: [...categories].sort((a, b) => a - b),
    purpose,
  };
  const sinceParam = single(params, 'since', false);
  if (sinceParam) {
    const value = sinceParam.valueInstant ?? sinceParam.valueDateTime;
    const ms =
      typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(ms) || ms < 0) throw bad('Parameters: since must be a valueInstant');
    ask.since = Math.floor(ms / 1000);
  }
  const breakGlassParam = single(params, 'breakGlass', false);
  if (breakGlassParam) ask.breakGlass = integer(breakGlassParam, 'breakGlass', 0, Number.MAX_SAFE_INTEGER);
  return ask;
}
