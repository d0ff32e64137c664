/**
 * Exchange benchmark: one hospital asks one lab for a patient's record of `resources` (default 50) FHIR
 * resources, `iterations` times, with real keys, real sealed records and the full protocol — request create and
 * open, release create and open, every record decrypted, both receipts. Pure CPU, one process, no transport: it
 * measures what the protocol costs a node, not the network.
 *
 * A plain module, not a script: the node's bench runner imports `runExchangeBench` and puts the result (and
 * `formatExchangeBench`'s table) in its report. Baselines measured in the same run: opening the same records
 * locally with keys already held (what a read at the custodian pays), and one composite ML-DSA-65 + Ed25519
 * signature (the dominant fixed cost).
 */
import { DataCategory } from '@medledger/core';
import {
  CategoryKey,
  type Cid,
  CompositeSigner,
  canonicalBytes,
  computeCid,
  generateKeyBundle,
  openRecord,
  sealRecord,
} from '@medledger/crypto';
import {
  createExchangeReceipt,
  createExchangeRequest,
  createExchangeResponse,
  OrganisationKeys,
  openExchangeRequest,
  openExchangeResponse,
} from '../src/index.js';

export interface ExchangeBenchOptions {
  /** Resources in the patient's record (default 50). */
  resources?: number;
  /** Measured exchanges (default 30), after 2 warm-up exchanges. */
  iterations?: number;
}

export interface LatencyStats {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ExchangeBenchResult {
  date: string;
  node: string;
  resources: number;
  iterations: number;
  sizes: {
    requestBytes: number;
    responseBytes: number;
    /** The sealed records as stored: the payload a response must carry at least. */
    sealedRecordsBytes: number;
    receiptBytes: number;
  };
  /** Milliseconds per operation. */
  latencyMs: {
    createRequest: LatencyStats;
    openRequest: LatencyStats;
    createResponse: LatencyStats;
    openResponse: LatencyStats;
    openRecords: LatencyStats;
    createReceipts: LatencyStats;
    /** Everything above, for one exchange, sequentially. */
    roundTrip: LatencyStats;
  };
  /** Exchanges per second a single thread sustains, per side and end to end (1000 / mean ms). */
  throughput: { custodianPerSecond: number; requesterPerSecond: number; roundTripsPerSecond: number };
  baseline: { localOpenRecordsMs: LatencyStats; compositeSignMs: LatencyStats };
  ratios: { roundTripOverLocalOpen: number; roundTripOverOneSignature: number };
}

function stats(samples: number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    mean: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    max: round(s.at(-1) ?? Number.NaN),
  };
}

function timed<T>(samples: number[], fn: () => T): T {
  const t = performance.now();
  const out = fn();
  samples.push(performance.now() - t);
  return out;
}

async function timedAsync<T>(samples: number[], fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const out = await fn();
  samples.push(performance.now() - t);
  return out;
}

/** A synthetic but realistically sized Observation (about 1 KiB of canonical JSON). */
function observation(i: number) {
  return {
    resourceType: 'Observation',
    id: `obs-${i}`,
    meta: { lastUpdated: '2025-01-15T10:00:00Z', versionId: '1' },
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'laboratory',
            display: 'Laboratory',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose [Mass/volume] in Blood' }],
    },
    subject: { reference: 'Patient/bench-patient' },
    encounter: { reference: `Encounter/enc-${i % 7}` },
    effectiveDateTime: '2025-01-15T09:30:00Z',
    issued: '2025-01-15T10:00:00Z',
    valueQuantity: {
      value: 90 + (i % 40),
      unit: 'mg/dL',
      system: 'http://unitsofmeasure.org',
      code: 'mg/dL',
    },
    referenceRange: [{ low: { value: 70, unit: 'mg/dL' }, high: { value: 110, unit: 'mg/dL' } }],
    note: [{ text: 'Fasting sample; no haemolysis. Repeat in three months if the value stays above range.' }],
  };
}

