/**
 * The pharmacy's node (docs/prescriptions.md, *Prescribing and dispensing*), for its pharmacists:
 * - POST /pharmacy/prescriptions/$fetch {prescription} or {token}: asks the prescriber's node — the organisation
 *   the ledger records for the prescription — for it over the prescription exchange (routed to us, or with the
 *   patient's token), then verifies what came back: the commitment recomputed from the released bytes and salt
 *   is the on-chain id, the prescriber's licence is valid, and the status, fills and quantity left. The
 *   released MedicationRequest is kept sealed in the queue. A denial, an unknown id and a prescription of a
 *   non-member all answer 404 alike.
 * - POST /pharmacy/prescriptions/{id}/$dispense {quantity}: `dispense` sent from the pharmacist's custodial
 *   key; only once the ledger accepted is the MedicationDispense stored (authorizingPrescription names the
 *   prescription by its on-chain id). A refusal (fills exhausted, expired, cancelled) stores nothing.
 * - GET /pharmacy/queue: routed and fetched prescriptions with their verification and the chain's status.
 * The MedicationDispense is written with system access named for dispensing, after these checks: the patient is
 * not a patient of the pharmacy's node, so the record is filed as patient data of an unresolved patient (its
 * subject is the prescription's identifier), which only this organisation reads.
 */
