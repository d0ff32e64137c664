/**
 * Reliability: a real node process is SIGKILLed in the middle of a bulk import, restarted on the same data
 * directory, and must then serve every write it acknowledged, and anchor every record version exactly once
 * (each version's leaf in exactly one confirmed batch, and as many anchors on the chain as confirmed batches).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheaBundle, syntheaBundleNames, until, withoutServerMeta } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function startProcess(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', ENTRY, 'start', '--data-dir', dataDir, '--port', '0'],
    {
      env: {
        ...process.env,
        MEDLEDGER_KEYSTORE_PASSPHRASE: 'crash test passphrase',
        MEDLEDGER_LOG_LEVEL: 'error',
        MEDLEDGER_ANCHOR_INTERVAL_MS: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`node did not start: ${err.slice(-500)}`)), 120_000);
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /FHIR base URL\s+(\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.on('exit', (code) => reject(new Error(`node exited with ${code}: ${err.slice(-500)}`)));
  });
}

describe('crash during a bulk import', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'medledger-crash-'));
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? undefined
          : new Promise((r) => {
              c.once('exit', r);
              c.kill('SIGKILL');
            }),
      ),
    );
    // The killed nodes' anvil stops on its own watchdog and may still be writing its state meanwhile: removal
    // retries while the directory is being written to (ENOTEMPTY).
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  });

  it('serves every acknowledged write after SIGKILL and anchors every version exactly once', async () => {
    const first = await startProcess(dataDir);
    children.push(first.child);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' };

    // Individual creates from Synthea resources, 8 in flight, until the node is killed under them.
    const resources = syntheaBundleNames()
      .slice(0, 6)
      .flatMap((f) => syntheaBundle(f).entry.map((e: any) => e.resource))
      .filter((r: any) => r.resourceType !== 'Patient');
    const acknowledged: { location: string; sent: any }[] = [];
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && next < resources.length) {
        const sent = resources[next++];
        try {
          const res = await fetch(`${first.url}/${sent.resourceType}`, {
            method: 'POST',
            headers,
            body: JSON.stringify(sent),
          });
          if (res.status === 201) acknowledged.push({ location: res.headers.get('location')!, sent });
        } catch {
          // the connection died with the node: not acknowledged
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await until(
      'some writes acknowledged',
      async () => (acknowledged.length >= 150 ? true : undefined),
      120_000,
    );
    first.child.kill('SIGKILL');
    killed = true;
    await Promise.all(workers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);

    const second = await startProcess(dataDir);
    children.push(second.child);
    const get = async (path: string) => {
      const res = await fetch(`${second.url}${path}`, { headers });
      return { status: res.status, body: (await res.json()) as any };
    };
    for (const { location, sent } of acknowledged) {
      const path = location.replace(first.url, '').replace(/\/_history\/\d+$/, '');
      const got = await get(path);
      expect(got.status, path).toBe(200);
      const { id: _id, ...fetched } = withoutServerMeta(got.body);
      const { id: _sentId, ...expected } = sent;
      expect(fetched).toEqual(expected);
    }

    const report = await until(
      'every version anchored',
      async () => {
        const r = await get('/$verify');
        return r.body.pending === 0 ? r.body : undefined;
      },
      120_000,
    );
    expect(report.problems).toEqual([]);
    expect(report.anchored).toBe(report.checked);
    expect(report.checked).toBeGreaterThanOrEqual(acknowledged.length);
    const status = (await get('/$status')).body;
    expect(status.anchoring.leavesInConfirmedBatches).toBe(status.records.versions);
    expect(status.anchoring.chainAnchorCount).toBe(status.anchoring.confirmedBatches);
    expect(status.anchoring.queuedLeaves + status.anchoring.inFlightLeaves).toBe(0);

    // The audit log survived the kill: the restarted node reopened it, and it holds at least one event per
    // acknowledged write, every entry and checkpoint (and the chain's anchors) verifying.
    const audit = await get('/../audit/$verify');
    expect(audit.status).toBe(200);
    expect(audit.body.ok).toBe(true);
    expect(audit.body.size).toBeGreaterThanOrEqual(acknowledged.length);
  }, 420_000); // two node starts (each up to 120 s on a busy machine), the writes and the anchoring
});
