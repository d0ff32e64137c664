/**
 * How the client commands find a running node and its operator token — the way `start` was told to run it —
 * and how they talk to it. Each answer carries where it came from, so that a refusal can say in one line where
 * the command looked.
 *
 * The node's FHIR base URL, first found of:
 *   1. --url, then MEDLEDGER_URL;
 *   2. --base-url, or --host/--port, given to this command;
 *   3. <data dir>/endpoint.json, which a running node writes with the URL it really listens on (port 0 too);
 *   4. MEDLEDGER_BASE_URL, or MEDLEDGER_HOST/MEDLEDGER_PORT, as `start` reads them;
 *   5. http://127.0.0.1:8080/fhir, start's default.
 * The token: --token, then MEDLEDGER_ADMIN_TOKEN, then <data dir>/admin-token.
 * The data directory: --data-dir, then MEDLEDGER_DATA_DIR, then ./.medledger.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENDPOINT_FILE, readEndpointFile } from '../endpointFile.js';
import { CliError } from './command.js';

type Values = Record<string, string | undefined>;

export interface Found {
  value: string;
  /** Where it came from, as a person reads it (`--url`, `.medledger/endpoint.json (…)`). */
  source: string;
}

/** Where the node is; from its endpoint file also the public FHIR base URL it was configured with. */
export interface FoundNode extends Found {
  publicUrl?: string;
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

export function dataDirOf(values: Values, env: NodeJS.ProcessEnv = process.env): string {
  return nonEmpty(values['data-dir']) ?? nonEmpty(env.MEDLEDGER_DATA_DIR) ?? '.medledger';
}

function checkedUrl(raw: string, source: string): string {
  const u = URL.parse(raw);
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw new CliError(`${source} is not an http(s) URL: "${raw.slice(0, 100)}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** `start`'s own URL from a host and a port (a wildcard listen address reached on loopback). */
function hostPortUrl(host: Found, port: Found): string {
  if (!/^\d{1,5}$/.test(port.value) || Number(port.value) > 65535) {
    throw new CliError(`${port.source} must be a port number, got "${port.value.slice(0, 20)}"`);
  }
  if (port.value === '0') {
    throw new CliError(
      `${port.source} is 0 (any free port): find the node by its data directory (--data-dir) or give --url`,
    );
  }
  const h = host.value === '0.0.0.0' ? '127.0.0.1' : host.value === '::' ? '::1' : host.value;
  return checkedUrl(`http://${h.includes(':') ? `[${h}]` : h}:${port.value}/fhir`, host.source);
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Where the node is: its FHIR base URL and where that came from. */
export function locateNode(values: Values, env: NodeJS.ProcessEnv = process.env): FoundNode {
  const flag = (name: string): Found | undefined => {
    const v = nonEmpty(values[name]);
    return v === undefined ? undefined : { value: v, source: `--${name}` };
  };
  const variable = (name: string): Found | undefined => {
    const v = nonEmpty(env[name]);
    return v === undefined ? undefined : { value: v, source: name };
  };
  const explicit = flag('url') ?? variable('MEDLEDGER_URL');
  if (explicit) return { value: checkedUrl(explicit.value, explicit.source), source: explicit.source };
  const fromStartSettings = (base: Found | undefined, host: Found | undefined, port: Found | undefined) => {
    if (base) return { value: checkedUrl(base.value, base.source), source: base.source };
    if (!host && !port) return undefined;
    const h = host ?? { value: '127.0.0.1', source: 'the default host' };
    const p = port ?? { value: '8080', source: 'the default port' };
    return { value: hostPortUrl(h, p), source: [host?.source, port?.source].filter(Boolean).join(' and ') };
  };
  const given = fromStartSettings(flag('base-url'), flag('host'), flag('port'));
  if (given) return given;
  const dataDir = dataDirOf(values, env);
  const endpoint = readEndpointFile(dataDir);
  if (endpoint) {
    const gone = processGone(endpoint.pid) ? `, which is no longer running` : '';
    return {
      value: checkedUrl(endpoint.url, join(dataDir, ENDPOINT_FILE)),
      source: `${join(dataDir, ENDPOINT_FILE)}, written by process ${endpoint.pid}${gone}`,
      ...(URL.canParse(endpoint.baseUrl) ? { publicUrl: endpoint.baseUrl } : {}),
    };
  }
  const configured = fromStartSettings(
    variable('MEDLEDGER_BASE_URL'),
    variable('MEDLEDGER_HOST'),
    variable('MEDLEDGER_PORT'),
  );
  if (configured)
    return { ...configured, source: `${configured.source}; no ${join(dataDir, ENDPOINT_FILE)}` };
  return {
    value: 'http://127.0.0.1:8080/fhir',
    source: `start’s default; no ${join(dataDir, ENDPOINT_FILE)}, no --url or MEDLEDGER_URL`,
  };
}

/** The operator's bearer token and where it came from. */
export function locateToken(values: Values, env: NodeJS.ProcessEnv = process.env): Found {
  const given = nonEmpty(values.token);
  if (given) return { value: given, source: '--token' };
  const variable = nonEmpty(env.MEDLEDGER_ADMIN_TOKEN);
  if (variable) return { value: variable, source: 'MEDLEDGER_ADMIN_TOKEN' };
  const file = join(dataDirOf(values, env), 'admin-token');
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError(
      `no bearer token: no --token, no MEDLEDGER_ADMIN_TOKEN, and no ${file} (give --data-dir the node’s data directory)`,
    );
  }
  if (!text) throw new CliError(`no bearer token: ${file} is empty`);
  return { value: text, source: file };
}

export interface Client {
  url: string;
  /** The node's public FHIR base URL (links, the web app), when it differs from the one called. */
  publicUrl: string;
  token: string;
  /** A JSON call relative to the FHIR base URL (`''`, `/$status`, `/../admin/accounts`). */
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** A GET of an absolute URL with the token: the answer when it is a success, else a refusal as for `call`. */
  get(url: string): Promise<Response>;
}

/** A client of the node the command's options name. */
export function client(values: Values, env: NodeJS.ProcessEnv = process.env): Client {
  const node = locateNode(values, env);
  const token = locateToken(values, env);
  const url = node.value;
  const send = async (target: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return await fetch(target, {
        ...init,
        headers: { authorization: `Bearer ${token.value}`, ...(init.headers as Record<string, string>) },
      });
    } catch {
      throw new CliError(
        `no medledger node answers at ${url} (from ${node.source}); is it running? (medledger start)`,
      );
    }
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await send(`${url}${path}`, {
      method,
      headers: {
        accept: 'application/fhir+json',
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const where = `${method} ${new URL(`${url}${path}`).pathname}`;
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new CliError(
        `${where}: HTTP ${res.status} and not a JSON answer — is ${url} (from ${node.source}) a medledger node?`,
      );
    }
    if (!res.ok) throw new CliError(httpRefusal(where, res.status, json, token));
    return json;
  };
  const get = async (target: string) => {
    const res = await send(target);
    if (res.ok) return res;
    const json = await res.json().catch(() => undefined);
    throw new CliError(httpRefusal(`GET ${new URL(target).pathname}`, res.status, json, token));
  };
  return { url, publicUrl: node.publicUrl ?? url, token: token.value, call, get };
}

/** An HTTP refusal in one line: the node's diagnostics, and for 401 which token was sent. */
export function httpRefusal(where: string, status: number, body: unknown, token: Found): string {
  const issue = (body as { issue?: { diagnostics?: string }[] } | undefined)?.issue?.[0]?.diagnostics;
  const detail = issue ? ` — ${issue.split('\n')[0]}` : '';
  return `${where}: HTTP ${status}${detail}${status === 401 ? ` (the token from ${token.source})` : ''}`;
}
