/**
 * @medledger/exchange — the node-to-node exchange protocol (docs/exchange.md): a node asks a custodian node
 * for a patient's records on behalf of its practitioner; the custodian releases them with their category keys
 * HPKE-wrapped to the requester; both keep a receipt. Pure protocol: no I/O, no HTTP, no ledger access — the
 * node does transport, the ledger checks and storage.
 */

export type {
  Bytes32Hex,
  ExchangeRequestId,
  MemberAddress,
  OrganisationId,
  PartyRef,
  Practitioner,
  SignedPart,
} from './exchangeFields.js';
export {
  createExchangeReceipt,
  type ExchangeReceipt,
  type ExchangeReceiptId,
  type VerifyExchangeReceiptOptions,
  verifyExchangeReceipt,
} from './exchangeReceipt.js';
export {
  type CreateExchangeRequestInput,
  createExchangeRequest,
  EXCHANGE_REQUEST_FORMAT,
  type ExchangeRequest,
  exchangeRequestId,
  isReceivedExchangeRequest,
  type OpenExchangeRequestOptions,
  openExchangeRequest,
  type ReceivedExchangeRequest,
} from './exchangeRequest.js';
export {
  type CreateExchangeDenialInput,
  type CreateExchangeResponseInput,
  createExchangeDenial,
  createExchangeResponse,
  EXCHANGE_RESPONSE_FORMAT,
  type ExchangeRecordInput,
  type ExchangeResponse,
  type ExchangeResponseManifest,
  type ExchangeStatus,
  type OpenExchangeResponseOptions,
  type OpenedExchangeResponse,
  openExchangeResponse,
  type ReleasedCategoryKey,
  type ReleasedRecord,
  type ReleasedRecordRef,
} from './exchangeResponse.js';
export { EXCHANGE_LIMITS, type ResponseLimits } from './limits.js';
export { EXCHANGE_SIGNATURE_CONTEXTS, OrganisationKeys } from './OrganisationKeys.js';
export {
  type CreatePrescriptionRequestInput,
  createPrescriptionRelease,
  createPrescriptionRequest,
  type OpenedPrescriptionRelease,
  type OpenPrescriptionRequestOptions,
  openPrescriptionRelease,
  openPrescriptionRequest,
  PRESCRIPTION_LIMITS,
  PRESCRIPTION_RELEASE_FORMAT,
  PRESCRIPTION_REQUEST_FORMAT,
  PRESCRIPTION_TOKEN_BYTES,
  type PrescriptionReleaseContent,
  type PrescriptionRequest,
  type ReceivedPrescriptionRequest,
} from './prescriptionExchange.js';
export {
  type CreateWorkflowRequestInput,
  type CreateWorkflowResponseInput,
  createWorkflowRequest,
  createWorkflowResponse,
  isReceivedWorkflowRequest,
  type OpenWorkflowRequestOptions,
  type OpenWorkflowResponseOptions,
  openWorkflowRequest,
  openWorkflowResponse,
  type ReceivedWorkflowRequest,
  WORKFLOW_LIMITS,
  WORKFLOW_REQUEST_FORMAT,
  WORKFLOW_RESPONSE_FORMAT,
  type WorkflowKind,
  type WorkflowPayload,
  type WorkflowRequest,
  type WorkflowResponse,
  type WorkflowStatus,
} from './workflowMessage.js';
