/**
 * The custodian's side of an exchange (docs/exchange.md, *In the node*): open and verify the sealed request
 * (signature under the requester's registered bundle, addressing, validity window, replay store), decide on the
 * ledger whether to release, then answer with the patient's current records in the requested categories —
 * sealed exactly as stored — and their category keys wrapped to the requester, or with a denial that looks the
 * same for every reason. Both answers are padded to at least RESPONSE_MIN_PADDED_BYTES, so a denial and a
 * small release have one size on the wire. The receipt is stored before the answer leaves.
 *
 * The decision, in this order, from the consent index (never staler than one block) and the registry:
 * 1. the requester organisation is active (its bundle already matched its on-chain commitment);
 * 2. the practitioner is a member of it, in an on-chain role whose role ceiling allows reading every
 *    requested category for the purpose;
 * 3. the practitioner's licence is valid now, and its on-chain credentialHash is the one the request cites;
 * 4. consent: for every requested category a grant of the patient permitting (requester, member, Read,
 *    category, purpose) now with no data period (a released key opens its whole epoch) — or, for the
 *    Emergency purpose, the request's break-glass session, active for this member and patient;
 * 5. the patient is known here (linked on-chain pseudonym), and the release fits the protocol's limits.
 *
 * Limits: all-or-nothing per request (one uncovered category denies everything); a data-period consent is
 * denied rather than served by rotating the category key; exchange is for licensed members only.
 */
import { type ConsentIndex, grantPermits } from '@medledger/consent';
import { Action, Purpose } from '@medledger/contracts';
import { type DataCategory, MdlError, MdlErrorCode } from '@medledger/core';
import type { CategoryKey } from '@medledger/crypto';
import {
  createExchangeDenial,
  createExchangeReceipt,
  createExchangeResponse,
  EXCHANGE_LIMITS,
  type ExchangeReceipt,
  type OrganisationKeys,
  openExchangeRequest,
  type ReceivedExchangeRequest,
} from '@medledger/exchange';
import { ROLE_DEFINITIONS, ROLES, roleAllows } from '@medledger/identity';
import type { Db } from '@medledger/storage';
import type { Address, Hex } from 'viem';
import type { PatientLinks } from '../access/PatientLinks.js';
import type { RecordService } from '../services/RecordService.js';
import type { ExchangeStore } from './ExchangeStore.js';
import type { OrganisationDirectory } from './OrganisationDirectory.js';

/** Denials and releases up to this padded size look alike on the wire (a 50-observation release fits). */
export const RESPONSE_MIN_PADDED_BYTES = 64 * 1024;
/** A category key wrapped to the requester (envelope type 02). */
const WRAPPED_KEY_BYTES = 1232;

export interface CustodianDeps {
  db: Db;
  consent: ConsentIndex;
  links: PatientLinks;
  records: RecordService;
  directory: OrganisationDirectory;
  store: ExchangeStore;
  keys: OrganisationKeys;
}

export interface CustodianAnswer {
  bytes: Uint8Array;
  receipt: ExchangeReceipt;
}

type Release = {
  records: { envelope: Uint8Array; cid: string; resourceType: string }[];
  keys: CategoryKey[];
};

/** Whether a member with on-chain role `memberRole` may, by role, read `category` for `purpose`. */
function memberRoleAllows(memberRole: number, category: DataCategory, purpose: number): boolean {
  return ROLES.some(
    (role) =>
      ROLE_DEFINITIONS[role].memberRole === memberRole &&
      roleAllows(role, 'read', category, purpose as Purpose),
  );
}

export class ExchangeCustodian {
  readonly #d: CustodianDeps;

  constructor(deps: CustodianDeps) {
    this.#d = deps;
  }

  /**
   * Answers sealed request bytes. Throws (MDL_BAD_INPUT, MDL_UNSUPPORTED, MDL_INVALID_CREDENTIAL, MDL_REPLAY)
   * for a request that does not verify — it gets no signed answer — and MDL_UNAVAILABLE when the ledger or
   * the database cannot be read (fail closed).
   */
  async answer(bytes: Uint8Array): Promise<CustodianAnswer> {
    const { keys, directory, store } = this.#d;
    const request = await openExchangeRequest(bytes, {
      custodian: keys,
      resolveRequesterBundle: (organisation) => directory.bundle(organisation),
      now: Math.floor(Date.now() / 1000),
      replay: (id, expiresAt) => store.claimRequest(id, expiresAt, Math.floor(Date.now() / 1000)),
    });
    const release = await this.#decide(request);
    const { response, bytes: answer } = release
      ? createExchangeResponse({
          request,
          custodian: keys,
          records: release.records,
          categoryKeys: release.keys,
          minPaddedBytes: RESPONSE_MIN_PADDED_BYTES,
        })
      : createExchangeDenial({ request, custodian: keys, minPaddedBytes: RESPONSE_MIN_PADDED_BYTES });
    const receipt = createExchangeReceipt({ request, response });
    await store.putReceipt('custodian', request.requester.organisation, receipt);
    return { bytes: answer, receipt: receipt.receipt };
  }

