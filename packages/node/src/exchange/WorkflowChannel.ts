/**
 * Workflow calls between nodes over the exchange protocol's workflow messages (@medledger/exchange
 * workflowMessage.ts): a registry of handlers by `kind` for calls this node answers, the answering side
 * (`answer`: open and verify the sealed request, check the sender is an active member organisation, dispatch,
 * seal the handler's answer back) and the calling side (`call` / `callWorkflow`: seal a payload to another
 * organisation's registered bundle, POST it to `<its FHIR base>/$exchange-workflow`, verify the answer).
 *
 * Refusals are uniform: an unknown kind, an inactive sender and a handler's refusal all answer the same sealed
 * `error` with no reason. A request that does not verify gets no sealed answer (the node cannot seal to an
 * unknown sender); the route answers it with an OperationOutcome, as the record exchange does.
 *
 * Limits: one payload per message (≤ WORKFLOW_LIMITS); no receipts (the request id is the audit handle on
 * both sides); handlers must be quick — the caller waits at most CALL_TIMEOUT_MS.
 */
import type { ConsentIndex } from '@medledger/consent';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  createWorkflowRequest,
  createWorkflowResponse,
  OrganisationKeys,
  openWorkflowRequest,
  openWorkflowResponse,
  type ReceivedWorkflowRequest,
  WORKFLOW_LIMITS,
  type WorkflowKind,
  type WorkflowPayload,
} from '@medledger/exchange';
import type { NodeContext } from '../NodeContext.js';
import { ExchangeStore } from './ExchangeStore.js';
import type { OrganisationDirectory } from './OrganisationDirectory.js';

/** Where a node answers workflow calls, under its FHIR base (public: the request's signature authenticates). */
export const WORKFLOW_OPERATION = '$exchange-workflow';
const CALL_TIMEOUT_MS = 30_000;
/** The largest sealed answer: padded plaintext plus header, X-Wing ciphertext and tag. */
const MAX_ANSWER_BYTES = WORKFLOW_LIMITS.maxPaddedBytes + 4096;

/** What a handler answers: a payload, or nothing (a refusal, sealed as the uniform error). */
export interface WorkflowAnswer {
  payload?: WorkflowPayload;
  /** The local patient the call concerned (record pseudonym), for this node's audit event. */
  subject?: Uint8Array;
  /** The requesting organisation's member the call names, for this node's audit event. */
  member?: string;
  /** The purpose of use the call is answered under (a FHIR CodeableConcept), for this node's audit event. */
  purposeOfUse?: Record<string, unknown>;
}

/** Answers one verified request; MdlError MDL_UNAVAILABLE when it cannot decide now (no sealed answer). */
export type WorkflowHandler = (request: ReceivedWorkflowRequest) => Promise<WorkflowAnswer>;

export interface AnsweredCall {
  bytes: Uint8Array;
  requestId: string;
  sender: number;
  kind: WorkflowKind;
  status: 'ok' | 'error';
  subject?: Uint8Array;
  member?: string;
  purposeOfUse?: Record<string, unknown>;
}

export interface CallResult {
  requestId: string;
  /** The answer's payload; undefined when the organisation refused (for whatever reason: it does not say). */
  payload?: WorkflowPayload;
}

const unavailable = (message: string) => new MdlError(MdlErrorCode.Unavailable, message);

