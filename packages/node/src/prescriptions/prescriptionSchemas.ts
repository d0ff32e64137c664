/**
 * The OpenAPI description of the prescription routes outside /fhir (openapi.ts says why schemas describe and do
 * not enforce): the patient's medication list and the pharmacy's fetch, dispense and queue. The FHIR operations
 * ($prescribe, $cancel, $route, $token) and the prescription exchange endpoint are under /fhir, described in
 * docs/prescriptions.md.
 */
import {
  authErrors,
  BEARER,
  bool,
  dateTime,
  HASH,
  int,
  json,
  object,
  params,
  str,
} from '../openapi/schemas.js';

const STATUS = str("The ledger's status", {
  enum: ['unknown', 'active', 'cancelled', 'completed', 'expired'],
});

const VERIFICATION = object(
  {
    anchored: bool('The commitment recomputed from the released bytes and salt is the on-chain id'),
    prescriberLicensed: bool("The prescriber's licence is valid now on the ledger"),
    status: STATUS,
    fillsRemaining: int('Fills still allowed (0 unless active)'),
    quantityRemaining: int('Quantity still allowed (0 unless active)'),
  },
  { description: 'What the pharmacy checked against the ledger when it fetched the prescription' },
);

export const medicationListSchema = {
  operationId: 'listMyPrescriptions',
  summary: "The patient's prescriptions, with fills left",
  description:
    'For a patient (their own bearer token): every prescription recorded for them at this node, with the ' +
    "ledger's status, fills and quantity left, the validity end, the last fill and the pharmacy it is routed to.",
  tags: ['prescriptions'],
  security: BEARER,
  response: {
    200: json(
      'The prescriptions',
      object({
        prescriptions: {
          type: 'array',
          items: object(
            {
              prescription: HASH,
              medicationRequest: str('The MedicationRequest, `MedicationRequest/{id}`'),
              medication: str('The medication as displayed'),
              status: STATUS,
              fillsAllowed: int('First fill plus refills'),
              fillsUsed: int('Fills dispensed'),
              fillsRemaining: int('Fills left (0 unless active)'),
              quantityRemaining: int('Quantity left (0 unless active)'),
              validUntil: dateTime('End of the validity period'),
              lastFilledAt: dateTime('The last fill'),
              routedTo: int('The pharmacy it is routed to (registry id)'),
            },
            { optional: ['medication', 'lastFilledAt', 'routedTo'] },
          ),
        },
      }),
    ),
    ...authErrors(403),
  },
};

export const fetchPrescriptionSchema = {
  operationId: 'fetchPrescription',
  summary: "Fetch and verify a prescription from the prescriber's node",
  description:
    "For a pharmacist: asks the prescriber's node over the prescription exchange for one prescription — routed to " +
    "this pharmacy on-chain, or with the patient's one-time token — and verifies it against the ledger. Any " +
    'denial, an unknown id and a used token all answer 404 alike.',
  tags: ['prescriptions'],
  security: BEARER,
  body: object(
    {
      prescription: HASH,
      token: str('The one-time token the patient showed (mdlrx1.…)', {
        pattern: '^mdlrx1\\.[0-9a-f]{64}\\.[0-9a-f]{64}$',
      }),
    },
    { optional: ['prescription', 'token'] },
  ),
  response: {
    200: json(
      'The verified prescription',
      object({
        prescription: HASH,
        custodian: int("The prescriber's organisation (registry id)"),
        verification: VERIFICATION,
        medicationRequest: {
          type: 'object',
          additionalProperties: true,
          description: 'The MedicationRequest',
        },
      }),
    ),
    ...authErrors(400, 403, 404, 503),
  },
};

export const dispenseSchema = {
  operationId: 'dispensePrescription',
  summary: 'Dispense a fill of a fetched prescription',
  description:
    "For a pharmacist: sends the fill to the ledger from the pharmacist's custodial key; only when the ledger " +
    'accepts is the MedicationDispense stored. A refusal (fills exhausted, expired, cancelled, quantity) is 409 ' +
    'and stores nothing; of two pharmacies racing for the last fill exactly one succeeds.',
  tags: ['prescriptions'],
  security: BEARER,
  params: params({ id: 'The on-chain prescription id' }),
  body: object(
    {
      quantity: int('Quantity of this fill, in the dispense unit', { minimum: 1 }),
      daysSupply: int('Days this fill lasts', { minimum: 1 }),
    },
    { optional: ['daysSupply'] },
  ),
  response: {
    201: json(
      'Dispensed',
      object({
        prescription: HASH,
        medicationDispense: str('The stored MedicationDispense, `MedicationDispense/{id}`'),
        transaction: HASH,
        salt: HASH,
      }),
    ),
    ...authErrors(400, 403, 404, 409, 503),
  },
};

export const pharmacyQueueSchema = {
  operationId: 'pharmacyQueue',
  summary: "The pharmacy's prescription queue",
  description:
    'For a pharmacist: prescriptions routed to this pharmacy on-chain and those fetched, with what was verified ' +
    "and the ledger's status now (cancellations included).",
  tags: ['prescriptions'],
  security: BEARER,
  response: {
    200: json(
      'The queue',
      object({
        queue: {
          type: 'array',
          items: object(
            {
              prescription: HASH,
              custodian: int("The prescriber's organisation"),
              routed: bool('Routed to this pharmacy on-chain'),
              fetched: bool('Fetched and verified'),
              verification: VERIFICATION,
              status: STATUS,
              cancelled: bool('Cancelled by the prescriber'),
              fillsRemaining: int('Fills left (0 unless active)'),
            },
            { optional: ['verification'] },
          ),
        },
      }),
    ),
    ...authErrors(403),
  },
};
