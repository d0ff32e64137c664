/**
 * Starting and stopping a node: data directory, keystore, index database and migrations, blob store, chain
 * (embedded anvil or external), contract bootstrap, the anchorer (reconciled with the chain before it runs),
 * the bootstrap admin, and the HTTP server. `startNode` is what `medledger start` and the tests call.
 */
import { randomUUID } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { auditLogMigrations } from '@medledger/audit-log';
import { ConsentIndex, ConsentRelayer, consentIndexMigrations } from '@medledger/consent';
import type { OrganisationKind } from '@medledger/contracts';
import { MdlError, MdlErrorCode } from '@medledger/core';
import {
  bytesToHex,
  CompositeSigner,
  deriveSubkey,
  hexToBytes,
  publicBundleCommitment,
  wipe,
  XWingDecapsulationKey,
} from '@medledger/crypto';
import { capabilityStatement, operationDefinition, RESOURCE_TYPES } from '@medledger/fhir';
import {
  AccountStore,
  accountAuthority,
  ensureBootstrapAdmin,
  identityMigrations,
  KEY_PASSPHRASE_THROTTLE,
  LoginService,
  LoginThrottle,
  WebAuthnService,
} from '@medledger/identity';
import {
  Anchorer,
  anchorStats,
  anchorStatus,
  anchorStatuses,
  CheckpointAnchorer,
  devAccount,
  EmbeddedChain,
  enqueueLeaves,
  ensureDeployment,
  LedgerClient,
  ledgerMigrations,
  verifyAnchored,
} from '@medledger/ledger';
import { createAuthorizationServer, oidcMigrations } from '@medledger/oidc';
import { type Db, FsBlobStore, migrate, openDb, RecordIndex } from '@medledger/storage';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { Authenticator } from './access/Authenticator.js';
import type { Caller } from './access/Caller.js';
import { PatientLinks, patientLinkMigrations } from './access/PatientLinks.js';
import { AuditTrail } from './audit/AuditTrail.js';
import { auditFeature } from './audit/auditFeature.js';
import { ledgerAnchoring } from './audit/ledgerAnchoring.js';
import type { BulkExports } from './bulk/BulkExports.js';
import { bulkExportFeature } from './bulk/bulkExportFeature.js';
import { bulkExportMigrations } from './bulk/bulkExportMigrations.js';
import { type NodeConfig, ORGANISATION_KINDS } from './config.js';
import {
  type DataDirectoryLock,
  lockDataDirectory,
  secureDataDirectory,
  staleLockNotice,
} from './dataDirectory.js';
import { writeEndpointFile } from './endpointFile.js';
import { exchangeFeature } from './exchange/exchangeFeature.js';
import { exchangeMigrations } from './exchange/exchangeMigrations.js';
import { WorkflowChannel } from './exchange/WorkflowChannel.js';
import { workflowFeature } from './exchange/workflowFeature.js';
import { careFeature } from './features/careFeature.js';
import { careMigrations } from './features/careMigrations.js';
import { clientFeature } from './features/clientFeature.js';
import { consentFeature } from './features/consentFeature.js';
import { auditAgentNames, directoryFeature, OrganisationNames } from './features/directoryRoutes.js';
import { passkeyFeature } from './features/passkeyFeature.js';
import { workspaceFeature } from './features/workspaceFeature.js';
import { NODE_SECRETS, type OpenedKeystore, openKeystoreFile, saveKeystore } from './keystoreFile.js';
import { createMetrics } from './metrics.js';
import type { NodeContext } from './NodeContext.js';
import { loadOidcKeys } from './oidcKeys.js';
import { cdsHooksFeature } from './prescriptions/cdsHooksFeature.js';
import { controlledMonitoringFeature } from './prescriptions/controlledMonitoringFeature.js';
import { eligibilityFeature } from './prescriptions/eligibilityFeature.js';
import { loadInteractionList } from './prescriptions/interactionListFile.js';
import { prescriptionsFeature } from './prescriptions/prescriptionsFeature.js';
import { prescriptionsMigrations } from './prescriptions/prescriptionsMigrations.js';
import { principalMigrations } from './principals.js';
import { openAccessLog } from './requestLog.js';
import { NODE_OPERATIONS } from './routes/fhir.js';
import { buildServer } from './server.js';
import { CategoryKeyRing } from './services/CategoryKeyRing.js';
import { consentEndings, keyEpochMigrations, rotateOnRevocation } from './services/keyEpochs.js';
import { RecordService } from './services/RecordService.js';
import { ensureSearchTokenScheme, type SearchIndexCheck } from './services/searchIndexScheme.js';
import { SubscriptionHub } from './subscriptions/SubscriptionHub.js';
import { subscriptionFeature, withSubscriptions } from './subscriptions/subscriptionFeature.js';
import { subscriptionMigrations } from './subscriptions/subscriptionMigrations.js';
import { webAppClient, webAppFeature } from './web/webAppFeature.js';

