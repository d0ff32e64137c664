/**
 * FHIR Consent at the API becomes an on-chain grant; its withdrawal, a revocation. The ledger is the source of
 * truth: the node only stores the Consent resource (sealed, like any record, with the grant's id as an
 * identifier) after the patient's signed grant has been mined, and every access decision reads the grant from
 * the consent index, never the stored resource.
 *
 * Who signs: the patient, always, with the patient's own secp256k1 consent key (EIP-712; the node relays and
 * pays the gas). Two ways to provide the signature:
 * - custodial: the node holds the patient's key file sealed under the patient's passphrase; the request carries
 *   the passphrase in `X-Medledger-Key-Passphrase` (a step-up: the node never holds the key unsealed between
 *   requests). Guesses are throttled per account and per client address (a LoginThrottle with
 *   KEY_PASSPHRASE_THROTTLE, counted before the KDF runs, which runs off the event loop): a wrong passphrase
 *   answers 401, a throttled attempt 429 with Retry-After even when the passphrase is right; both are audited
 *   with their reason;
 * - self-held: the patient's app signs the terms itself and sends the signature, its deadline and the nonce as
 *   extensions of the Consent (SIGNATURE_EXTENSION, DEADLINE_EXTENSION, NONCE_EXTENSION); the contract refuses
 *   a signature that is not the patient's.
 *
 * Routes: POST /fhir/Consent (grant), PUT /fhir/Consent/:id with status `inactive` (revoke, keep the record),
 * DELETE /fhir/Consent/:id (revoke, delete the record). Callers: the patient (own record only) or the
 * organisation's system accounts acting for the patient (self-held signature required); anyone else gets 404
 * as for any patient data they may not see. A Consent the organisation loads without the patient's signature
 * (an EHR's consent documents, the HL7 examples) is stored as a plain record: documentation, never a grant. Grantees are named by consortium identifiers:
 * `urn:medledger:organisation` (the registry's organisation id) or `urn:medledger:member` (a member account).
 */
import { randomBytes } from 'node:crypto';
import { consentFromFhir, type FhirReference, type ResolvedActor } from '@medledger/consent';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { validateResource } from '@medledger/fhir';
import { type AccountId, openPatientKeys, type PatientKeys, type ThrottleTicket } from '@medledger/identity';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Address, type Hex, isAddress } from 'viem';
import type { AccessPolicy } from '../access/AccessPolicy.js';
import type { Feature, NodeContext } from '../NodeContext.js';
import type { FhirResource, StoredResource } from '../services/RecordService.js';

export const ORGANISATION_SYSTEM = 'urn:medledger:organisation';
export const MEMBER_SYSTEM = 'urn:medledger:member';
export const CONSENT_ID_SYSTEM = 'urn:medledger:consent-id';
export const SIGNATURE_EXTENSION = 'urn:medledger:consent-signature';
export const DEADLINE_EXTENSION = 'urn:medledger:consent-signature-deadline';
export const NONCE_EXTENSION = 'urn:medledger:consent-nonce';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** How long a signature made by the node for the patient stays valid on-chain (seconds). */
const CUSTODIAL_DEADLINE = 600;

const notFound = () => new MdlError(MdlErrorCode.NotFound, 'resource not found');

interface SelfSigned {
  signature: Hex;
  deadline: bigint;
  nonce: bigint;
}

type Extension = { url?: string; valueString?: string; valueDateTime?: string };

/** The request body as a valid Consent (the URL's id, when given, must match). */
function validConsent(body: unknown, id?: string): FhirResource {
  const result = validateResource(body);
  if (!result.ok) {
    throw new MdlError(MdlErrorCode.BadInput, result.issues[0]?.diagnostics ?? 'invalid resource', {
      issues: result.issues,
    });
  }
  const resource = result.resource as FhirResource;
  if (resource.resourceType !== 'Consent') {
    throw new MdlError(MdlErrorCode.BadInput, 'resourceType does not match the request URL');
  }
  if (id !== undefined && resource.id !== undefined && resource.id !== id) {
    throw new MdlError(MdlErrorCode.BadInput, 'resource id does not match the request URL');
  }
  return resource;
}

/** The self-held signature the Consent carries, if any (all three extensions, well formed, or none). */
function selfSigned(resource: FhirResource): SelfSigned | undefined {
  const ext = (Array.isArray(resource.extension) ? resource.extension : []) as Extension[];
  const find = (url: string) => ext.find((e) => e?.url === url);
  const sig = find(SIGNATURE_EXTENSION);
  const deadline = find(DEADLINE_EXTENSION);
  const nonce = find(NONCE_EXTENSION);
  if (!sig && !deadline && !nonce) return undefined;
  const bad = (what: string) => new MdlError(MdlErrorCode.BadInput, `Consent.extension: ${what}`);
  if (!sig?.valueString || !/^0x[0-9a-fA-F]{128,130}$/.test(sig.valueString))
    throw bad(`${SIGNATURE_EXTENSION} must be a 64- or 65-byte hex signature`);
  const at = deadline?.valueDateTime ? Date.parse(deadline.valueDateTime) : Number.NaN;
  if (!Number.isFinite(at)) throw bad(`${DEADLINE_EXTENSION} must be a dateTime`);
  if (!nonce?.valueString || !/^\d{1,20}$/.test(nonce.valueString) || BigInt(nonce.valueString) >= 2n ** 64n)
    throw bad(`${NONCE_EXTENSION} must be a uint64 in decimal`);
  return {
    signature: sig.valueString as Hex,
    deadline: BigInt(Math.floor(at / 1000)),
    nonce: BigInt(nonce.valueString),
  };
}

