/**
 * Practitioner licences at a regulator node: issued as a credential signed with the regulator organisation's
 * composite key (identity's issueLicence) and committed on-chain (ConsortiumRegistry.issueLicence with the
 * credential's hash and expiry), revoked on-chain. The signed credential is served to anyone — it is public
 * by nature, like a register of practitioners — so any node can check it against the regulator's key bundle
 * (its hash is in the registry) and against the on-chain hash, expiry and revocation.
 *
 * Routes: GET /admin/licences (administrators: their members' licences as the registry holds them, and at a
 * regulator those it issued), POST /admin/licences, POST /admin/licences/:member/revoke (regulator administrators),
 * GET /licences?member=0x… (public) and GET /licences/:member (any authenticated caller; the edge only
 * knows exact public paths).
 */
import { consortiumRegistryAbi } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import { hexToBytes } from '@medledger/crypto';
import { decodeLicence, encodeLicence, issueLicence, licenceHash } from '@medledger/identity';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type Address, encodeFunctionData, getAddress, isAddress } from 'viem';
import type { NodeContext } from '../NodeContext.js';
import {
  issueLicenceSchema,
  licenceSchema,
  listLicencesSchema,
  publicLicenceSchema,
  revokeLicenceSchema,
} from '../openapi/routeSchemas.js';
import {
  badInput,
  forbidden,
  notFound,
  objectBody,
  requireAdministrator,
  text,
  unixTime,
} from './careRequests.js';

export const LICENCE_PUBLIC_PATH = '/licences';

function memberOf(value: unknown, field: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw badInput(field, 'an Ethereum address is required');
  }
  return getAddress(value);
}

