/**
 * The requester's side of an exchange (docs/exchange.md, *In the node*): on behalf of one of its practitioners,
 * the node builds a request signed with the organisation's key and sealed to the custodian's registered bundle,
 * POSTs it to `<custodian endpoint>/$exchange`, then verifies and decrypts the answer. The receipt, the wrapped
 * category keys (its grants) and the sealed records are stored in one transaction; the caller gets the
 * decrypted resources, or MDL_NOT_FOUND for a denial — which says nothing about why.
 *
 * Before anything leaves the node: the caller must be a person with an on-chain member account, and their role
 * must be able to read every requested category for the purpose (else MDL_FORBIDDEN — this reveals nothing
 * about any patient). Licence and consent are the custodian's to check; the request cites the member's licence
 * as the registry has it (zero when there is none, which the custodian denies).
 */
import type { ConsentIndex } from '@medledger/consent';
import type { DataCategory } from '@medledger/core';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { bytesToUtf8 } from '@medledger/crypto';
import {
  createExchangeReceipt,
  createExchangeRequest,
  EXCHANGE_LIMITS,
  type OrganisationKeys,
  openExchangeResponse,
} from '@medledger/exchange';
import { roleAllows } from '@medledger/identity';
import type { PersonCaller } from '../access/Caller.js';
import type { ExchangeStore } from './ExchangeStore.js';
import type { ExchangeAsk } from './exchangeParameters.js';
import type { OrganisationDirectory } from './OrganisationDirectory.js';

const EXCHANGE_TIMEOUT_MS = 60_000;
/** Largest answer read: the largest padded response plus the envelope's header, X-Wing ciphertext and tag. */
const MAX_ANSWER_BYTES = EXCHANGE_LIMITS.maxResponseBytes + 4096;

export interface RequesterDeps {
  consent: ConsentIndex;
  directory: OrganisationDirectory;
  store: ExchangeStore;
  keys: OrganisationKeys;
  organisationId: number;
}

export interface ReceivedResources {
  receiptId: string;
  requestId: string;
  /** The custodian's FHIR base URL (for fullUrl). */
  custodianEndpoint: string;
  resources: { cid: string; resource: Record<string, unknown> & { resourceType: string; id?: string } }[];
}

const unavailable = (message: string) => new MdlError(MdlErrorCode.Unavailable, message);

async function readCapped(res: Response, cap: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > cap) throw unavailable('the custodian’s answer is too large');
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > cap) throw unavailable('the custodian’s answer is too large');
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export class ExchangeRequester {
  readonly #d: RequesterDeps;

  constructor(deps: RequesterDeps) {
    this.#d = deps;
  }

  async request(caller: PersonCaller, ask: ExchangeAsk): Promise<ReceivedResources> {
    const { directory, keys, store, consent } = this.#d;
    if (!caller.member) {
      throw new MdlError(
        MdlErrorCode.Forbidden,
        'exchange requests are made for a member of the organisation',
      );
    }
    if (!ask.categories.every((c: DataCategory) => roleAllows(caller.role, 'read', c, ask.purpose))) {
      throw new MdlError(
        MdlErrorCode.Forbidden,
        'the caller’s role may not read these records for this purpose',
      );
    }
    if (ask.custodian === this.#d.organisationId) {
      throw new MdlError(MdlErrorCode.BadInput, 'Parameters: custodian is this organisation');
    }
    await consent.ensureFresh();
    const profile = await directory.profile(ask.custodian);
    if (!profile || !consent.consortium.organisationActive(ask.custodian)) {
      throw new MdlError(MdlErrorCode.NotFound, 'no such active organisation');
    }
    const bundle = await directory.bundle(ask.custodian);
    if (!bundle)
      throw unavailable('the custodian’s key bundle is unavailable or does not match the registry');
    const licence = await directory.licenceHash(caller.member);

    const { bytes, request } = createExchangeRequest({
      requester: keys,
      custodian: { organisation: ask.custodian, bundle },
      practitioner: { member: caller.member, licence },
      patient: ask.patient,
      purpose: ask.purpose,
      categories: ask.categories,
      ...(ask.since === undefined ? {} : { since: ask.since }),
      ...(ask.breakGlass === undefined ? {} : { breakGlass: ask.breakGlass }),
    });

    let answer: Uint8Array;
    try {
      const res = await fetch(`${profile.endpoint}/$exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
        body: new Uint8Array(bytes),
        redirect: 'error',
        signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw unavailable(`the custodian refused the exchange request (HTTP ${res.status})`);
      }
      answer = await readCapped(res, MAX_ANSWER_BYTES);
    } catch (error) {
      if (error instanceof MdlError) throw error;
      throw unavailable('the custodian could not be reached');
    }

    let opened: ReturnType<typeof openExchangeResponse>;
    try {
      opened = openExchangeResponse(answer, { requester: keys, request, custodianBundle: bundle });
    } catch {
      throw unavailable('the custodian’s answer did not verify');
    }
    try {
      const receipt = createExchangeReceipt({ request, response: opened.response });
      if (opened.response.status === 'denied') {
        await store.putReceipt('requester', ask.custodian, receipt);
        throw new MdlError(MdlErrorCode.NotFound, 'resource not found');
      }
      await store.putRelease(receipt, {
        custodian: ask.custodian,
        patient: ask.patient,
        requestId: request.id,
        keys: opened.categoryKeys.map((k, i) => ({
          pseudonym: k.ref.pseudonym,
          category: k.ref.category,
          epoch: k.ref.epoch,
          holderKeyId: keys.keyId,
          envelope: opened.wrappedCategoryKeys[i]!,
        })),
        records: opened.records.map((r) => ({
          cid: r.cid,
          pseudonym: r.header.pseudonym,
          category: r.header.category,
          epoch: r.header.epoch,
          envelope: r.envelope,
        })),
      });
      const resources = opened.records.map((r) => {
        const { plaintext } = opened.openRecord(r.cid);
        const resource = JSON.parse(
          bytesToUtf8(plaintext),
        ) as ReceivedResources['resources'][number]['resource'];
        if (r.resourceType !== undefined && resource.resourceType !== r.resourceType) {
          throw unavailable('the custodian’s answer did not verify');
        }
        return { cid: r.cid, resource };
      });
      return {
        receiptId: receipt.receipt.receiptId,
        requestId: request.id,
        custodianEndpoint: profile.endpoint,
        resources,
      };
    } finally {
      opened.destroy();
    }
  }
}
