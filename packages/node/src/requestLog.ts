/**
 * Request logs where an operator looks for them, as HAPI FHIR behind a web server or PostgreSQL do it: nothing
 * per request on the console at `info` (start-up, warnings and errors only), one concise line per request at
 * `debug`, and — when configured (`--access-log`) — an access log file in the Common Log Format web servers
 * write, one line per request, whatever the level.
 *
 * A line names the route, never the URL: paths hold record ids and query strings hold search values (names,
 * birth dates), so neither is written. A route's `:type` is filled in with the resource type when it is one
 * (`GET /fhir/Patient/:id`); nothing else of the request — headers, body, caller — is logged.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { RESOURCE_TYPES } from '@medledger/fhir';
import type { FastifyReply, FastifyRequest } from 'fastify';

const TYPES: ReadonlySet<string> = new Set(RESOURCE_TYPES);

/** The request's route with its resource type filled in: no id, no query string, nothing a client typed. */
export function loggedRoute(request: FastifyRequest): string {
  const route = request.routeOptions?.url;
  if (!route) return 'unmatched';
  const type = (request.params as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' && TYPES.has(type) ? route.replace(':type', type) : route;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `[07/Dec/2026:18:03:38 +0000]`, the Common Log Format's time, in UTC. */
export function clfTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `[${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(
    date.getUTCHours(),
  )}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000]`;
}

export interface RequestFacts {
  address: string;
  method: string;
  route: string;
  httpVersion: string;
  status: number;
  bytes: number | undefined;
  ms: number;
  at: Date;
}

export function requestFacts(request: FastifyRequest, reply: FastifyReply, ms: number): RequestFacts {
  const length = Number(reply.getHeader('content-length'));
  return {
    address: request.ip,
    method: request.method,
    route: loggedRoute(request),
    httpVersion: request.raw.httpVersion,
    status: reply.statusCode,
    bytes: Number.isInteger(length) ? length : undefined,
    ms,
    at: new Date(),
  };
}

/** One access log line: the Common Log Format, the route for the path, and the response time in ms. */
export function accessLogLine(f: RequestFacts): string {
  return `${f.address} - - ${clfTime(f.at)} "${f.method} ${f.route} HTTP/${f.httpVersion}" ${f.status} ${
    f.bytes ?? '-'
  } ${f.ms.toFixed(1)}\n`;
}

/** The console's line at `debug`. */
export function debugLine(f: RequestFacts): string {
  return `${f.method} ${f.route} ${f.status} ${f.ms.toFixed(1)} ms`;
}

/**
 * The access log file, appended to (0600; its directory is created 0700). Rotation: logrotate's `copytruncate`
 * (every write appends, so the node goes on at the start of the truncated file).
 */
export function openAccessLog(file: string): { write(line: string): void; close(): Promise<void> } {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const stream: WriteStream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  let failed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    // A full disk must not take the node down: the audit trail, not this file, is the record of access.
    if (!failed)
      console.error(`medledger: access log ${file}: ${error.code ?? 'write error'}; no longer written`);
    failed = true;
  });
  return {
    write(line) {
      if (!failed) stream.write(line);
    },
    close: () => new Promise((resolve) => (failed ? resolve() : stream.end(resolve))),
  };
}