export function registerLicenceRoutes(app: FastifyInstance, ctx: NodeContext) {
  const registry = () => ctx.ledger.deployment.contracts.ConsortiumRegistry.address;
  const requireRegulator = () => {
    if (ctx.config.organisationKind !== 'regulator') {
      throw forbidden('licences are issued by regulator organisations');
    }
  };
  const send = async (functionName: 'issueLicence' | 'revokeLicence', args: readonly unknown[]) => {
    const tx = await ctx.ledger.sendCall({
      to: registry(),
      data: encodeFunctionData({ abi: consortiumRegistryAbi, functionName, args } as never),
    });
    const receipt = await ctx.ledger.waitForReceipt(tx.hash);
    if (receipt.status !== 'success') {
      throw new MdlError(MdlErrorCode.Unavailable, `ledger: ${functionName} reverted`);
    }
    await ctx.consent.waitForBlock(receipt.blockNumber);
    return receipt;
  };

  app.get('/admin/licences', { schema: listLicencesSchema }, async (request) => {
    requireAdministrator(request);
    await ctx.consent.refreshHead();
    await ctx.consent.ensureFresh();
    const regulator = ctx.config.organisationKind === 'regulator';
    const issued = regulator
      ? (
          await ctx.db.query<{ member_address: string; licence: string }>(
            'SELECT member_address, licence FROM care_licences ORDER BY member_address',
          )
        ).rows
      : [];
    const nameOf = new Map(
      issued.map((r) => [getAddress(r.member_address), decodeLicence(r.licence).credential.name]),
    );
    const accounts = (await ctx.accounts.listAccounts({ includeDisabled: true })).filter(
      (a) => a.memberAddress !== undefined,
    );
    const accountOf = new Map(accounts.map((a) => [getAddress(a.memberAddress!), a]));
    const members = [...new Set([...accountOf.keys(), ...nameOf.keys()])];
    const now = Math.floor(Date.now() / 1000);
    const iso = (t: number) => (t > 0 ? new Date(t * 1000).toISOString() : null);
    const licences = members.map((member) => {
      const onChain = ctx.consent.consortium.licenceOf(member);
      const account = accountOf.get(member);
      return {
        member,
        account: account ? { id: account.id, displayName: account.displayName, role: account.role } : null,
        name: nameOf.get(member) ?? null,
        issuer: onChain?.issuer ?? null,
        issuedHere: onChain !== undefined && onChain.issuer === ctx.organisationId,
        issuedAt: onChain ? iso(onChain.issuedAt) : null,
        expiresAt: onChain ? iso(onChain.expiresAt) : null,
        revokedAt: onChain ? iso(onChain.revokedAt) : null,
        status: !onChain
          ? 'none'
          : onChain.revokedAt !== 0
            ? 'revoked'
            : onChain.expiresAt <= now
              ? 'expired'
              : 'valid',
      };
    });
    return { regulator, licences };
  });

  app.post('/admin/licences', { schema: issueLicenceSchema }, async (request, reply) => {
    requireAdministrator(request);
    requireRegulator();
    const body = objectBody(request.body);
    const member = memberOf(body.member, 'member');
    const name = text(body.name, 'name', 200);
    const q = body.qualification as Record<string, unknown> | undefined;
    if (typeof q !== 'object' || q === null || Array.isArray(q)) {
      throw badInput('qualification', 'an object {system, code, display?} is required');
    }
    const qualification = {
      system: text(q.system, 'qualification.system', 500),
      code: text(q.code, 'qualification.code', 100),
      ...(q.display === undefined ? {} : { display: text(q.display, 'qualification.display', 200) }),
    };
    const expiresAt = unixTime(body.expiresAt, 'expiresAt');
    const now = Math.floor(Date.now() / 1000);
    if (expiresAt <= now + 60) throw badInput('expiresAt', 'must be in the future');
    await ctx.consent.refreshHead();
    await ctx.consent.ensureFresh();
    if (ctx.consent.consortium.memberOrganisation(member) === 0) {
      throw badInput('member', 'not a registered member of the consortium');
    }
    const licence = issueLicence(
      { issuer: ctx.organisationId, subject: member, name, qualification, issuedAt: now, expiresAt },
      ctx.bundle,
    );
    const hash = licenceHash(licence);
    // Stored first: a licence on-chain whose credential this node had lost could never be shown.
    await ctx.db.query(
      `INSERT INTO care_licences (member_address, credential_hash, licence, expires_at, revoked_at, updated_at)
       VALUES ($1, $2, $3, $4, NULL, now())
       ON CONFLICT (member_address) DO UPDATE SET credential_hash = $2, licence = $3, expires_at = $4,
         revoked_at = NULL, updated_at = now()`,
      [member, hexToBytes(hash.slice(2)), encodeLicence(licence), expiresAt],
    );
    const receipt = await send('issueLicence', [member, hash, expiresAt]);
    return reply.code(201).send({ licence, credentialHash: hash, transaction: receipt.transactionHash });
  });

  app.post<{ Params: { member: string } }>(
    '/admin/licences/:member/revoke',
    { schema: revokeLicenceSchema },
    async (request) => {
      requireAdministrator(request);
      requireRegulator();
      const member = memberOf(request.params.member, 'member');
      await ctx.consent.refreshHead();
      await ctx.consent.ensureFresh();
      const onChain = ctx.consent.consortium.licenceOf(member);
      if (!onChain || onChain.issuer !== ctx.organisationId) throw notFound('no licence of this regulator');
      if (onChain.revokedAt !== 0)
        throw new MdlError(MdlErrorCode.Conflict, 'the licence is already revoked');
      const receipt = await send('revokeLicence', [member]);
      const revokedAt = ctx.consent.consortium.licenceOf(member)?.revokedAt ?? Math.floor(Date.now() / 1000);
      await ctx.db.query(
        'UPDATE care_licences SET revoked_at = $2, updated_at = now() WHERE member_address = $1',
        [member, revokedAt],
      );
      return {
        member,
        revokedAt: new Date(revokedAt * 1000).toISOString(),
        transaction: receipt.transactionHash,
      };
    },
  );

  const serve = async (member: Address, reply: FastifyReply) => {
    const { rows } = await ctx.db.query<{ licence: string }>(
      'SELECT licence FROM care_licences WHERE member_address = $1',
      [member],
    );
    if (!rows[0]) throw notFound('no licence issued here for this member');
    return reply.type('application/json').header('cache-control', 'no-cache').send(rows[0].licence);
  };
  app.get(LICENCE_PUBLIC_PATH, { schema: publicLicenceSchema }, async (request, reply) =>
    serve(memberOf((request.query as Record<string, unknown>).member, 'member'), reply),
  );
  app.get<{ Params: { member: string } }>(
    '/licences/:member',
    { schema: licenceSchema },
    async (request, reply) => serve(memberOf(request.params.member, 'member'), reply),
  );
}
