/**
 * What a node's feature modules (consent, break-glass, exchange, administration) are given: the running
 * parts they build on. Each module exports a `Feature` — its public paths and a function registering its
 * routes — so that server.ts stays the one place for authentication, errors and metrics and Node.ts the one
 * place that starts and stops things.
 */
import type { ConsentIndex, ConsentRelayer } from '@medledger/consent';
import type { KeyBundle } from '@medledger/crypto';
import type { AccountStore, LoginThrottle } from '@medledger/identity';
import type { LedgerClient } from '@medledger/ledger';
import type { Db } from '@medledger/storage';
import type { FastifyInstance } from 'fastify';
import type { AccessPolicy } from './access/AccessPolicy.js';
import type { Caller } from './access/Caller.js';
import type { PatientLinks } from './access/PatientLinks.js';
import type { NodeConfig } from './config.js';
import type { RecordService } from './services/RecordService.js';

export interface NodeContext {
  config: NodeConfig;
  db: Db;
  ledger: LedgerClient;
  consent: ConsentIndex;
  /** Relays patient-signed grants and revocations, and members' break-glass transactions. */
  relayer: ConsentRelayer;
  accounts: AccountStore;
  /** Guesses of patient-key passphrases, per account and per client address (KEY_PASSPHRASE_THROTTLE). */
  passphraseThrottle: LoginThrottle;
  records: RecordService;
  links: PatientLinks;
  /** The organisation's active key bundle (private): signs, decapsulates. */
  bundle: KeyBundle;
  organisationId: number;
  /** 32-byte key for sealing node-held secrets at rest (derived from the node master secret). */
  sealingKey: Uint8Array;
  accessFor(caller: Caller): AccessPolicy;
  /** The public FHIR base URL (known once the server listens). */
  baseUrl(): string;
}

export interface Feature {
  /** Paths answered without a bearer token (the feature authenticates them itself, or they are public). */
  publicPaths?: readonly string[];
  /** Path prefixes answered without a bearer token (the web app's pages and assets). */
  publicPrefixes?: readonly string[];
  register(app: FastifyInstance): void | Promise<void>;
  /** Stops background work, if any. */
  stop?(): Promise<void>;
}