  /** The ledger checks and the records to release, or undefined (deny). */
  async #decide(request: ReceivedExchangeRequest): Promise<Release | undefined> {
    const { consent, directory } = this.#d;
    await consent.catchUp(); // the grant may have been mined a moment ago, relayed by another node
    const at = consent.now();
    const consortium = consent.consortium;
    const organisation = request.requester.organisation;
    const member = request.practitioner.member as Address;
    const patient = request.patient as Hex;

    // 1. The requester organisation is active.
    if (!consortium.organisationActive(organisation)) return undefined;
    // 2. The practitioner is its member, in a role that may read what is asked for this purpose.
    if (consortium.memberOrganisation(member) !== organisation) return undefined;
    const memberRole = consortium.memberRole(member);
    if (memberRole === undefined) return undefined;
    if (!request.categories.every((c) => memberRoleAllows(memberRole, c, request.purpose))) return undefined;
    // 3. A valid licence, and the one the request cites.
    if (!consortium.hasValidLicence(member, at)) return undefined;
    if ((await directory.licenceHash(member)) !== request.practitioner.licence) return undefined;
    // 4. Consent for every category, or the member's break-glass session.
    if (request.purpose === Purpose.Emergency) {
      if (request.breakGlass === undefined) return undefined;
      const session = await consent.activeBreakGlass(patient, member, at);
      if (session?.id !== request.breakGlass || session.organisation !== organisation) return undefined;
    } else {
      for (const category of request.categories) {
        if (!(await this.#consented(patient, organisation, member, category, request.purpose, at))) {
          return undefined;
        }
      }
    }
    // 5. The patient's records here, within the limits.
    const local = (await this.#d.links.recordPseudonymsOf(this.#d.db, [patient])).get(patient);
    if (!local) return undefined;
    const found = await this.#d.records.sealedRecordsOf(local, request.categories, {
      since: request.since === undefined ? undefined : new Date(request.since * 1000),
      limit: EXCHANGE_LIMITS.maxRecords,
    });
    if (!found.complete || found.keys.length > EXCHANGE_LIMITS.maxCategoryKeys) return undefined;
    // Blobs plus a generous allowance for the manifest and signature must fit the largest response.
    const blobs = found.records.reduce((n, r) => n + 4 + r.envelope.length, 0);
    const size = blobs + found.keys.length * (4 + WRAPPED_KEY_BYTES) + 128 * found.records.length + 8192;
    if (size > EXCHANGE_LIMITS.maxResponseBytes) return undefined;
    return {
      records: found.records.map((r) => ({ envelope: r.envelope, cid: r.cid, resourceType: r.type })),
      keys: found.keys,
    };
  }

  /**
   * A grant permitting this read now whose data period is unbounded: a released category key opens every
   * record of its epoch, so a consent limited to a data period must not release it.
   */
  async #consented(
    patient: Hex,
    organisation: number,
    member: Address,
    category: DataCategory,
    purpose: number,
    at: number,
  ): Promise<boolean> {
    const { consent } = this.#d;
    const query = {
      patient,
      organisation,
      member,
      action: Action.Read,
      resourceClass: category,
      purpose,
      at,
    };
    const id = await consent.permits(query);
    if (id === undefined) return false;
    const grant = await consent.grant(id);
    if (grant && grant.dataFrom === 0 && grant.dataUntil === 0) return true;
    // Another grant may cover the same read without a data period.
    return (await consent.grantsOf(patient)).some(
      (g) => g.dataFrom === 0 && g.dataUntil === 0 && grantPermits(g, query, consent.consortium),
    );
  }
}

export function isExchangeRefusal(error: unknown): boolean {
  return (
    error instanceof MdlError &&
    (error.code === MdlErrorCode.BadInput ||
      error.code === MdlErrorCode.Unsupported ||
      error.code === MdlErrorCode.InvalidCredential ||
      error.code === MdlErrorCode.Replay)
  );
}