async function readCapped(res: Response, cap: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > cap) throw unavailable('the organisation’s answer is too large');
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > cap) throw unavailable('the organisation’s answer is too large');
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export class WorkflowChannel {
  readonly #handlers = new Map<WorkflowKind, WorkflowHandler>();
  readonly #keys: OrganisationKeys;
  readonly #directory: OrganisationDirectory;
  readonly #store: ExchangeStore;
  readonly #consent: ConsentIndex;
  readonly #organisationId: number;

  constructor(ctx: NodeContext, directory: OrganisationDirectory) {
    this.#keys = OrganisationKeys.fromKeyBundle(ctx.organisationId, ctx.bundle);
    this.#directory = directory;
    this.#store = new ExchangeStore(ctx.db);
    this.#consent = ctx.consent;
    this.#organisationId = ctx.organisationId;
  }

  /** Registers the handler of `kind` (once per kind). */
  register(kind: WorkflowKind, handler: WorkflowHandler): void {
    if (this.#handlers.has(kind))
      throw new MdlError(MdlErrorCode.Config, `workflow ${kind} registered twice`);
    this.#handlers.set(kind, handler);
  }

  /**
   * Answers sealed request bytes. Throws MDL_BAD_INPUT / MDL_UNSUPPORTED / MDL_INVALID_CREDENTIAL /
   * MDL_REPLAY for a request that does not verify (no sealed answer) and MDL_UNAVAILABLE when the ledger,
   * the database or a handler cannot answer now.
   */
  async answer(bytes: Uint8Array): Promise<AnsweredCall> {
    const now = Math.floor(Date.now() / 1000);
    const request = await openWorkflowRequest(bytes, {
      recipient: this.#keys,
      resolveRequesterBundle: (organisation) => this.#directory.bundle(organisation),
      now,
      replay: (id, expiresAt) => this.#store.claimRequest(id, expiresAt, Math.floor(Date.now() / 1000)),
    });
    await this.#consent.ensureFresh();
    const handler = this.#handlers.get(request.kind);
    const active = this.#consent.consortium.organisationActive(request.requester.organisation);
    const answer: WorkflowAnswer = active && handler ? await handler(request) : {};
    const { bytes: sealed } = createWorkflowResponse({
      request,
      recipient: this.#keys,
      ...(answer.payload === undefined
        ? { status: 'error' as const }
        : { status: 'ok' as const, payload: answer.payload }),
    });
    return {
      bytes: sealed,
      requestId: request.id,
      sender: request.requester.organisation,
      kind: request.kind,
      status: answer.payload === undefined ? 'error' : 'ok',
      ...(answer.subject ? { subject: answer.subject } : {}),
      ...(answer.member ? { member: answer.member } : {}),
      ...(answer.purposeOfUse ? { purposeOfUse: answer.purposeOfUse } : {}),
    };
  }

  /**
   * Calls `kind` at `organisation` with `payload`. MDL_BAD_INPUT for this node itself or a payload over the
   * limits; MDL_NOT_FOUND for an organisation that is not an active member; MDL_UNAVAILABLE when it cannot be
   * reached, refuses the request at the door, or its answer does not verify.
   */
  async call(organisation: number, kind: WorkflowKind, payload: WorkflowPayload): Promise<CallResult> {
    if (organisation === this.#organisationId) {
      throw new MdlError(MdlErrorCode.BadInput, 'a workflow call goes to another organisation');
    }
    await this.#consent.ensureFresh();
    const profile = await this.#directory.profile(organisation);
    if (!profile || !this.#consent.consortium.organisationActive(organisation)) {
      throw new MdlError(MdlErrorCode.NotFound, 'no such active organisation');
    }
    const bundle = await this.#directory.bundle(organisation);
    if (!bundle)
      throw unavailable('the organisation’s key bundle is unavailable or does not match the registry');
    const { bytes, request } = createWorkflowRequest({
      requester: this.#keys,
      recipient: { organisation, bundle },
      kind,
      payload,
    });
    let answer: Uint8Array;
    try {
      const res = await fetch(`${profile.endpoint}/${WORKFLOW_OPERATION}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
        body: new Uint8Array(bytes),
        redirect: 'error',
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw unavailable(`the organisation refused the workflow request (HTTP ${res.status})`);
      }
      answer = await readCapped(res, MAX_ANSWER_BYTES);
    } catch (error) {
      if (error instanceof MdlError) throw error;
      throw unavailable('the organisation could not be reached');
    }
    let opened: ReturnType<typeof openWorkflowResponse>;
    try {
      opened = openWorkflowResponse(answer, { requester: this.#keys, request, recipientBundle: bundle });
    } catch {
      throw unavailable('the organisation’s answer did not verify');
    }
    return { requestId: request.id, ...(opened.payload ? { payload: opened.payload } : {}) };
  }

  destroy(): void {
    this.#keys.destroy();
  }
}

/** Calls `kind` at organisation `organisation` through `channel` (see WorkflowChannel.call). */
export function callWorkflow(
  channel: WorkflowChannel,
  organisation: number,
  kind: WorkflowKind,
  payload: WorkflowPayload,
): Promise<CallResult> {
  return channel.call(organisation, kind, payload);
}
