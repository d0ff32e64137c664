/**
 * The node's R4 CapabilityStatement (GET /metadata): server mode, JSON only, the interactions the node
 * implements and, per resource type, exactly the search parameters parseSearch accepts (read from
 * `searchParametersOf`); the SMART on FHIR security section; the operations the node declares, each with the
 * OperationDefinition it serves at `<base>/OperationDefinition/<id>` (read-only).
 */
import { referenceParamsOf, referenceTargets } from './composeSearch.js';
import { OPERATION_DEFINITIONS, operationDefinitionUrl } from './operationDefinitions.js';
import { type SearchParamDef, searchParametersOf } from './searchParameters.js';

/** `Source:param` for every reference parameter of the served types that can point at `target`. */
function revIncludes(types: readonly string[], target: string): string[] {
  return types.flatMap((source) =>
    referenceParamsOf(source)
      .filter((param) =>
        (referenceTargets(searchParametersOf(source)[param]!) ?? ['Patient']).includes(target),
      )
      .map((param) => `${source}:${param}`),
  );
}

export interface CapabilityStatementInput {
  /** The FHIR base URL of this node, e.g. `https://node.example/fhir`. */
  baseUrl: string;
  softwareVersion: string;
  /** Resource types the node serves. */
  resourceTypes: readonly string[];
  /** Publication time (the statement's `date`). */
  now: Date;
  /** The OAuth 2.0 endpoints of the SMART App Launch authorisation server, for `rest.security`. */
  security?: SmartSecurity;
  /** Ids of the OPERATION_DEFINITIONS the server implements (declared, with their definitions). */
  operations?: readonly string[];
}

export interface SmartSecurity {
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl?: string;
  /** Whether browser apps on allowed origins may call the API (CORS). */
  cors: boolean;
}

const SMART_OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';
const RESTFUL_SECURITY_SERVICE = 'http://terminology.hl7.org/CodeSystem/restful-security-service';

/** The resource type whose instances are the server's own, read-only OperationDefinitions. */
const OPERATION_DEFINITION = 'OperationDefinition';

const INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
] as const;

/** FHIR search types of the table's kinds; a definition that carries its own `type` is taken as it says. */
const TYPE_OF: Readonly<Record<string, string>> = {
  string: 'string',
  token: 'token',
  identifier: 'token',
  code: 'token',
  telecom: 'token',
  reference: 'reference',
  date: 'date',
};

export function capabilityStatement(input: CapabilityStatementInput): Record<string, unknown> {
  const statement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: input.now.toISOString(),
    publisher: 'medledger',
    kind: 'instance',
    software: { name: 'medledger', version: input.softwareVersion },
    implementation: { description: 'medledger exchange node', url: input.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        resource: input.resourceTypes.map((type) => ({
          type,
          interaction: INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: true,
          // PUT to an id that does not exist creates it for the organisation and its clients; a person's
          // such PUT is refused as not found (so it cannot probe ids) — see docs/fhir.md "Writes and bundles".
          updateCreate: true,
          conditionalCreate: true,
          conditionalRead: 'full-support',
          conditionalUpdate: true,
          conditionalDelete: 'single',
          searchParam: [
            { name: '_id', type: 'token' },
            { name: '_lastUpdated', type: 'date' },
            ...Object.entries(searchParametersOf(type))
              .filter(([name]) => name !== '_id' && name !== '_lastUpdated')
              .map(([name, def]) => ({ name, type: searchTypeOf(def) })),
          ],
          searchInclude: referenceParamsOf(type).map((param) => `${type}:${param}`),
          searchRevInclude: revIncludes(input.resourceTypes, type),
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
      },
    ],
  };
  return withDeclarations(statement, input);
}

/** The FHIR search types, which a table kind may also be named after. */
const SEARCH_TYPES = new Set([
  'number',
  'date',
  'string',
  'token',
  'reference',
  'composite',
  'quantity',
  'uri',
  'special',
]);

const BULK_DATA = 'http://hl7.org/fhir/uv/bulkdata/';

function searchTypeOf(def: SearchParamDef): string {
  const own = (def as { type?: unknown }).type;
  if (typeof own === 'string' && SEARCH_TYPES.has(own)) return own;
  const kind = def.kind as string;
  return TYPE_OF[kind] ?? (SEARCH_TYPES.has(kind) ? kind : 'special');
}

type Rest = { resource: { type: string; [k: string]: unknown }[]; interaction: { code: string }[] };

/** System history, the security section, the operations and the read-only OperationDefinition type. */
function withDeclarations(
  statement: Record<string, unknown>,
  input: CapabilityStatementInput,
): Record<string, unknown> {
  const rest = (statement.rest as Rest[])[0]!;
  rest.interaction.push({ code: 'history-system' });
  const operations = (input.operations ?? []).map((id) => {
    const spec = Object.hasOwn(OPERATION_DEFINITIONS, id) ? OPERATION_DEFINITIONS[id] : undefined;
    if (!spec) throw new Error(`no OperationDefinition for operation ${id}`);
    return { spec, declaration: { name: spec.code, definition: operationDefinitionUrl(id, input.baseUrl) } };
  });
  rest.resource = rest.resource.map((resource) => {
    if (resource.type === OPERATION_DEFINITION && operations.length > 0) {
      return {
        type: OPERATION_DEFINITION,
        interaction: [{ code: 'read' }, { code: 'search-type' }],
        versioning: 'no-version',
        readHistory: false,
        updateCreate: false,
        searchParam: [],
      };
    }
    const own = operations.filter(
      ({ spec }) => (spec.instance || spec.type) && spec.resource?.includes(resource.type),
    );
    return own.length ? { ...resource, operation: own.map((o) => o.declaration) } : resource;
  });
  const systemOps = operations.filter(({ spec }) => spec.system).map((o) => o.declaration);
  // Bulk export declared: the server says which IG's server CapabilityStatement it instantiates.
  if (operations.some(({ spec }) => spec.base?.startsWith(BULK_DATA))) {
    statement.instantiates = [`${BULK_DATA}CapabilityStatement/bulk-data`];
  }
  const security = input.security
    ? {
        security: {
          cors: input.security.cors,
          service: [
            {
              coding: [{ system: RESTFUL_SECURITY_SERVICE, code: 'SMART-on-FHIR', display: 'SMART-on-FHIR' }],
              text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)',
            },
          ],
          extension: [
            {
              url: SMART_OAUTH_URIS,
              extension: [
                { url: 'authorize', valueUri: input.security.authorizeUrl },
                { url: 'token', valueUri: input.security.tokenUrl },
                ...(input.security.revokeUrl ? [{ url: 'revoke', valueUri: input.security.revokeUrl }] : []),
              ],
            },
          ],
        },
      }
    : {};
  const { mode, ...others } = rest as Rest & { mode: string };
  (statement.rest as unknown[])[0] = {
    mode,
    ...security,
    ...others,
    ...(systemOps.length ? { operation: systemOps } : {}),
  };
  return statement;
}