/**
 * The organisation (a node API token) loading Consent documents from its EHR without the patient's signature:
 * they are kept as records — documentation, not grants. No access decision ever reads a stored Consent.
 */
function isDocumentOnly(access: AccessPolicy, resource: FhirResource): boolean {
  return access.unrestricted && selfSigned(resource) === undefined;
}

/** The resource as stored: without the signature extensions, with the grant's id as an identifier. */
function storedForm(resource: FhirResource, consentId: Hex, status: string): FhirResource {
  const extension = ((resource.extension as Extension[] | undefined) ?? []).filter(
    (e) => e?.url !== SIGNATURE_EXTENSION && e?.url !== DEADLINE_EXTENSION && e?.url !== NONCE_EXTENSION,
  );
  const identifier = ((resource.identifier as { system?: string }[] | undefined) ?? []).filter(
    (i) => i?.system !== CONSENT_ID_SYSTEM,
  );
  const { extension: _e, identifier: _i, ...rest } = resource;
  return {
    ...rest,
    ...(extension.length > 0 ? { extension } : {}),
    identifier: [...identifier, { system: CONSENT_ID_SYSTEM, value: consentId }],
    status,
  } as FhirResource;
}

function consentIdOf(resource: FhirResource): Hex {
  const id = ((resource.identifier as { system?: string; value?: string }[] | undefined) ?? []).find(
    (i) => i?.system === CONSENT_ID_SYSTEM,
  )?.value;
  if (!id || !/^0x[0-9a-f]{64}$/i.test(id))
    throw new MdlError(MdlErrorCode.Conflict, 'this Consent has no grant');
  return id as Hex;
}

