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
 * 2. the practitioner is a member of it, and the licence the request cites is the member's on-chain one;
 * 3. for every requested category, the node's one authorisation decision (access/decide.ts) for the member
 *    in the role its on-chain membership gives, reading that category of another organisation's patient for
 *    the request's purpose: role ceiling, a valid licence, and a grant of the patient permitting it now with
 *    no data period (a released key opens its whole epoch) — or, for the Emergency purpose, the request's
 *    break-glass session, active for this member and patient;
 * 4. the patient is known here (linked on-chain pseudonym), and the release fits the protocol's limits and
 *    the key epochs that existed before step 1 (keyEpochs.epochsNow): a revocation or expiry starts a new epoch
 *    at the next write, and a record sealed under it is never released on a decision taken before it.
 *
 * Limits: all-or-nothing per request (one uncovered category denies everything, and so does a record sealed
 * under an epoch started during the decision: the requester asks again); a data-period consent is denied
 * rather than served by rotating the category key; exchange is for licensed members only.
 */
import type { ConsentIndex } from '@medledger/consent';
import { Purpose } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
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
import { parseScopes, ROLE_DEFINITIONS, ROLES, type Role } from '@medledger/identity';
import type { Db } from '@medledger/storage';
import type { Address, Hex } from 'viem';
import { type ConsentView, decide } from '../access/decide.js';
import type { PatientLinks } from '../access/PatientLinks.js';
import { epochsNow } from '../services/keyEpochs.js';
import type { RecordService, Records } from '../services/RecordService.js';
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

/** The role whose ceiling an on-chain member role carries (doctors and nurses read the same categories). */
function roleOfMember(memberRole: number): Role | undefined {
  return ROLES.find((role) => ROLE_DEFINITIONS[role].memberRole === memberRole);
}

/** An exchange carries no SMART token: the signed request is the member's authority, for reading only. */
const EXCHANGE_SCOPES = parseScopes('user/*.rs');

export class ExchangeCustodian {
  readonly #d: CustodianDeps;

  /** What the custodian releases once `#decide` said yes, with system access named for it. */
  readonly #release: Records;

  constructor(deps: CustodianDeps) {
    this.#d = deps;
    this.#release = deps.records.system('exchange release');
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
    // The key epochs that exist before consent is decided bound the release: one started later (by the
    // revocation or expiry of the very grant found below) is never released on this decision.
    const local = (await this.#d.links.recordPseudonymsOf(this.#d.db, [patient])).get(patient);
    const epochs = local && (await epochsNow(this.#d.db, local, request.categories));

    // 1. The requester organisation is active.
    if (!consortium.organisationActive(organisation)) return undefined;
    // 2. The practitioner is its member, and cites the licence the registry holds.
    if (consortium.memberOrganisation(member) !== organisation) return undefined;
    const memberRole = consortium.memberRole(member);
    const role = memberRole === undefined ? undefined : roleOfMember(memberRole);
    if (role === undefined) return undefined;
    if ((await directory.licenceHash(member)) !== request.practitioner.licence) return undefined;
    // 3. The one decision, per category: role ceiling, licence, consent or the member's break-glass session.
    const emergency = request.purpose === Purpose.Emergency;
    if (emergency && request.breakGlass === undefined) return undefined;
    const session = emergency ? await consent.activeBreakGlass(patient, member, at) : undefined;
    const view: ConsentView = {
      organisation,
      at,
      consortium,
      // A released key opens its whole epoch: grants limited to a data period cannot release one.
      grants: emergency
        ? []
        : (await consent.grantsOf(patient)).filter((g) => g.dataFrom === 0 && g.dataUntil === 0),
      breakGlass: session?.id === request.breakGlass && session?.organisation === organisation,
      licenceValid: consortium.hasValidLicence(member, at),
    };
    const subject = {
      kind: 'person',
      role,
      member,
      scopes: EXCHANGE_SCOPES,
      purpose: request.purpose as Purpose,
    } as const;
    const allowed = request.categories.every(
      (category) => decide(subject, 'read', { type: 'Bundle', owner: 'patient', category }, view).allow,
    );
    if (!allowed) return undefined;
    // 4. The patient's records here, within the limits and the epochs that existed before the decision.
    if (!local || !epochs) return undefined;
    const found = await this.#release.sealedCompartment(local, request.categories, {
      since: request.since === undefined ? undefined : new Date(request.since * 1000),
      limit: EXCHANGE_LIMITS.maxRecords,
      epochs,
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
