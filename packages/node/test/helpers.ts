/**
 * Test helpers: a real node (embedded anvil chain, PGlite or a PostgreSQL schema, filesystem blobs) on a free
 * port in a temporary data directory, and a small FHIR client with the bootstrap admin token.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditInclusionClaim } from '@medledger/audit-log';
import { base64urlToBytes } from '@medledger/crypto';
import { openPostgresDb } from '@medledger/storage';
import { type LocalConsortium, startLocalConsortium } from '../src/consortium/LocalConsortium.js';
import { consecutiveFreePorts } from '../src/exchange/exchangeScenario.js';
import { loadConfig, type RunningNode, startNode } from '../src/index.js';

export const POSTGRES_URL =
  process.env.MEDLEDGER_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const SHARED = new URL('../../../../shared/data/', import.meta.url);

/**
 * Seconds between the test chains' blocks: a quarter of the embedded default (one second, a QBFT network's
 * pace), so that each transaction a test waits for — seven at a node's first start — takes a quarter second.
 */
export const TEST_BLOCK_TIME = 0.25;

/**
 * How tests start nodes: the quarter-second chain, and scrypt at the keystore format's floor (2^14) instead of
 * 2^17 for the node's keystore and its password hashes — each of those costs 128 MiB and a third of a second.
 */
export const TEST_START_OPTIONS = { embeddedChainBlockTime: TEST_BLOCK_TIME, testScryptLog2: 14 } as const;

export async function postgresReachable(): Promise<boolean> {
  try {
    const db = await openPostgresDb({ connectionString: POSTGRES_URL, max: 1 });
    await db.close();
    return true;
  } catch (error) {
    if (process.env.MEDLEDGER_REQUIRE_POSTGRES === '1') throw error;
    console.warn(
      `PostgreSQL at ${POSTGRES_URL} unreachable — the PostgreSQL node suite is SKIPPED (${error})`,
    );
    return false;
  }
}

export interface TestNode {
  node: RunningNode;
  dataDir: string;
  url: string;
  token: string;
  fhir(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<FhirResponse>;
  close(): Promise<void>;
}

export interface FhirResponse {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

export async function startTestNode(options: {
  backend: 'pglite' | 'postgres';
  dataDir?: string;
  /** More configuration, as environment variables (e.g. MEDLEDGER_CORS_ORIGINS). */
  env?: NodeJS.ProcessEnv;
}): Promise<TestNode> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'medledger-node-'));
  let schema: string | undefined;
  const env: NodeJS.ProcessEnv = {
    MEDLEDGER_KEYSTORE_PASSPHRASE: 'test keystore passphrase',
    MEDLEDGER_LOG_LEVEL: 'silent',
    MEDLEDGER_ANCHOR_INTERVAL_MS: '100',
    ...options.env,
  };
  if (options.backend === 'postgres') {
    schema = `node_${randomBytes(6).toString('hex')}`;
    env.DATABASE_URL = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const admin = await openPostgresDb({ connectionString: POSTGRES_URL, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.close();
  }
  const config = loadConfig(['--data-dir', dataDir, '--port', '0'], env);
  const node = await startNode(config, TEST_START_OPTIONS);
  // A restarted node keeps the admin token it wrote at its first start.
  const token = readFileSync(node.adminTokenFile ?? join(dataDir, 'admin-token'), 'utf8').trim();
  const url = node.fhirUrl;
  return {
    node,
    dataDir,
    url,
    token,
    async fhir(method, path, body, headers = {}) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/fhir+json',
          ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
    },
    async close() {
      await node.stop();
      if (schema) {
        const admin = await openPostgresDb({ connectionString: POSTGRES_URL, max: 1 });
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.close();
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function syntheaBundle(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`synthea/r4-bundles/${name}`, SHARED), 'utf8'));
}

export function syntheaBundleNames(): string[] {
  return readdirSync(new URL('synthea/r4-bundles/', SHARED))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function hl7Examples(): { file: string; resource: Record<string, any> }[] {
  const dir = new URL('fhir/examples/', SHARED);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, resource: JSON.parse(readFileSync(new URL(file, dir), 'utf8')) }));
}

/** Replaces every `reference` string according to `map` (independently of the node's own rewriting). */
export function rewriteRefs(value: unknown, map: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, map));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === 'reference' && typeof v === 'string' ? (map.get(v) ?? v) : rewriteRefs(v, map),
      ]),
    );
  }
  return value;
}

/** A resource without the server-managed meta fields (and without `meta` if nothing else was in it). */
export function withoutServerMeta(resource: Record<string, any>): Record<string, any> {
  const { meta, ...rest } = resource;
  if (!meta) return rest;
  const { versionId: _v, lastUpdated: _l, ...otherMeta } = meta;
  return Object.keys(otherMeta).length > 0 ? { ...rest, meta: otherMeta } : rest;
}

export async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A hospital, a lab and a regulator on one embedded chain, on consecutive ports (nodes that exchange). */
export async function startExchangeConsortium(
  dir: string,
  keystorePassphrase: string,
): Promise<LocalConsortium> {
  return startLocalConsortium({
    dir,
    members: [
      { name: 'hospital', kind: 'hospital' },
      { name: 'lab', kind: 'lab' },
      { name: 'regulator', kind: 'regulator' },
    ],
    basePort: await consecutiveFreePorts(3),
    keystorePassphrase,
    logLevel: 'silent',
    blockTime: TEST_BLOCK_TIME,
    startOptions: TEST_START_OPTIONS,
  });
}

/** A checkpoint as the audit API serves it (bytes in base64url), as `verifyCheckpointSignature` takes it. */
export function signedCheckpoint(c: {
  logId: string;
  size: number;
  root: string;
  timestamp: number;
  signature: string;
}) {
  return {
    logId: c.logId,
    size: c.size,
    root: base64urlToBytes(c.root),
    timestamp: c.timestamp,
    signature: base64urlToBytes(c.signature),
  };
}

/** What a patient's software checks for one entry of an access log page (`verifyAuditInclusion`). */
export function inclusionClaim(
  e: { event: Record<string, unknown>; salt?: string; commitment: string; index: number; proof: string[] },
  checkpoint: Parameters<typeof signedCheckpoint>[0],
): AuditInclusionClaim {
  return {
    event: e.event,
    salt: base64urlToBytes(e.salt ?? ''),
    commitment: base64urlToBytes(e.commitment),
    index: e.index,
    proof: e.proof.map(base64urlToBytes),
    checkpoint: signedCheckpoint(checkpoint),
  };
}