export function consentFeature(ctx: NodeContext): Feature {
  // Consent records are system-owned: only these routes write them, with system access named for what they do.
  const grants = ctx.records.system('consent record');
  const documents = ctx.records.system('consent document');
  const domain = () => ({
    chainId: ctx.ledger.chainId,
    verifyingContract: ctx.ledger.deployment.contracts.ConsentManager.address,
  });

  /** The patient a Consent is about, as the caller may name them: their own record, or any for the organisation. */
  const patientOf = async (access: AccessPolicy, reference: string | undefined) => {
    const m = reference ? /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference) : null;
    if (!m)
      throw new MdlError(MdlErrorCode.BadInput, 'Consent.patient must reference a Patient of this node');
    const id = m[1]!;
    const caller = access.caller;
    if (caller.kind === 'person' && (caller.role !== 'patient' || caller.patientId !== id)) throw notFound();
    if (caller.kind === 'system' && !access.unrestricted) throw notFound();
    const chain = await ctx.links.chainPseudonymOf(ctx.db, ctx.records.patientPseudonym(id));
    if (!chain)
      throw new MdlError(MdlErrorCode.Conflict, 'this patient has no on-chain identity to sign with');
    return { id, chain };
  };

  const resolveActor = (ref: FhirReference): ResolvedActor | undefined => {
    const { system, value } = ref.identifier ?? {};
    if (system === ORGANISATION_SYSTEM && value && /^[1-9]\d{0,9}$/.test(value)) {
      const organisation = Number(value);
      return ctx.consent.consortium.organisationActive(organisation) ? { organisation } : undefined;
    }
    if (system === MEMBER_SYSTEM && value && isAddress(value)) {
      const organisation = ctx.consent.consortium.memberOrganisation(value as Address);
      return organisation ? { organisation, member: value as Address } : undefined;
    }
    return undefined;
  };

  /** Opens the patient's custodial key file with the passphrase of the request. */
  const custodialKeys = async (request: FastifyRequest) => {
    const caller = request.access!.caller;
    const passphrase = request.headers['x-medledger-key-passphrase'];
    if (caller.kind !== 'person' || caller.role !== 'patient' || typeof passphrase !== 'string') {
      throw new MdlError(
        MdlErrorCode.BadInput,
        'sign the consent: send X-Medledger-Key-Passphrase (patients with keys held by the node) or the signature extensions',
      );
    }
    const sealed = await ctx.accounts.patientKeys(caller.id as AccountId);
    if (!sealed) throw new MdlError(MdlErrorCode.Conflict, 'the node holds no key file for this patient');
    let ticket: ThrottleTicket;
    try {
      ticket = await ctx.passphraseThrottle.begin(`key-passphrase:${caller.id}`, request.ip);
    } catch (error) {
      request.auditDetail = { ...request.auditDetail, outcomeDesc: 'key passphrase attempts throttled' };
      throw error;
    }
    let keys: PatientKeys;
    try {
      keys = await openPatientKeys(sealed, passphrase);
    } catch {
      request.auditDetail = { ...request.auditDetail, outcomeDesc: 'key passphrase refused' };
      throw new MdlError(MdlErrorCode.InvalidCredential, 'the key passphrase is not correct');
    }
    await ctx.passphraseThrottle.succeeded(ticket);
    return keys;
  };

  const send = (reply: FastifyReply, stored: StoredResource, status: number) =>
    reply
      .code(status)
      .type(FHIR_JSON)
      .header('ETag', `W/"${stored.version}"`)
      .header('Location', ctx.records.locationOf(stored))
      .send(stored.resource);

  const revoke = async (request: FastifyRequest, stored: StoredResource) => {
    const consentId = consentIdOf(stored.resource);
    const signed = selfSigned(
      request.body && typeof request.body === 'object'
        ? (request.body as FhirResource)
        : {
            resourceType: 'Consent',
          },
    );
    if (signed) {
      await ctx.relayer.revoke({ consentId, deadline: signed.deadline, signature: signed.signature });
      return;
    }
    const keys = await custodialKeys(request);
    try {
      const deadline = BigInt(ctx.consent.now() + CUSTODIAL_DEADLINE);
      const { signature } = await keys.signRevocation(consentId, domain(), deadline);
      await ctx.relayer.revoke({ consentId, deadline, signature });
    } finally {
      keys.destroy();
    }
  };

  /** Reads a stored Consent the caller may act on (patients: their own), else 404. */
  const readOwn = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const stored = await request.records!.read('Consent', request.params.id);
    await patientOf(
      request.access!,
      (stored.resource.patient as { reference?: string } | undefined)?.reference,
    );
    return stored;
  };

  /** Whether a stored Consent is a grant's record (one this feature wrote), as opposed to a document. */
  const isGrant = async (id: string): Promise<boolean> => {
    try {
      const stored = await grants.read('Consent', id);
      consentIdOf(stored.resource);
      return true;
    } catch {
      return false;
    }
  };

  return {
    register(app) {
      app.post('/fhir/Consent', async (request, reply) => {
        const access = request.access!;
        const resource = validConsent(request.body);
        if (isDocumentOnly(access, resource)) {
          const { stored, created } = await documents.create('Consent', resource);
          return send(reply, stored, created ? 201 : 200);
        }
        const patient = await patientOf(
          access,
          (resource.patient as { reference?: string } | undefined)?.reference,
        );
        const signed = selfSigned(resource);
        const terms = await consentFromFhir(resource, {
          resolvePatient: () => patient.chain,
          resolveActor,
          nonce: signed?.nonce ?? randomBytes(8).readBigUInt64BE(),
          now: ctx.consent.now(),
        });
        let granted: { consentId: Hex };
        if (signed) {
          granted = await ctx.relayer.grant({
            terms,
            deadline: signed.deadline,
            signature: signed.signature,
          });
        } else {
          const keys = await custodialKeys(request);
          try {
            const deadline = BigInt(ctx.consent.now() + CUSTODIAL_DEADLINE);
            const { signature } = await keys.signConsent(terms, domain(), deadline);
            granted = await ctx.relayer.grant({ terms, deadline, signature });
          } finally {
            keys.destroy();
          }
        }
        const { stored } = await grants.create('Consent', storedForm(resource, granted.consentId, 'active'));
        return send(reply, stored, 201);
      });

      app.put<{ Params: { id: string } }>('/fhir/Consent/:id', async (request, reply) => {
        const access = request.access!;
        const body = validConsent(request.body, request.params.id);
        if (isDocumentOnly(access, body) && !(await isGrant(request.params.id))) {
          const { stored, created } = await documents.update('Consent', request.params.id, body);
          return send(reply, stored, created ? 201 : 200);
        }
        const stored = await readOwn(request);
        if (body.status !== 'inactive') {
          throw new MdlError(
            MdlErrorCode.BadInput,
            'Consent.status: a granted consent can only be withdrawn (status inactive); post a new Consent to change terms',
          );
        }
        await revoke(request, stored);
        const { stored: updated } = await grants.update('Consent', request.params.id, {
          ...storedForm(stored.resource, consentIdOf(stored.resource), 'inactive'),
          id: request.params.id,
        });
        return send(reply, updated, 200);
      });

      app.delete<{ Params: { id: string } }>('/fhir/Consent/:id', async (request, reply) => {
        if (request.access!.unrestricted && !(await isGrant(request.params.id))) {
          await documents.delete('Consent', request.params.id);
          return reply.code(204).send();
        }
        const stored = await readOwn(request);
        await revoke(request, stored);
        await grants.delete('Consent', request.params.id);
        return reply.code(204).send();
      });
    },
  };
}
