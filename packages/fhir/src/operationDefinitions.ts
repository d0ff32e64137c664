/**
 * The OperationDefinitions of the operations the node implements, served read-only at
 * `<base>/OperationDefinition/<id>` and declared in the CapabilityStatement. Each says exactly which
 * parameters the node accepts (a subset of the R4 definition where one exists, named in `base`).
 *
 * Adding an operation: add its definition to OPERATION_DEFINITIONS (id, code, where it applies, its
 * parameters) and its id to the list the node declares (the node's `NODE_OPERATIONS`); only operations with a
 * route may be declared.
 */

export interface OperationParameter {
  name: string;
  use: 'in' | 'out';
  min: number;
  max: string;
  type?: string;
  searchType?: string;
  documentation: string;
}

export interface OperationDefinitionSpec {
  /** Logical id, e.g. `Patient-everything`; the resource is at `<base>/OperationDefinition/<id>`. */
  id: string;
  /** The operation's name without `$`. */
  code: string;
  title: string;
  description: string;
  /** Canonical URL of the definition this one is derived from (R4 core, an IG). */
  base?: string;
  /** Resource types it applies to (instance / type level); none for system-level only. */
  resource?: readonly string[];
  system: boolean;
  type: boolean;
  instance: boolean;
  /** Whether it changes nothing (GET allowed). */
  affectsState: boolean;
  parameter: readonly OperationParameter[];
}

/** What the node's `$export` operations accept (the IG's others are refused with 400, not ignored). */
const BULK_EXPORT_PARAMETERS: readonly OperationParameter[] = [
  {
    name: '_outputFormat',
    use: 'in',
    min: 0,
    max: '1',
    type: 'string',
    documentation: 'application/fhir+ndjson (default), application/ndjson or ndjson.',
  },
  {
    name: '_since',
    use: 'in',
    min: 0,
    max: '1',
    type: 'instant',
    documentation: 'Only resources last updated at or after this instant.',
  },
  {
    name: '_type',
    use: 'in',
    min: 0,
    max: '*',
    type: 'string',
    documentation: 'Comma-separated resource types to export (default: every type).',
  },
];