import { randomBytes } from 'node:crypto';
import { dispenseCommitment, PrescriptionStatus, prescriptionCommitment } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  aeadOpen,
  aeadSeal,
  bytesToUtf8,
  canonicalBytes,
  hexToBytes,
  sha256,
  utf8ToBytes,
} from '@medledger/crypto';
import {
  createPrescriptionRequest,
  type OrganisationKeys,
  openPrescriptionRelease,
} from '@medledger/exchange';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Hex } from 'viem';
import type { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import { badInput, forbidden, notFound, objectBody, requirePerson } from '../features/careRequests.js';
import type { MemberKeys } from '../features/memberKeys.js';
import type { NodeContext } from '../NodeContext.js';
import type { PrescriptionEvents } from './PrescriptionEvents.js';
import type { PrescriptionLedger } from './PrescriptionLedger.js';
import { PRESCRIPTION_EXCHANGE_PATH } from './prescriptionCustodianRoute.js';
import { PRESCRIPTION_ID_SYSTEM } from './prescriptionOrder.js';
import { hexOf, parseToken } from './prescriptionRows.js';
import { dispenseSchema, fetchPrescriptionSchema, pharmacyQueueSchema } from './prescriptionSchemas.js';

const STATUS_NAMES = ['unknown', 'active', 'cancelled', 'completed', 'expired'];
const TIMEOUT_MS = 15_000;
const MAX_ANSWER_BYTES = 64 * 1024;
const aad = (id: Hex) => utf8ToBytes(`medledger/prescriptions/v1/queue|${id}`);
const denied = () => notFound('no such prescription available to this pharmacy');

interface QueueRow {
  prescription_id: Uint8Array;
  custodian: string | number;
  routed: boolean;
  sealed_request: Uint8Array | null;
  verified: string | null;
  cancelled: boolean;
}

export function registerPharmacyRoutes(
  app: FastifyInstance,
  ctx: NodeContext,
  deps: {
    chain: PrescriptionLedger;
    memberKeys: MemberKeys;
    events: PrescriptionEvents;
    keys: OrganisationKeys;
    directory: OrganisationDirectory;
  },
) {
  const { chain, directory, keys } = deps;

  const pharmacist = (request: FastifyRequest, what: string) => {
    const caller = requirePerson(request, what);
    if (caller.role !== 'pharmacist' || !caller.member) throw forbidden(`${what} is for pharmacists`);
    return { caller, member: caller.member };
  };

  /** What the pharmacy checks before it relies on a released prescription. */
  const verify = async (id: Hex, salt: Hex, canonicalHash: Hex) => {
    const record = await chain.record(id);
    await ctx.consent.refreshHead();
    await ctx.consent.ensureFresh();
    return {
      anchored:
        prescriptionCommitment(salt, canonicalHash) === id && record.status !== PrescriptionStatus.None,
      prescriberLicensed: ctx.consent.consortium.hasValidLicence(record.prescriber, ctx.consent.now()),
      status: STATUS_NAMES[record.status],
      fillsRemaining:
        record.status === PrescriptionStatus.Active ? record.fillsAllowed - record.fillsUsed : 0,
      quantityRemaining:
        record.status === PrescriptionStatus.Active ? record.quantityAllowed - record.quantityDispensed : 0,
    };
  };

  app.post('/pharmacy/prescriptions/$fetch', { schema: fetchPrescriptionSchema }, async (request) => {
    const { member } = pharmacist(request, 'fetching a prescription');
    const body = objectBody(request.body);
    for (const key of Object.keys(body)) {
      if (key !== 'prescription' && key !== 'token') throw badInput(key, 'unknown field');
    }
    let id: Hex;
    let secret: string | undefined;
    if (body.token !== undefined) {
      const token = parseToken(body.token);
      if (!token) throw badInput('token', 'a prescription token as the patient’s portal shows it');
      ({ prescription: id, secret } = token);
    } else if (typeof body.prescription === 'string' && /^0x[0-9a-fA-F]{64}$/.test(body.prescription)) {
      id = body.prescription.toLowerCase() as Hex;
    } else {
      throw badInput('prescription', 'the on-chain prescription id (0x and 64 hex digits), or a token');
    }
    const record = await chain.record(id);
    if (record.status === PrescriptionStatus.None || record.organisation === ctx.organisationId)
      throw denied();
    const custodian = record.organisation;
    const [profile, bundle] = await Promise.all([directory.profile(custodian), directory.bundle(custodian)]);
    if (!profile || !bundle) throw denied();
    const { bytes, request: asked } = createPrescriptionRequest({
      requester: keys,
      custodian: { organisation: custodian, bundle },
      pharmacist: member,
      prescription: id,
      ...(secret ? { token: secret } : {}),
    });
    let answer: Uint8Array;
    try {
      const res = await fetch(`${profile.endpoint}/${PRESCRIPTION_EXCHANGE_PATH.slice('/fhir/'.length)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
        body: new Uint8Array(bytes),
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new MdlError(MdlErrorCode.Unavailable, `the prescriber's node refused (HTTP ${res.status})`);
      }
      answer = new Uint8Array(await res.arrayBuffer());
      if (answer.length > MAX_ANSWER_BYTES) throw new MdlError(MdlErrorCode.Unavailable, 'answer too large');
    } catch (error) {
      if (error instanceof MdlError) throw error;
      throw new MdlError(MdlErrorCode.Unavailable, "the prescriber's node could not be reached");
    }
    let opened: ReturnType<typeof openPrescriptionRelease>;
    try {
      opened = openPrescriptionRelease(answer, { requester: keys, request: asked, custodianBundle: bundle });
    } catch {
      throw new MdlError(MdlErrorCode.Unavailable, "the prescriber's answer did not verify");
    }
    if (opened.status !== 'released' || !opened.release) throw denied();
    const { resource, salt, canonicalHash } = opened.release;
    const verification = await verify(id, salt as Hex, canonicalHash as Hex);
    if (!verification.anchored) {
      throw new MdlError(MdlErrorCode.Unavailable, "the released prescription does not match the ledger's");
    }
    const medicationRequest = JSON.parse(bytesToUtf8(resource)) as Record<string, unknown>;
    await ctx.db.query(
      `INSERT INTO rx_queue (prescription_id, custodian, sealed_request, verified) VALUES ($1, $2, $3, $4)
       ON CONFLICT (prescription_id) DO UPDATE
         SET sealed_request = EXCLUDED.sealed_request, verified = EXCLUDED.verified, updated_at = now()`,
      [
        hexToBytes(id.slice(2)),
        custodian,
        aeadSeal(ctx.sealingKey, resource, aad(id)),
        JSON.stringify(verification),
      ],
    );
    return { prescription: id, custodian, verification, medicationRequest };
  });

  app.post<{ Params: { id: string } }>(
    '/pharmacy/prescriptions/:id/$dispense',
    { schema: dispenseSchema },
    async (request, reply) => {
      const { member } = pharmacist(request, 'dispensing');
      const body = objectBody(request.body);
      for (const key of Object.keys(body)) {
        if (key !== 'quantity' && key !== 'daysSupply') throw badInput(key, 'unknown field');
      }
      const quantity = body.quantity;
      if (!Number.isSafeInteger(quantity) || (quantity as number) < 1 || (quantity as number) > 2 ** 32 - 1) {
        throw badInput('quantity', 'a positive whole number');
      }
      const daysSupply = body.daysSupply;
      if (daysSupply !== undefined && (!Number.isSafeInteger(daysSupply) || (daysSupply as number) < 1)) {
        throw badInput('daysSupply', 'a positive whole number of days');
      }
      if (!/^0x[0-9a-f]{64}$/.test(request.params.id)) throw denied();
      const id = request.params.id as Hex;
      const row = (
        await ctx.db.query<QueueRow>('SELECT * FROM rx_queue WHERE prescription_id = $1', [
          hexToBytes(id.slice(2)),
        ])
      ).rows[0];
      const sealed = row?.sealed_request;
      const prescribed = sealed ? aeadOpen(ctx.sealingKey, sealed, aad(id)) : undefined;
      if (!prescribed) throw denied();
      const prescription = JSON.parse(bytesToUtf8(prescribed)) as Record<string, unknown>;
      const client = await deps.memberKeys.client(member);
      if (!client) throw forbidden('dispensing needs a member account whose key this node holds');

      const dispense = {
        resourceType: 'MedicationDispense',
        status: 'completed',
        // The patient is the prescriber's; here they are known only through the prescription.
        subject: {
          type: 'Patient',
          identifier: { system: PRESCRIPTION_ID_SYSTEM, value: id },
        },
        medicationCodeableConcept: prescription.medicationCodeableConcept,
        authorizingPrescription: [
          { type: 'MedicationRequest', identifier: { system: PRESCRIPTION_ID_SYSTEM, value: id } },
        ],
        quantity: { value: quantity, ...unitOf(prescription) },
        ...(daysSupply === undefined
          ? {}
          : {
              daysSupply: {
                value: daysSupply,
                unit: 'days',
                system: 'http://unitsofmeasure.org',
                code: 'd',
              },
            }),
        whenHandedOver: new Date().toISOString(),
        ...(Array.isArray(prescription.dosageInstruction)
          ? { dosageInstruction: prescription.dosageInstruction }
          : {}),
      };
      const salt = hexOf(randomBytes(32));
      const commitment = dispenseCommitment(salt, hexOf(sha256(canonicalBytes(dispense))));
      // The ledger first: a refusal (or a lost race for the last fill) stores nothing.
      const receipt = await chain.send(client, 'dispense', [id, quantity, commitment]);
      const { stored } = await ctx.records
        .system('prescription dispense')
        .create('MedicationDispense', dispense);
      await deps.events.sync().catch(() => undefined);
      return reply.code(201).send({
        prescription: id,
        medicationDispense: `MedicationDispense/${stored.id}`,
        transaction: receipt.transactionHash,
        salt,
      });
    },
  );

  app.get('/pharmacy/queue', { schema: pharmacyQueueSchema }, async (request) => {
    pharmacist(request, 'the pharmacy queue');
    await deps.events.sync();
    const { rows } = await ctx.db.query<QueueRow>('SELECT * FROM rx_queue ORDER BY updated_at');
    const queue = [];
    for (const row of rows) {
      const id = hexOf(row.prescription_id);
      const onChain = await chain.record(id);
      queue.push({
        prescription: id,
        custodian: Number(row.custodian),
        routed: row.routed,
        fetched: row.sealed_request !== null,
        verification: row.verified ? JSON.parse(row.verified) : undefined,
        status: STATUS_NAMES[onChain.status],
        cancelled: row.cancelled || onChain.status === PrescriptionStatus.Cancelled,
        fillsRemaining:
          onChain.status === PrescriptionStatus.Active ? onChain.fillsAllowed - onChain.fillsUsed : 0,
      });
    }
    return { queue };
  });
}

function unitOf(prescription: Record<string, unknown>): Record<string, unknown> {
  const q = (prescription.dispenseRequest as { quantity?: Record<string, unknown> } | undefined)?.quantity;
  const out: Record<string, unknown> = {};
  for (const k of ['unit', 'system', 'code']) if (typeof q?.[k] === 'string') out[k] = q[k];
  return out;
}