export const SOFTWARE_VERSION = '0.1.0';

export interface RunningNode {
  /** The FHIR base URL actually listened on. */
  fhirUrl: string;
  adminTokenFile: string | undefined;
  keystorePath: string;
  /** Where the keystore passphrase came from (never the passphrase), for the start banner. */
  keystorePassphraseSource: OpenedKeystore['passphraseSource'];
  chain: { mode: 'embedded' | 'external'; rpcUrl: string; deployment: string; action: string };
  /** The organisation this node serves, as numbered by the ConsortiumRegistry. */
  organisationId: number;
  db: Db;
  /** Accounts and API tokens (identity). */
  accounts: AccountStore;
  /** The consent index the access policy reads. */
  consent: ConsentIndex;
  /** The ledger client the node sends with (anchors, consent relays). */
  ledger: LedgerClient;
  app: FastifyInstance;
  records: RecordService;
  anchorer: Anchorer;
  /** Bulk export jobs ($export): tests and benchmarks wait on `settled` and drive `sweep`. */
  bulkExports: BulkExports;
  /** What this start did about the search index's token scheme (rebuilt or not, with counts). */
  searchIndex: SearchIndexCheck;
  stop(): Promise<void>;
}

/** The governance key of a development consortium: 32 bytes as hex, alone in a 0600 file. */
function readGovernorKey(file: string): Uint8Array {
  const text = readFileSync(file, 'utf8').trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new MdlError(MdlErrorCode.Config, 'MEDLEDGER_GOVERNOR_KEY_FILE must hold one 32-byte hex key');
  }
  return hexToBytes(text);
}

/** A port free on `host` right now (for `--port 0`). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** What only code can ask for, never a configuration: the benchmark's baseline. */
export interface StartOptions {
  /**
   * BENCHMARK ONLY: store records unencrypted and anchor nothing, so a benchmark can measure what encryption
   * and anchoring cost. No setting, variable or flag reaches it; bench/plaintextNode.ts passes it.
   */
  benchmarkPlaintextBaseline?: boolean;
  /** Rebuild every resource's search tokens even when the index is on the current scheme (medledger reindex). */
  rebuildSearchIndex?: boolean;
  /** False: do everything but listen (medledger reindex on a stopped node's data directory). Default true. */
  serve?: boolean;
  /**
   * TESTS ONLY: seconds between blocks of the embedded chain (default 1, a QBFT network's pace), so that a test's
   * transactions — the seven of the first start's bootstrap among them — do not each wait a second. No setting,
   * variable or flag reaches it.
   */
  embeddedChainBlockTime?: number;
  /**
   * TESTS ONLY: log2 of the scrypt cost N (r = 8, p = 1) for the keystore a first start creates and for the
   * password hashes the node writes, instead of 2^17 (DEFAULT_SCRYPT, PASSWORD_SCRYPT) — 2^14 is the keystore
   * format's floor. No setting, variable or flag reaches it.
   */
  testScryptLog2?: number;
}

