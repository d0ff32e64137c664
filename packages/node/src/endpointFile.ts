/**
 * `<dataDir>/endpoint.json`: where the node running on a data directory listens, written once it listens
 * (the real port, `--port 0` included) and removed when it stops. The client commands (`medledger status`,
 * `import`, `verify`, …) read it to find the node the same way `start` was told to run it: by its data
 * directory. Light on purpose (node:fs only): the CLI's client commands import it without the node.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const ENDPOINT_FILE = 'endpoint.json';

export interface Endpoint {
  /** The FHIR base URL on the address the node listens on (a wildcard address as loopback). */
  url: string;
  /** The public FHIR base URL the node was configured with (links, issuer). */
  baseUrl: string;
  pid: number;
  startedAt: string;
}

/** The FHIR base URL a local client reaches a server listening on `address` at. */
export function listenUrl(address: AddressInfo): string {
  const host =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/fhir`;
}

/** Writes the endpoint file; returns what removes it again (only while it is still this process's). */
export function writeEndpointFile(
  dataDir: string,
  address: AddressInfo,
  baseUrl: string,
): () => Promise<void> {
  const path = join(dataDir, ENDPOINT_FILE);
  const endpoint: Endpoint = {
    url: listenUrl(address),
    baseUrl,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(path, `${JSON.stringify(endpoint, null, 2)}\n`, { mode: 0o600 });
  return async () => {
    if (readEndpointFile(dataDir)?.pid === process.pid) rmSync(path, { force: true });
  };
}

/** The endpoint file of a data directory, or undefined when there is none (or it is not one). */
export function readEndpointFile(dataDir: string): Endpoint | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, ENDPOINT_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  const e = parsed as Partial<Endpoint>;
  return typeof e.url === 'string' && typeof e.pid === 'number' ? (e as Endpoint) : undefined;
}
