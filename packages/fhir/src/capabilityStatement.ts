/**
 * The node's R4 CapabilityStatement (GET /metadata): server mode, JSON only, the interactions the node
 * implements and, per resource type, exactly the search parameters parseSearch accepts.
 */
import { type SearchParamKind, searchParametersOf } from './searchParameters.js';

export interface CapabilityStatementInput {
  /** The FHIR base URL of this node, e.g. `https://node.example/fhir`. */
  baseUrl: string;
  softwareVersion: string;
  /** Resource types the node serves. */
  resourceTypes: readonly string[];
  /** Publication time (the statement's `date`). */
  now: Date;
}

const INTERACTIONS = [
  'read',
  'vread',
  'update',
  'delete',
  'history-instance',
  'create',
  'search-type',
] as const;

const TYPE_OF: Record<SearchParamKind, string> = {
  string: 'string',
  token: 'token',
  identifier: 'token',
  code: 'token',
  telecom: 'token',
  reference: 'reference',
  date: 'date',
};

export function capabilityStatement(input: CapabilityStatementInput): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: input.now.toISOString(),
    publisher: 'medledger',
    kind: 'instance',
    software: { name: 'medledger', version: input.softwareVersion },
    implementation: { description: 'medledger exchange node', url: input.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource: input.resourceTypes.map((type) => ({
          type,
          interaction: INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: true,
          updateCreate: false,
          conditionalCreate: true,
          conditionalDelete: 'not-supported',
          searchParam: [
            { name: '_id', type: 'token' },
            { name: '_lastUpdated', type: 'date' },
            ...Object.entries(searchParametersOf(type)).map(([name, def]) => ({
              name,
              type: TYPE_OF[def.kind],
            })),
          ],
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}
