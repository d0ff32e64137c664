/**
 * The prescriber's node answering a pharmacy's prescription request (POST /fhir/$prescription-exchange, public:
 * authenticated by the request's signature). The decision, all of it before anything is released:
 * 1. the request verifies (signature under the pharmacy's registered bundle, addressed to us, in its window,
 *    new — openPrescriptionRequest with the exchange's replay store);
 * 2. the requester is an active organisation of kind Pharmacy, and the pharmacist named is its member with the
 *    Pharmacist role on the ledger;
 * 3. the prescription is one this node recorded, and either it is routed on-chain to the requester (its latest
 *    PrescriptionRouted names the requester), or the request carries
 *    a token whose SHA-256 is stored for this prescription and unused — which is then marked used, atomically,
 *    so exactly one presenter ever gets it.
 * Release: version 1 of the MedicationRequest — the one the commitment covers — read with system access named
 * for this release, as its RFC 8785 bytes, with the salt. The pharmacy learns that one record and nothing
 * else: no category key. Every denial is the same signed, same-sized answer.
 */
import { MemberRole, OrganisationKind } from '@medledger/contracts';
import { bytesToHex, canonicalBytes, equalBytes, hexToBytes, sha256 } from '@medledger/crypto';
import {
  createPrescriptionRelease,
  type OrganisationKeys,
  openPrescriptionRequest,
  type PrescriptionReleaseContent,
  type ReceivedPrescriptionRequest,
} from '@medledger/exchange';
import type { Address, Hex } from 'viem';
import type { ExchangeStore } from '../exchange/ExchangeStore.js';
import type { OrganisationDirectory } from '../exchange/OrganisationDirectory.js';
import type { NodeContext } from '../NodeContext.js';
import type { Records } from '../services/RecordService.js';
import type { PrescriptionLedger } from './PrescriptionLedger.js';
import { type PrescriptionRow, tokenHash } from './prescriptionRows.js';

export interface CustodianAnswer {
  bytes: Uint8Array;
  released: boolean;
  request: ReceivedPrescriptionRequest;
  /** The patient's FHIR id here, when the prescription is ours (for the audit trail). */
  patientId?: string;
}

export class PrescriptionCustodian {
  readonly #ctx: NodeContext;
  readonly #keys: OrganisationKeys;
  readonly #directory: OrganisationDirectory;
  readonly #store: ExchangeStore;
  readonly #release: Records;
  readonly #chain: PrescriptionLedger;

  constructor(
    ctx: NodeContext,
    keys: OrganisationKeys,
    directory: OrganisationDirectory,
    store: ExchangeStore,
    chain: PrescriptionLedger,
  ) {
    this.#ctx = ctx;
    this.#chain = chain;
    this.#keys = keys;
    this.#directory = directory;
    this.#store = store;
    this.#release = ctx.records.system('prescription release');
  }

  async answer(bytes: Uint8Array): Promise<CustodianAnswer> {
    const now = () => Math.floor(Date.now() / 1000);
    const request = await openPrescriptionRequest(bytes, {
      custodian: this.#keys,
      resolveRequesterBundle: (organisation) => this.#directory.bundle(organisation),
      now: now(),
      replay: (id, expiresAt) => this.#store.claimRequest(id, expiresAt, now()),
    });
    const row = (
      await this.#ctx.db.query<PrescriptionRow>('SELECT * FROM rx_prescriptions WHERE prescription_id = $1', [
        hexToBytes(request.prescription.slice(2)),
      ])
    ).rows[0];
    const content = row ? await this.#decide(request, row) : undefined;
    return {
      bytes: createPrescriptionRelease({ request, custodian: this.#keys, content }),
      released: content !== undefined,
      request,
      ...(row ? { patientId: row.patient_fhir_id } : {}),
    };
  }

  async #decide(
    request: ReceivedPrescriptionRequest,
    row: PrescriptionRow,
  ): Promise<PrescriptionReleaseContent | undefined> {
    const { consent, db } = this.#ctx;
    await consent.catchUp();
    const pharmacy = request.requester.organisation;
    const consortium = consent.consortium;
    if (!consortium.organisationActive(pharmacy)) return undefined;
    if ((await this.#directory.profile(pharmacy))?.kind !== OrganisationKind.Pharmacy) return undefined;
    const pharmacist = request.pharmacist as Address;
    if (
      consortium.memberOrganisation(pharmacist) !== pharmacy ||
      consortium.memberRole(pharmacist) !== MemberRole.Pharmacist
    ) {
      return undefined;
    }
    if (request.token === undefined) {
      // The ledger says where the prescription is routed now (its latest PrescriptionRouted).
      if ((await this.#chain.routedTo(request.prescription as Hex)) !== pharmacy) return undefined;
    } else {
      // One statement: of two presenters racing with the same token, exactly one updates the row.
      const used = await db.query(
        `UPDATE rx_tokens SET used_at = now(), used_by = $3
          WHERE token_hash = $1 AND prescription_id = $2 AND used_at IS NULL`,
        [tokenHash(request.token), row.prescription_id, pharmacy],
      );
      if (used.rowCount !== 1) return undefined;
    }
    const prescribed = await this.#release.vread('MedicationRequest', row.record_id, 1);
    const resource = canonicalBytes(prescribed.resource);
    // The record must still be the one the ledger's commitment covers.
    if (!equalBytes(sha256(resource), row.canonical_hash)) return undefined;
    return { resource, salt: `0x${bytesToHex(row.salt)}` };
  }
}