export async function startNode(given: NodeConfig, options: StartOptions = {}): Promise<RunningNode> {
  // Everything that names the node — the registry profile, the OpenID issuer, token audiences — needs the real
  // port, so `--port 0` picks one now rather than after listening.
  let config = given;
  if (given.port === 0) {
    const port = await freePort(given.host);
    config = { ...given, port, baseUrl: given.baseUrl.replace(/:0\//, `:${port}/`) };
  }
  secureDataDirectory(config.dataDir);
  // One process per data directory: a second start (or a reindex) beside a running node is refused here.
  const lock = lockDataDirectory(config.dataDir);
  const notice = staleLockNotice(lock);
  if (notice) console.warn(notice);
  try {
    return await startLocked(config, options, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function startLocked(
  config: NodeConfig,
  options: StartOptions,
  lock: DataDirectoryLock,
): Promise<RunningNode> {
  const testScrypt = options.testScryptLog2;
  const opened = openKeystoreFile(config, testScrypt ? { N: 2 ** testScrypt, r: 8, p: 1 } : undefined);
  const bundle = opened.keystore.active();
  // A keystore written by an older version may lack some secrets: they are generated now and saved.
  const missing = NODE_SECRETS.filter((n) => !opened.keystore.secretNames().includes(n));
  const master = opened.keystore.secret('node-master');
  const ledgerKey = opened.keystore.secret('ledger-account');
  const identityKey = opened.keystore.secret('identity');
  if (!opened.created && missing.length > 0) saveKeystore(opened);

  const db = await openDb({
    databaseUrl: config.databaseUrl,
    pgliteDir: join(config.dataDir, 'db'),
    pgliteThread: config.pgliteThread,
  });
  const cleanup: (() => Promise<unknown>)[] = [() => db.close()];
  try {
    await migrate(db, [
      ...RecordIndex.migrations,
      ...ledgerMigrations,
      ...principalMigrations,
      ...identityMigrations,
      ...oidcMigrations,
      ...consentIndexMigrations,
      ...patientLinkMigrations,
      ...careMigrations,
      ...exchangeMigrations,
      ...keyEpochMigrations,
      ...auditLogMigrations,
      ...subscriptionMigrations,
      ...bulkExportMigrations,
      ...prescriptionsMigrations,
    ]);
    const blobs = new FsBlobStore(join(config.dataDir, 'blobs'));
    await blobs.init();

    // The chain: embedded anvil by default, an external JSON-RPC endpoint when configured.
    let rpcUrl: string;
    let deploymentFile: string;
    let deployerKey: Uint8Array | undefined;
    let chain: EmbeddedChain | undefined;
    if (config.ledgerRpcUrl) {
      rpcUrl = config.ledgerRpcUrl;
      deploymentFile = config.deploymentFile!;
      if (config.governorKeyFile) deployerKey = readGovernorKey(config.governorKeyFile);
    } else {
      chain = new EmbeddedChain({
        dataDir: config.dataDir,
        ...(config.chainPort ? { port: config.chainPort } : {}),
        ...(options.embeddedChainBlockTime ? { blockTime: options.embeddedChainBlockTime } : {}),
      });
      ({ rpcUrl } = await chain.start());
      cleanup.unshift(() => chain!.stop());
      deploymentFile = join(config.dataDir, 'chain', 'deployment.json');
      deployerKey = devAccount(0).privateKey;
    }
    const nodeAccount = privateKeyToAccount(`0x${bytesToHex(ledgerKey)}`).address;
    const deployed = await ensureDeployment({
      rpcUrl,
      deploymentFile,
      ...(deployerKey ? { deployerKey } : {}),
      nodeAccount,
      organisation: {
        kind: ORGANISATION_KINDS.indexOf(config.organisationKind) as OrganisationKind,
        endpoint: config.baseUrl,
        keyBundleCommitment: publicBundleCommitment(bundle.publicBundle),
        keyBundleUri: `${config.baseUrl}/.well-known/medledger-key-bundle`,
      },
    });
    const ledger = await LedgerClient.connect({
      rpcUrl,
      deployment: deployed.deployment,
      privateKey: ledgerKey,
    });
    const anchorer = new Anchorer({
      db,
      ledger,
      signer: new CompositeSigner(bundle.signingSecretKey),
      organisationId: deployed.organisationId,
      intervalMs: config.anchorIntervalMs,
    });
    await anchorer.start();
    cleanup.unshift(() => anchorer.stop());

    // Consent: the event-fed index every access decision reads, following the chain from here on.
    // A revocation rotates the patient's category keys here at once (keyEpochs.ts; bound once the key ring exists).
    let onRevoked: ((id: Hex) => void) | undefined;
    // Late-bound: the audit trail and the record service exist before the subscriptions they notify.
    let subscriptions: SubscriptionHub | undefined;
    const consent = await ConsentIndex.open({
      db,
      ledger,
      onEvent: (e) => e.type === 'revoked' && onRevoked?.(e.id),
    });
    await consent.sync();
    consent.follow();
    cleanup.unshift(() => consent.stop());

    // The audit trail: every request, login and exchange from here on, its checkpoints anchored in AuditAnchor
    // through the outbox (docs/audit-log.md).
    const auditLogId = `medledger:organisation:${deployed.organisationId}`;
    const checkpointAnchorer = new CheckpointAnchorer({
      db,
      ledger,
      organisationId: deployed.organisationId,
      intervalMs: config.anchorIntervalMs,
    });
    await checkpointAnchorer.start();
    cleanup.unshift(() => checkpointAnchorer.stop());
    const audit = await AuditTrail.open(db, {
      logId: auditLogId,
      organisation: deployed.organisationId,
      sealingKey: deriveSubkey(master, 'audit-events'),
      signer: new CompositeSigner(bundle.signingSecretKey),
      publicKey: bundle.publicBundle.signingPublicKey,
      anchoring: ledgerAnchoring(db, ledger, deployed.organisationId, auditLogId),
      onRecorded: (subjects) => subscriptions?.onAudit(subjects),
    });
    audit.start();
    cleanup.unshift(() => audit.stop());

    // Identity: accounts (the bootstrap admin is an ordinary admin account), logins, the OpenID provider.
    const accounts = new AccountStore(db, {
      secretKey: identityKey,
      ...(testScrypt ? { passwordCost: { ln: testScrypt, r: 8, p: 1 } } : {}),
    });
    const admin = await ensureBootstrapAdmin(accounts, {
      adminToken: config.adminToken,
      tokenFile: join(config.dataDir, 'admin-token'),
      organisation: deployed.organisationId,
    });
    const origin = new URL(config.baseUrl).origin;
    const webauthn = new WebAuthnService(accounts, {
      rpID: new URL(config.baseUrl).hostname,
      rpName: 'medledger',
      origins: [origin],
    });
    const logins = new LoginService(accounts, new LoginThrottle(db), {
      webauthn,
      onAttempt: (a) =>
        audit.recordLogin({
          success: a.success,
          ...(a.accountId ? { accountId: a.accountId } : {}),
          ...(a.amr ? { amr: a.amr } : {}),
          ...(a.reason ? { reason: a.reason } : {}),
          address: a.ip,
          method: 'login (OpenID provider)',
        }),
    });
    const oidcKeys = await loadOidcKeys(config.dataDir, master);
    const oauth = await createAuthorizationServer({
      issuer: `${origin}/oauth`,
      fhirAudience: config.baseUrl,
      db,
      ...oidcKeys,
      accounts: accountAuthority(logins, accounts),
      allowedOrigins: config.corsOrigins,
      clients: [webAppClient(origin)],
    });
    cleanup.unshift(() => oauth.close());
    const authenticator = new Authenticator({ accounts, verifyAccessToken: oauth.verifyAccessToken });
    const links = new PatientLinks();

    let publicUrl = config.baseUrl;
    const index = new RecordIndex();
    const keys = new CategoryKeyRing(
      index,
      {
        keyId: bundle.keyId,
        kemPublicKey: bundle.publicBundle.kemPublicKey,
        decapsulationKey: new XWingDecapsulationKey(bundle.kemSecretKey),
      },
      { db, endings: consentEndings({ consent, links }) },
    );
    onRevoked = (id) => {
      const current = keys.current.bind(keys);
      // Best effort: the next write's check rotates anyway if this fails or the node stops first.
      rotateOnRevocation({ db, consent, links, current }, id).catch(() => undefined);
    };
    const records = new RecordService({
      db,
      index,
      blobs,
      anchors: { enqueueLeaves, anchorStatus, anchorStatuses, verifyAnchored },
      verifier: { ledger, publicKey: bundle.publicBundle.signingPublicKey },
      keys,
      links,
      consent,
      organisation: deployed.organisationId,
      pseudonymKey: deriveSubkey(master, 'patient-pseudonym'),
      indexKey: deriveSubkey(master, 'blind-index'),
      authorKeyId: bundle.keyId,
      baseUrl: () => publicUrl,
      newId: randomUUID,
      plaintextBaseline: options.benchmarkPlaintextBaseline === true,
      onCommit: (writes) => subscriptions?.onCommit(writes),
    });
    if (options.benchmarkPlaintextBaseline) {
      console.warn(
        'medledger: BENCHMARK PLAINTEXT BASELINE — records are stored unencrypted and not anchored',
      );
    }
    // The index must be on this code's token scheme before anything searches it (searchIndexScheme.ts).
    const searchIndex = await ensureSearchTokenScheme(
      { db, index, records },
      { force: options.rebuildSearchIndex === true },
    );
    const sealingKey = deriveSubkey(master, 'node-sealed-secrets');
    const hub = new SubscriptionHub({
      db,
      records,
      authenticate: (token, purpose) => authenticator.authenticate(token, purpose),
      audit,
      sealingKey: deriveSubkey(master, 'subscriptions'),
      baseUrl: () => publicUrl,
      restHookHosts: config.restHookHosts,
    });
    await hub.start();
    subscriptions = hub;
    wipe(master);

    const metrics = createMetrics(async () => {
      const s = await anchorStats(db);
      return {
        queuedLeaves: s.queuedLeaves + s.inFlightLeaves,
        pendingBatches: s.pendingBatches + s.submittedBatches,
        anchorLagSeconds: s.anchorLagMs / 1000,
      };
    });
    // $status: what an operator (and the crash test) needs to see that every record is anchored exactly once.
    const status = async () => {
      const [index, anchors, chainAnchors, sizes] = await Promise.all([
        records.indexStats(),
        anchorStats(db),
        ledger.anchorChain(),
        db.query<{ batches: number; leaves: number }>(
          "SELECT count(*)::int8 AS batches, coalesce(sum(size), 0)::int8 AS leaves FROM ledger_batches WHERE status = 'confirmed'",
        ),
      ]);
      return {
        records: { resources: index.resources, versions: index.versions },
        anchoring: {
          ...anchors,
          leavesInConfirmedBatches: sizes.rows[0]?.leaves ?? 0,
          confirmedBatches: sizes.rows[0]?.batches ?? 0,
          chainAnchorCount: Number(chainAnchors.count),
        },
        ledger: {
          chainId: ledger.chainId,
          recordRegistry: ledger.recordRegistry,
          mode: chain ? 'embedded' : 'external',
        },
      };
    };
    const accessFor = (caller: Caller) => records.accessFor(caller);
    const context: NodeContext = {
      config,
      db,
      ledger,
      consent,
      relayer: new ConsentRelayer(ledger, { index: consent }),
      accounts,
      passphraseThrottle: new LoginThrottle(db, { account: KEY_PASSPHRASE_THROTTLE }),
      records,
      links,
      bundle,
      organisationId: deployed.organisationId,
      sealingKey,
      accessFor,
      baseUrl: () => publicUrl,
    };
    const bulkExport = bulkExportFeature(context, { audit });
    const organisationNames = new OrganisationNames(context);
    const interactionLists = loadInteractionList(config.interactionList);
    const workflows = new WorkflowChannel(context, organisationNames.directory);
    const features = [
      consentFeature(context),
      careFeature(context),
      exchangeFeature(context, organisationNames),
      workflowFeature(workflows),
      eligibilityFeature(context, workflows, organisationNames),
      controlledMonitoringFeature(context, workflows, organisationNames.directory),
      workspaceFeature(),
      clientFeature(oauth),
      passkeyFeature(webauthn, logins, oauth),
      auditFeature(audit, {
        patientPseudonym: (id) => records.patientPseudonym(id),
        agentNames: () => auditAgentNames(context, organisationNames),
      }),
      directoryFeature(context, organisationNames),
      subscriptionFeature(hub, () => publicUrl),
      bulkExport,
      cdsHooksFeature({ namedLists: interactionLists }),
      prescriptionsFeature(context, { namedLists: interactionLists }),
      webAppFeature(),
    ];
    cleanup.unshift(async () => {
      for (const f of features) await f.stop?.();
    });
    const accessLog = config.accessLog ? openAccessLog(config.accessLog) : undefined;
    if (accessLog) cleanup.unshift(() => accessLog.close());
    const app = await buildServer({
      audit,
      ...(accessLog ? { accessLog } : {}),
      features,
      status,
      authenticate: (token, purpose) => authenticator.authenticate(token, purpose),
      accessFor,
      oauth,
      records,
      metrics,
      bodyLimit: config.bodyLimit,
      corsOrigins: config.corsOrigins,
      logLevel: config.logLevel,
      softwareVersion: SOFTWARE_VERSION,
      capabilityStatement: () =>
        withSubscriptions(
          capabilityStatement({
            baseUrl: publicUrl,
            softwareVersion: SOFTWARE_VERSION,
            resourceTypes: RESOURCE_TYPES,
            now: new Date(),
            security: {
              authorizeUrl: oauth.smartConfiguration.authorization_endpoint,
              tokenUrl: oauth.smartConfiguration.token_endpoint,
              revokeUrl: oauth.smartConfiguration.revocation_endpoint,
              cors: config.corsOrigins.length > 0,
            },
            operations: NODE_OPERATIONS,
          }),
          publicUrl,
        ),
      operationDefinition: (id) => operationDefinition(id, publicUrl),
      readiness: async () => {
        const checks: Record<string, 'ok' | 'failing'> = {};
        checks.database = await db.query('SELECT 1').then(
          () => 'ok' as const,
          () => 'failing' as const,
        );
        checks.chain = await ledger.blockNumber().then(
          () => 'ok' as const,
          () => 'failing' as const,
        );
        checks.blobs = await access(join(config.dataDir, 'blobs'), constants.W_OK).then(
          () => 'ok' as const,
          () => 'failing' as const,
        );
        return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
      },
    });
    cleanup.unshift(() => app.close());
    if (options.serve !== false) {
      await app.listen({ host: config.host, port: config.port });
      // The client commands find the node by its data directory (endpoint.json), whatever port it got.
      cleanup.unshift(writeEndpointFile(config.dataDir, app.server.address() as AddressInfo, config.baseUrl));
    }
    const fhirUrl = config.baseUrl;
    publicUrl = fhirUrl;

    return {
      fhirUrl,
      adminTokenFile: admin.tokenFile,
      keystorePath: opened.path,
      keystorePassphraseSource: opened.passphraseSource,
      chain: {
        mode: chain ? 'embedded' : 'external',
        rpcUrl,
        deployment: deploymentFile,
        action: deployed.action + (deployed.reason ? ` (${deployed.reason})` : ''),
      },
      organisationId: deployed.organisationId,
      db,
      accounts,
      consent,
      ledger,
      app,
      records,
      anchorer,
      bulkExports: bulkExport.exports,
      searchIndex,
      stop: async () => {
        for (const step of cleanup) await step().catch(() => undefined);
        lock.release();
      },
    };
  } catch (error) {
    for (const step of cleanup) await step().catch(() => undefined);
    if (error instanceof MdlError) throw error;
    throw new MdlError(
      MdlErrorCode.Unavailable,
      `node failed to start: ${error instanceof Error ? error.message.split('\n')[0] : error}`,
      {
        cause: error,
      },
    );
  }
}