export async function runExchangeBench(options: ExchangeBenchOptions = {}): Promise<ExchangeBenchResult> {
  const resources = options.resources ?? 50;
  const iterations = options.iterations ?? 30;
  const HOSPITAL = 1;
  const LAB = 2;
  const hospitalBundle = generateKeyBundle();
  const labBundle = generateKeyBundle();
  const hospital = OrganisationKeys.fromKeyBundle(HOSPITAL, hospitalBundle);
  const lab = OrganisationKeys.fromKeyBundle(LAB, labBundle);
  const registry = (id: number) =>
    id === HOSPITAL ? hospitalBundle.publicBundle : id === LAB ? labBundle.publicBundle : undefined;

  // The lab's store: one patient's observations across two epochs (one revocation in its history).
  const pseudonym = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const key0 = CategoryKey.generate({ pseudonym, category: DataCategory.Observations, epoch: 0 });
  const key1 = key0.rotate();
  const keys = [key0, key1];
  const records: { envelope: Uint8Array; cid: Cid; resourceType: string }[] = [];
  for (let i = 0; i < resources; i++) {
    const envelope = sealRecord(
      keys[i < resources / 2 ? 0 : 1]!,
      { recordId: `Observation/obs-${i}`, recordVersion: 1 },
      canonicalBytes(observation(i)),
    );
    records.push({ envelope, cid: computeCid(envelope), resourceType: 'Observation' });
  }

  const t = {
    createRequest: [] as number[],
    openRequest: [] as number[],
    createResponse: [] as number[],
    openResponse: [] as number[],
    openRecords: [] as number[],
    createReceipts: [] as number[],
    roundTrip: [] as number[],
  };
  const seen = new Set<string>();
  let sizes: ExchangeBenchResult['sizes'] | undefined;

  for (let round = 0; round < iterations + 2; round++) {
    const warm = round < 2;
    const sink = (name: keyof typeof t) => (warm ? [] : t[name]);
    const start = performance.now();
    const now = Math.floor(Date.now() / 1000);
    const { bytes: requestBytes, request } = timed(sink('createRequest'), () =>
      createExchangeRequest({
        requester: hospital,
        custodian: { organisation: LAB, bundle: labBundle.publicBundle },
        practitioner: {
          member: '0x5b38da6a701c568545dcfcb03fcb875f56beddc4',
          licence: `0x${'11'.repeat(32)}`,
          displayName: 'Dr Bench',
        },
        patient: `0x${'22'.repeat(32)}`,
        purpose: 0,
        categories: [DataCategory.Observations],
        issuedAt: now,
      }),
    );
    const received = await timedAsync(sink('openRequest'), () =>
      openExchangeRequest(requestBytes, {
        custodian: lab,
        resolveRequesterBundle: registry,
        now,
        replay: (id) => !seen.has(id) && seen.add(id) !== undefined,
      }),
    );
    const { bytes: responseBytes, response } = timed(sink('createResponse'), () =>
      createExchangeResponse({ request: received, custodian: lab, records, categoryKeys: keys }),
    );
    const opened = timed(sink('openResponse'), () =>
      openExchangeResponse(responseBytes, {
        requester: hospital,
        request,
        custodianBundle: labBundle.publicBundle,
      }),
    );
    timed(sink('openRecords'), () => {
      for (const r of opened.records) opened.openRecord(r.cid);
    });
    const receipt = timed(sink('createReceipts'), () => {
      createExchangeReceipt({ request: received, response });
      return createExchangeReceipt({ request, response: opened.response });
    });
    opened.destroy();
    if (!warm) t.roundTrip.push(performance.now() - start);
    sizes ??= {
      requestBytes: requestBytes.length,
      responseBytes: responseBytes.length,
      sealedRecordsBytes: records.reduce((n, r) => n + r.envelope.length, 0),
      receiptBytes: receipt.bytes.length,
    };
  }

  // Baselines, same run: a local read of the same records with the keys held, and one composite signature.
  const local: number[] = [];
  for (let i = 0; i < iterations; i++) {
    timed(local, () => {
      for (const r of records) openRecord(r.envelope, (ref) => keys.find((k) => k.ref.epoch === ref.epoch));
    });
  }
  const signer = new CompositeSigner(labBundle.signingSecretKey);
  const sign: number[] = [];
  const message = new Uint8Array(512);
  for (let i = 0; i < Math.min(iterations, 20); i++) timed(sign, () => signer.sign(message, 'bench'));
  signer.destroy();
  hospital.destroy();
  lab.destroy();
  for (const k of keys) k.destroy();

  const latencyMs = {
    createRequest: stats(t.createRequest),
    openRequest: stats(t.openRequest),
    createResponse: stats(t.createResponse),
    openResponse: stats(t.openResponse),
    openRecords: stats(t.openRecords),
    createReceipts: stats(t.createReceipts),
    roundTrip: stats(t.roundTrip),
  };
  const perSecond = (ms: number) => Math.round((1000 / ms) * 10) / 10;
  const baseline = { localOpenRecordsMs: stats(local), compositeSignMs: stats(sign) };
  return {
    date: new Date().toISOString(),
    node: process.version,
    resources,
    iterations,
    sizes: sizes!,
    latencyMs,
    throughput: {
      custodianPerSecond: perSecond(latencyMs.openRequest.mean + latencyMs.createResponse.mean),
      requesterPerSecond: perSecond(
        latencyMs.createRequest.mean + latencyMs.openResponse.mean + latencyMs.openRecords.mean,
      ),
      roundTripsPerSecond: perSecond(latencyMs.roundTrip.mean),
    },
    baseline,
    ratios: {
      roundTripOverLocalOpen:
        Math.round((latencyMs.roundTrip.mean / baseline.localOpenRecordsMs.mean) * 10) / 10,
      roundTripOverOneSignature:
        Math.round((latencyMs.roundTrip.mean / baseline.compositeSignMs.mean) * 10) / 10,
    },
  };
}