export const OPERATION_DEFINITIONS: Readonly<Record<string, OperationDefinitionSpec>> = Object.freeze({
  'Patient-everything': {
    id: 'Patient-everything',
    code: 'everything',
    title: 'Patient $everything',
    description:
      'The patient and every current resource of their compartment the caller may read, as a searchset Bundle, paged. start/end bound the clinical (care) date at day precision, applied to each page after decryption: pages may hold fewer entries than _count, and resources without a care date are always in range.',
    base: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
    resource: ['Patient'],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter: [
      {
        name: 'start',
        use: 'in',
        min: 0,
        max: '1',
        type: 'date',
        documentation: 'Care date range start (YYYY, YYYY-MM or YYYY-MM-DD).',
      },
      {
        name: 'end',
        use: 'in',
        min: 0,
        max: '1',
        type: 'date',
        documentation: 'Care date range end (YYYY, YYYY-MM or YYYY-MM-DD), inclusive.',
      },
      {
        name: '_since',
        use: 'in',
        min: 0,
        max: '1',
        type: 'instant',
        documentation: 'Only resources last updated at or after this instant.',
      },
      {
        name: '_type',
        use: 'in',
        min: 0,
        max: '1',
        type: 'string',
        documentation: 'Comma-separated resource types to include (the Patient only when listed).',
      },
      {
        name: '_count',
        use: 'in',
        min: 0,
        max: '1',
        type: 'integer',
        documentation: 'Page size.',
      },
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        type: 'Bundle',
        documentation: 'A searchset Bundle.',
      },
    ],
  },
  verify: {
    id: 'verify',
    code: 'verify',
    title: 'Verify the stored records',
    description:
      "Re-hashes every stored record version against its content address and checks its anchor on the ledger; for the node's operators (organisation API tokens) only.",
    system: true,
    type: false,
    instance: false,
    affectsState: false,
    parameter: [
      {
        name: '_count',
        use: 'in',
        min: 0,
        max: '1',
        type: 'integer',
        documentation:
          'Check this many record versions (1 to 5000) and answer with a cursor for the next page; without it, every version at once.',
      },
      {
        name: 'cursor',
        use: 'in',
        min: 0,
        max: '1',
        type: 'string',
        documentation: 'Where the page starts: the cursor the previous page answered with.',
      },
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        documentation:
          'A JSON report of the verification (not a FHIR resource); a page adds the next cursor, and the first page the total of versions.',
      },
    ],
  },
  status: {
    id: 'status',
    code: 'status',
    title: 'Node status',
    description:
      "The node's chain, anchoring and outbox status; for the node's operators (organisation API tokens) only.",
    system: true,
    type: false,
    instance: false,
    affectsState: false,
    parameter: [
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        documentation: 'A JSON status report (not a FHIR resource).',
      },
    ],
  },
  export: {
    id: 'export',
    code: 'export',
    title: 'System-level bulk export',
    description:
      'Bulk Data Access IG v2 kick-off: an asynchronous export of every current resource the caller may read, as NDJSON files per type (Accept: application/fhir+json and Prefer: respond-async required; 202 with Content-Location of a status URL). For the organisation and system clients; people are refused.',
    base: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
    system: true,
    type: false,
    instance: false,
    affectsState: false,
    parameter: BULK_EXPORT_PARAMETERS,
  },
  'Patient-export': {
    id: 'Patient-export',
    code: 'export',
    title: 'Patient-level bulk export',
    description:
      'Bulk Data Access IG v2: an asynchronous export of the patient compartments the caller may read (a patient: their own — the data-portability export).',
    base: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export',
    resource: ['Patient'],
    system: false,
    type: true,
    instance: false,
    affectsState: false,
    parameter: BULK_EXPORT_PARAMETERS,
  },
  'Group-export': {
    id: 'Group-export',
    code: 'export',
    title: 'Group-level bulk export',
    description:
      "Bulk Data Access IG v2: an asynchronous export of the compartments of the Group's member patients, as far as the caller may read them.",
    base: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export',
    resource: ['Group'],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter: BULK_EXPORT_PARAMETERS,
  },
  'Subscription-status': {
    id: 'Subscription-status',
    code: 'status',
    title: 'Subscription status',
    description:
      "Subscriptions R5 Backport IG: the status of one of the caller's own subscriptions (a searchset Bundle holding one subscription-status Parameters). Events are not kept, so $events is not offered.",
    base: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status',
    resource: ['Subscription'],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter: [
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        type: 'Bundle',
        documentation: 'A searchset Bundle with one subscription-status Parameters.',
      },
    ],
  },
  'Subscription-get-ws-binding-token': {
    id: 'Subscription-get-ws-binding-token',
    code: 'get-ws-binding-token',
    title: 'WebSocket binding token',
    description:
      "Subscriptions R5 Backport IG: a short-lived token (60 s) to bind a WebSocket to one of the caller's own active websocket subscriptions (send `bind-with-token <token>` on the node's WebSocket endpoint).",
    base: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-get-ws-binding-token',
    resource: ['Subscription'],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter: [
      { name: 'token', use: 'out', min: 1, max: '1', type: 'string', documentation: 'The binding token.' },
      {
        name: 'expiration',
        use: 'out',
        min: 1,
        max: '1',
        type: 'dateTime',
        documentation: 'When it expires.',
      },
      {
        name: 'subscription',
        use: 'out',
        min: 1,
        max: '1',
        type: 'string',
        documentation: 'The id of the subscription the token binds.',
      },
      {
        name: 'websocket-url',
        use: 'out',
        min: 1,
        max: '1',
        type: 'url',
        documentation: 'The WebSocket endpoint to connect to.',
      },
    ],
  },
  'Patient-match': {
    id: 'Patient-match',
    code: 'match',
    title: 'Patient $match',
    description:
      'R4 MPI match: candidates for the Patient given, found through the blind index among the patients the caller may search, scored on identifier, name, birth date, gender and contacts, and graded (match-grade: certain, probable, possible, certainly-not). docs/fhir.md gives the scoring.',
    base: 'http://hl7.org/fhir/OperationDefinition/Patient-match',
    resource: ['Patient'],
    system: false,
    type: true,
    instance: false,
    affectsState: false,
    parameter: [
      {
        name: 'resource',
        use: 'in',
        min: 1,
        max: '1',
        type: 'Patient',
        documentation: 'The Patient to match.',
      },
      {
        name: 'onlyCertainMatches',
        use: 'in',
        min: 0,
        max: '1',
        type: 'boolean',
        documentation: 'Only candidates graded certain.',
      },
      {
        name: 'count',
        use: 'in',
        min: 0,
        max: '1',
        type: 'integer',
        documentation: 'At most this many candidates, best first.',
      },
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        type: 'Bundle',
        documentation: 'A searchset Bundle of candidates with search.score and the match-grade extension.',
      },
    ],
  },
  'Patient-access': {
    id: 'Patient-access',
    code: 'access',
    title: 'What the caller may do with this patient’s record',
    description:
      'Each data category and action the node’s authorisation allows the caller on this patient’s record now, for the purpose of use it asserts (X-Purpose-Of-Use), with how (grant, break-glass, own record, organisation) and until when, and the caller’s active break-glass session. 404 when nothing is allowed, exactly as for a missing patient.',
    resource: ['Patient'],
    system: false,
    type: false,
    instance: true,
    affectsState: false,
    parameter: [
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        type: 'Parameters',
        documentation:
          'patient (valueReference), at (valueInstant), purpose (valueCode), allowed (0..*: category valueCoding in urn:medledger:data-category, action read|write, via, until valueInstant), breakGlass (0..1: session valueString, expires valueInstant).',
      },
    ],
  },
  'exchange-request': {
    id: 'exchange-request',
    code: 'exchange-request',
    title: 'Request records from another organisation',
    description:
      "Asks another consortium member's node for a patient's records under an on-chain consent grant (signed, HPKE-encrypted node-to-node request); the answer is stored here. See docs/exchange.md.",
    system: true,
    type: false,
    instance: false,
    affectsState: true,
    parameter: [
      {
        name: 'custodian',
        use: 'in',
        min: 1,
        max: '1',
        type: 'integer',
        documentation:
          "The custodian's organisation id in the ConsortiumRegistry; or, as valueString, its name as GET /directory/organisations lists it (any case).",
      },
      {
        name: 'patient',
        use: 'in',
        min: 1,
        max: '1',
        type: 'string',
        documentation:
          "The patient's ledger pseudonym (0x + 64 hex), or valueIdentifier in urn:medledger:patient-pseudonym.",
      },
      {
        name: 'resourceType',
        use: 'in',
        min: 1,
        max: '*',
        type: 'code',
        documentation: 'Resource types; each stands for its whole data category.',
      },
      {
        name: 'purpose',
        use: 'in',
        min: 1,
        max: '1',
        type: 'code',
        documentation: 'Purpose of use: TREAT, HPAYMT, HOPERAT, HRESCH or ETREAT.',
      },
      {
        name: 'since',
        use: 'in',
        min: 0,
        max: '1',
        type: 'instant',
        documentation: 'Only records last updated at or after this instant.',
      },
      {
        name: 'breakGlass',
        use: 'in',
        min: 0,
        max: '1',
        type: 'integer',
        documentation: "The practitioner's on-chain break-glass session, for ETREAT.",
      },
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        type: 'Bundle',
        documentation: 'What the custodian released, as stored here.',
      },
    ],
  },
  'coverage-eligibility': {
    id: 'coverage-eligibility',
    code: 'coverage-eligibility',
    title: "Ask a patient's insurer whether a drug is covered",
    description:
      "Sends a CoverageEligibilityRequest for one drug to the patient's insurer node (signed, HPKE-encrypted workflow message) and returns its CoverageEligibilityResponse: coverage in force, formulary tier, prior authorisation. For pharmacists and doctors; needs the patient's Payment consent to the insurer for Medications or Claims. See docs/prescriptions.md.",
    system: true,
    type: false,
    instance: false,
    affectsState: false,
    parameter: [
      {
        name: 'insurer',
        use: 'in',
        min: 1,
        max: '1',
        type: 'integer',
        documentation:
          "The insurer's organisation id in the ConsortiumRegistry; or, as valueString, its name as GET /directory/organisations lists it (any case).",
      },
      {
        name: 'patient',
        use: 'in',
        min: 1,
        max: '1',
        type: 'string',
        documentation:
          "The patient's ledger pseudonym (0x + 64 hex), or valueIdentifier in urn:medledger:patient-pseudonym.",
      },
      {
        name: 'coverage',
        use: 'in',
        min: 1,
        max: '1',
        type: 'Reference',
        documentation:
          'The coverage at the insurer: valueReference Coverage/<id>, or valueIdentifier (the member id on the card).',
      },
      {
        name: 'medicationRequest',
        use: 'in',
        min: 0,
        max: '1',
        type: 'MedicationRequest',
        documentation: 'The prescription (its drug must carry an RxNorm coding); or give medication instead.',
      },
      {
        name: 'medication',
        use: 'in',
        min: 0,
        max: '1',
        type: 'CodeableConcept',
        documentation:
          'The drug as an RxNorm valueCoding or valueCodeableConcept, instead of medicationRequest.',
      },
      {
        name: 'date',
        use: 'in',
        min: 0,
        max: '1',
        type: 'date',
        documentation: 'The date of service (default: today).',
      },
      {
        name: 'purpose',
        use: 'in',
        min: 0,
        max: '*',
        type: 'code',
        documentation:
          'auth-requirements, benefits, discovery or validation (default: benefits and validation).',
      },
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        type: 'CoverageEligibilityResponse',
        documentation: "The insurer's answer.",
      },
    ],
  },
  'controlled-substance-history': {
    id: 'controlled-substance-history',
    code: 'controlled-substance-history',
    title:
      "A patient's controlled-substance prescriptions and dispenses across the consortium, with risk signals",
    description:
      "Gathers the patient's controlled-substance MedicationRequests and MedicationDispenses from this node and every other active hospital, clinic and pharmacy (signed, HPKE-encrypted workflow messages, under the consortium's on-chain monitoring policy) and returns them with DetectedIssues for the usual risk signals (total daily MME, overlapping opioids from different prescribers, several prescribers or pharmacies) and an OperationOutcome listing organisations that did not answer. For prescribers with a controlled-substance registration and pharmacists of pharmacies. See docs/prescriptions.md.",
    system: true,
    type: false,
    instance: false,
    affectsState: false,
    parameter: [
      {
        name: 'patient',
        use: 'in',
        min: 1,
        max: '1',
        type: 'Reference',
        documentation:
          'valueReference Patient/<id> of this node, or valueIdentifier: the ledger pseudonym in urn:medledger:patient-pseudonym.',
      },
      {
        name: 'return',
        use: 'out',
        min: 1,
        max: '1',
        type: 'Bundle',
        documentation:
          'A collection: MedicationRequests and MedicationDispenses (meta.tag: source organisation), DetectedIssues, an OperationOutcome.',
      },
    ],
  },
});

/** The OperationDefinition resource of an operation, with its canonical URL under `baseUrl`. */
export function operationDefinition(id: string, baseUrl: string): Record<string, unknown> | undefined {
  const spec = Object.hasOwn(OPERATION_DEFINITIONS, id) ? OPERATION_DEFINITIONS[id] : undefined;
  if (!spec) return undefined;
  return {
    resourceType: 'OperationDefinition',
    id: spec.id,
    url: operationDefinitionUrl(id, baseUrl),
    name: spec.code.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase()),
    title: spec.title,
    status: 'active',
    kind: 'operation',
    publisher: 'medledger',
    description: spec.description,
    affectsState: spec.affectsState,
    code: spec.code,
    ...(spec.base ? { base: spec.base } : {}),
    ...(spec.resource ? { resource: [...spec.resource] } : {}),
    system: spec.system,
    type: spec.type,
    instance: spec.instance,
    parameter: spec.parameter.map((p) => ({ ...p })),
  };
}

export function operationDefinitionUrl(id: string, baseUrl: string): string {
  return `${baseUrl}/OperationDefinition/${id}`;
}
