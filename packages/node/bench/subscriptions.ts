/**
 * Subscription notification latency: a WebSocket subscription (full-resource payload, the organisation's token)
 * to one patient's results, then Observations for that patient written one after another; for each, the time
 * from the node's commit (the notification's event timestamp, millisecond resolution) and from the start of the
 * client's POST to the notification's arrival on the socket. Everything a delivery does is included: the
 * subscriber's credential re-authenticated, its access decided, the resource read back through Records
 * (decrypted), the Bundle built and sent, the delivery audited.
 *
 * Part of `npm run bench` (run.ts, both modes); alone: `npm run bench:subscriptions -w @medledger/node`, which
 * starts its own node.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { baseUrlOf } from './nodeProcess.js';
import { stats } from './stats.js';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const SAMPLES = Number(process.env.BENCH_SUBSCRIPTION_SAMPLES ?? 300);

// biome-ignore lint/suspicious/noExplicitAny: the node's JSON answers, read by the benchmark as it expects them
type Json = Record<string, any>;

export async function subscriptionLatency(base: string, token: string, samples = SAMPLES) {
  const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as Json;
  };
  const patient = await call('POST', '/Patient', { resourceType: 'Patient', name: [{ family: 'Bench' }] });
  const subscription = await call('POST', '/Subscription', {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'benchmark',
    criteria: `${base}/SubscriptionTopic/patient-results`,
    _criteria: {
      extension: [
        { url: `${BACKPORT}/backport-filter-criteria`, valueString: `patient=Patient/${patient.id}` },
      ],
    },
    channel: {
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'full-resource' }] },
    },
  });
  const binding = await call('GET', `/Subscription/${subscription.id}/$get-ws-binding-token`);
  const param = (name: string) => binding.parameter.find((p: Json) => p.name === name);
  const ws = new WebSocket(param('websocket-url').valueUrl as string);
  await once(ws, 'open');
  let arrived: ((m: { at: number; wall: number; body: Json }) => void) | undefined;
  ws.on('message', (data) => {
    const at = performance.now();
    const wall = Date.now();
    const body = JSON.parse(data.toString()) as Json;
    const type = body.entry?.[0]?.resource?.parameter?.find((p: Json) => p.name === 'type')?.valueCode;
    if (type === 'handshake' || type === 'event-notification') arrived?.({ at, wall, body });
  });
  const next = () =>
    new Promise<{ at: number; wall: number; body: Json }>((resolve) => {
      arrived = resolve;
    });
  const handshake = next();
  ws.send(`bind-with-token ${param('token').valueString}`);
  await handshake;

  const fromCommit: number[] = [];
  const fromRequest: number[] = [];
  const read: number[] = [];
  for (let i = 0; i < samples; i++) {
    const notified = next();
    const started = performance.now();
    const created = await call('POST', '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: { value: 60 + (i % 40), unit: '/min' },
    });
    const m = await notified;
    if (m.body.entry?.[1]?.resource?.id !== created.id) throw new Error('notification for another resource');
    const event = m.body.entry[0].resource.parameter.find((p: Json) => p.name === 'notification-event');
    const committed = Date.parse(event.part.find((p: Json) => p.name === 'timestamp').valueInstant);
    fromCommit.push(m.wall - committed);
    fromRequest.push(m.at - started);
    // Baseline under the same load: the subscriber reading that resource by id over HTTP.
    const r0 = performance.now();
    await call('GET', `/Observation/${created.id}`);
    read.push(performance.now() - r0);
  }
  ws.close();
  return {
    samples,
    commitToDeliveryMs: stats(fromCommit),
    requestToDeliveryMs: stats(fromRequest),
    readByIdMs: stats(read),
  };
}

// Alone: a fresh node of its own (embedded chain, PGlite), as run.ts starts one.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dataDir = mkdtempSync(join(tmpdir(), 'medledger-bench-subscriptions-'));
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import=tsx',
      fileURLToPath(new URL('../src/main.ts', import.meta.url)),
      'start',
      '--data-dir',
      dataDir,
      '--port',
      '0',
    ],
    {
      env: {
        ...process.env,
        MEDLEDGER_KEYSTORE_PASSPHRASE: 'bench keystore passphrase',
        MEDLEDGER_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const base = await baseUrlOf(child);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const result = await subscriptionLatency(base, token);
    const f = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 1 });
    console.log(JSON.stringify(result));
    console.log(
      `subscription notification (${result.samples} sequential writes): commit → WebSocket p50 ${f(result.commitToDeliveryMs.p50)} ms, p99 ${f(result.commitToDeliveryMs.p99)} ms; POST start → WebSocket p50 ${f(result.requestToDeliveryMs.p50)} ms, p99 ${f(result.requestToDeliveryMs.p99)} ms; baseline read by id p50 ${f(result.readByIdMs.p50)} ms, p99 ${f(result.readByIdMs.p99)} ms (target p99 ≤ 250 ms: ${result.commitToDeliveryMs.p99 <= 250 ? 'met' : 'NOT met'})`,
    );
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.exit(0);
}
