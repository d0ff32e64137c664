/**
 * The prescriber's node (docs/prescriptions.md, *Prescribing and dispensing*):
 * - POST /fhir/MedicationRequest/$prescribe — a practitioner's order (the MedicationRequest, or Parameters with
 *   it as `resource`): validated, checked for interactions against the patient's active medications the
 *   practitioner may see (critical and warning cards refuse with 409 unless each is overridden), stored through
 *   the kernel and recorded on-chain from the practitioner's custodial key in ONE unit: the record is committed
 *   only when the ledger accepted, so a refusal leaves nothing. 201 with Parameters (resource, prescription,
 *   transaction).
 * - POST /fhir/MedicationRequest/{id}/$cancel — a practitioner of the prescribing organisation: on-chain cancel,
 *   then status `cancelled` on the record.
 * - the patient's choices (their own bearer token): POST /fhir/MedicationRequest/{id}/$route {pharmacy} sends
 *   `route` from the node account; POST /fhir/MedicationRequest/{id}/$token mints a one-time token (only its
 *   SHA-256 is kept); GET /prescriptions lists their prescriptions with fills and quantity left from the chain.
 *   Another patient's prescription answers exactly like a missing one (404).
 *
 * Limits: if the database fails after the ledger accepted a prescription, the ledger holds a commitment no
 * record matches (it names nothing; a pharmacy can never fetch it).
 */
import { randomBytes } from 'node:crypto';
import { PrescriptionStatus, prescriptionCommitment } from '@medledger/contracts';
import { DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToHex, canonicalBytes, sha256 } from '@medledger/crypto';
import { PRESCRIPTION_TOKEN_BYTES } from '@medledger/exchange';
import { roleAllows } from '@medledger/identity';
import { checkInteractions, type NamedInteractionList } from '@medledger/prescriptions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badInput, forbidden, notFound, objectBody, requirePerson } from '../features/careRequests.js';
import type { MemberKeys } from '../features/memberKeys.js';
import type { NodeContext } from '../NodeContext.js';
import type { Records } from '../services/RecordService.js';
import type { PrescriptionEvents } from './PrescriptionEvents.js';
import type { PrescriptionLedger } from './PrescriptionLedger.js';
import { orderResourceOf, readPrescriptionOrder } from './prescriptionOrder.js';
import { bytes32, formatToken, hexOf, type PrescriptionRow, tokenHash } from './prescriptionRows.js';
import { medicationListSchema } from './prescriptionSchemas.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const STATUS_NAMES = ['unknown', 'active', 'cancelled', 'completed', 'expired'];
const MEDICATION_TYPES = ['MedicationRequest', 'MedicationStatement', 'MedicationDispense'];

/** The current resources of the patient's medication record this caller may see (the kernel filters). */
async function visibleMedications(records: Records, patientId: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const type of MEDICATION_TYPES) {
    const params = new URLSearchParams({ subject: `Patient/${patientId}`, _count: '200' });
    const bundle = (await records.search(type, params)) as { entry?: { resource?: unknown }[] };
    for (const e of bundle.entry ?? []) if (e.resource) out.push(e.resource);
  }
  return out;
}