/** A Markdown section for the bench report. */
export function formatExchangeBench(r: ExchangeBenchResult): string {
  const row = (name: string, s: LatencyStats) => `| ${name} | ${s.p50} | ${s.p90} | ${s.p99} | ${s.mean} |`;
  return [
    `### Cross-organisation exchange (${r.resources}-resource record, ${r.iterations} exchanges, ${r.node})`,
    '',
    '| step (ms) | p50 | p90 | p99 | mean |',
    '|---|---:|---:|---:|---:|',
    row('requester: create request', r.latencyMs.createRequest),
    row('custodian: open request', r.latencyMs.openRequest),
    row('custodian: create response', r.latencyMs.createResponse),
    row('requester: open response', r.latencyMs.openResponse),
    row(`requester: decrypt ${r.resources} records`, r.latencyMs.openRecords),
    row('both: receipts', r.latencyMs.createReceipts),
    row('round trip (no network)', r.latencyMs.roundTrip),
    row(`baseline: local open of ${r.resources} records`, r.baseline.localOpenRecordsMs),
    row('baseline: one composite signature', r.baseline.compositeSignMs),
    '',
    `Throughput per thread: custodian ${r.throughput.custodianPerSecond}/s, requester ${r.throughput.requesterPerSecond}/s, ` +
      `round trips ${r.throughput.roundTripsPerSecond}/s. Round trip = ${r.ratios.roundTripOverLocalOpen}× a local ` +
      `open of the same records, ${r.ratios.roundTripOverOneSignature}× one signature. Sizes: request ` +
      `${r.sizes.requestBytes} B, response ${r.sizes.responseBytes} B (records as stored: ${r.sizes.sealedRecordsBytes} B), ` +
      `receipt ${r.sizes.receiptBytes} B.`,
  ].join('\n');
}