export function registerPrescriberRoutes(
  app: FastifyInstance,
  ctx: NodeContext,
  deps: {
    chain: PrescriptionLedger;
    memberKeys: MemberKeys;
    events: PrescriptionEvents;
    namedLists: readonly NamedInteractionList[];
  },
) {
  const { chain, memberKeys } = deps;

  const memberClient = async (request: FastifyRequest, what: string) => {
    const caller = requirePerson(request, what);
    const member = caller.member;
    const client = member && (await memberKeys.client(member));
    if (!member || !client) throw forbidden(`${what} needs a member account whose key this node holds`);
    return { caller, member, client };
  };

  const rowOfRecord = async (recordId: string) =>
    (await ctx.db.query<PrescriptionRow>('SELECT * FROM rx_prescriptions WHERE record_id = $1', [recordId]))
      .rows[0];

  app.post('/fhir/MedicationRequest/$prescribe', async (request, reply) => {
    const { caller, member, client } = await memberClient(request, 'prescribing');
    if (!roleAllows(caller.role, 'write', DataCategory.Medications, caller.purpose)) {
      throw forbidden('this role may not prescribe');
    }
    // Said first and plainly (it says nothing about any patient); the ledger enforces it again at prescribe.
    await ctx.consent.refreshHead();
    await ctx.consent.ensureFresh();
    if (!ctx.consent.consortium.hasValidLicence(member, ctx.consent.now())) {
      throw forbidden('ledger: the prescriber holds no valid licence on the ledger');
    }
    const records = request.records!;
    const order = readPrescriptionOrder(orderResourceOf(request.body), await chain.now());
    // The patient must exist and be one the practitioner may see; otherwise 404, like any unknown patient.
    await records.read('Patient', order.patientId);

    const { cards } = checkInteractions(
      {
        draftOrders: [order.resource],
        activeMedications: await visibleMedications(records, order.patientId),
        now: new Date(),
      },
      { namedLists: deps.namedLists },
    );
    const blocking = cards.filter(
      (c) => (c.indicator === 'critical' || c.indicator === 'warning') && !order.overrides.has(c.uuid),
    );
    if (blocking.length > 0) {
      throw new MdlError(
        MdlErrorCode.Conflict,
        `${blocking.length} interaction alert(s) must be overridden with a reason`,
        {
          issues: blocking.map((c) => ({
            severity: c.indicator === 'critical' ? ('error' as const) : ('warning' as const),
            code: 'business-rule',
            diagnostics: c.summary,
            expression: [`card:${c.uuid}`],
          })),
        },
      );
    }

    const salt = hexOf(randomBytes(32));
    const sent = await records.transaction(async (tx) => {
      const { stored } = await tx.create('MedicationRequest', order.resource);
      const canonicalHash = hexOf(sha256(canonicalBytes(stored.resource)));
      const id = prescriptionCommitment(salt, canonicalHash);
      // Throws on refusal: the transaction is then never committed and nothing is stored.
      const receipt = await chain.send(client, 'prescribe', [
        id,
        {
          notBefore: order.notBefore,
          notAfter: order.notAfter,
          fillsAllowed: order.fillsAllowed,
          quantityAllowed: order.quantityAllowed,
          minInterval: 0,
          schedule: order.schedule,
        },
      ]);
      return { stored, id, canonicalHash, transaction: receipt.transactionHash };
    });
    await ctx.db.query(
      `INSERT INTO rx_prescriptions
         (prescription_id, record_id, patient_fhir_id, prescriber, salt, canonical_hash, supply_seconds, transaction)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        bytes32(sent.id),
        sent.stored.id,
        order.patientId,
        caller.id,
        bytes32(salt),
        bytes32(sent.canonicalHash),
        order.supplySeconds ?? null,
        sent.transaction,
      ],
    );
    request.log.info({ prescription: sent.id }, 'prescription recorded');
    return reply
      .code(201)
      .type(FHIR_JSON)
      .header('location', ctx.records.locationOf(sent.stored))
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: sent.stored.resource },
          { name: 'prescription', valueString: sent.id },
          { name: 'transaction', valueString: sent.transaction },
        ],
      });
  });

  app.post<{ Params: { id: string } }>('/fhir/MedicationRequest/:id/$cancel', async (request) => {
    const { client } = await memberClient(request, 'cancelling');
    const body = objectBody(request.body, true);
    const records = request.records!;
    const row = await rowOfRecord(request.params.id);
    // The kernel decides whether the caller sees the record at all; a row alone is not enough.
    const current = row && (await records.read('MedicationRequest', row.record_id));
    if (!row || !current) throw notFound();
    const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason : 'cancelled';
    const reasonHash = hexOf(sha256(canonicalBytes({ reason, salt: bytesToHex(randomBytes(16)) })));
    const receipt = await chain.send(client, 'cancel', [hexOf(row.prescription_id), reasonHash]);
    await records.update('MedicationRequest', row.record_id, { ...current.resource, status: 'cancelled' });
    await ctx.db.query('UPDATE rx_prescriptions SET cancelled_at = $2 WHERE record_id = $1', [
      row.record_id,
      Math.floor(Date.now() / 1000),
    ]);
    return {
      prescription: hexOf(row.prescription_id),
      status: 'cancelled',
      transaction: receipt.transactionHash,
    };
  });

  /** The patient's own prescription by record id; anyone else's answers like a missing one. */
  const patientsOwn = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const caller = requirePerson(request, 'choosing a pharmacy');
    if (caller.role !== 'patient' || !caller.patientId) {
      throw forbidden("routing and tokens are the patient's own choices");
    }
    const row = await rowOfRecord(request.params.id);
    if (!row || row.patient_fhir_id !== caller.patientId) throw notFound();
    return row;
  };

  app.post<{ Params: { id: string } }>('/fhir/MedicationRequest/:id/$route', async (request) => {
    const row = await patientsOwn(request);
    const body = objectBody(request.body);
    let pharmacy: unknown = body.pharmacy;
    if (body.resourceType === 'Parameters' && Array.isArray(body.parameter)) {
      pharmacy = (body.parameter as { name?: string; valueInteger?: unknown }[]).find(
        (p) => p?.name === 'pharmacy',
      )?.valueInteger;
    }
    if (!Number.isSafeInteger(pharmacy) || (pharmacy as number) < 1 || (pharmacy as number) > 2 ** 32 - 1) {
      throw badInput('pharmacy', "the pharmacy's registry id (GET /directory/organisations lists them)");
    }
    const receipt = await chain.send(ctx.ledger, 'route', [hexOf(row.prescription_id), pharmacy]);
    await ctx.db.query('UPDATE rx_prescriptions SET routed_to = $2 WHERE record_id = $1', [
      row.record_id,
      pharmacy,
    ]);
    return {
      prescription: hexOf(row.prescription_id),
      pharmacy,
      transaction: receipt.transactionHash,
    };
  });

  app.post<{ Params: { id: string } }>('/fhir/MedicationRequest/:id/$token', async (request, reply) => {
    const row = await patientsOwn(request);
    const id = hexOf(row.prescription_id);
    const record = await chain.record(id);
    if (record.status !== PrescriptionStatus.Active) {
      throw new MdlError(MdlErrorCode.Conflict, `the prescription is ${STATUS_NAMES[record.status]}`);
    }
    const secret = bytesToHex(randomBytes(PRESCRIPTION_TOKEN_BYTES));
    await ctx.db.query('INSERT INTO rx_tokens (token_hash, prescription_id) VALUES ($1, $2)', [
      tokenHash(secret),
      row.prescription_id,
    ]);
    return reply.code(201).send({ prescription: id, token: formatToken(id, secret) });
  });

  app.get('/prescriptions', { schema: medicationListSchema }, async (request) => {
    const caller = requirePerson(request, 'the medication list');
    if (caller.role !== 'patient' || !caller.patientId)
      throw forbidden('the medication list is the patient’s');
    await deps.events.sync();
    const { rows } = await ctx.db.query<PrescriptionRow>(
      'SELECT * FROM rx_prescriptions WHERE patient_fhir_id = $1 ORDER BY created_at',
      [caller.patientId],
    );
    const records = request.records!;
    const prescriptions = [];
    for (const row of rows) {
      const id = hexOf(row.prescription_id);
      const [onChain, stored] = await Promise.all([
        chain.record(id),
        records.read('MedicationRequest', row.record_id),
      ]);
      const active = onChain.status === PrescriptionStatus.Active;
      const concept = stored.resource.medicationCodeableConcept as
        | { text?: string; coding?: { display?: string }[] }
        | undefined;
      prescriptions.push({
        prescription: id,
        medicationRequest: `MedicationRequest/${row.record_id}`,
        medication: concept?.text ?? concept?.coding?.find((c) => c.display)?.display,
        status: STATUS_NAMES[onChain.status],
        fillsAllowed: onChain.fillsAllowed,
        fillsUsed: onChain.fillsUsed,
        fillsRemaining: active ? onChain.fillsAllowed - onChain.fillsUsed : 0,
        quantityRemaining: active ? onChain.quantityAllowed - onChain.quantityDispensed : 0,
        validUntil: new Date(onChain.notAfter * 1000).toISOString(),
        ...(onChain.lastFilledAt
          ? { lastFilledAt: new Date(onChain.lastFilledAt * 1000).toISOString() }
          : {}),
        ...(row.routed_to === null ? {} : { routedTo: Number(row.routed_to) }),
      });
    }
    return { prescriptions };
  });
}
