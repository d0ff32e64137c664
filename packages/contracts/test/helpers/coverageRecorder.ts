// Records which instructions of medledger's contracts a test run executes, for scripts/coverage.ts.
// Every eth_call, eth_estimateGas and eth_fillTransaction (viem fills gas with it, so reverted writes end
// there) is traced (debug_traceCall) just before it runs and every sent
// transaction right after it is mined (debug_traceTransaction), so snapshots reverted later lose nothing.
// Output per test file: program counters executed and, for each JUMPI, the program counters that followed.
// Limits: identifies code by the address it was deployed to in a traced creation; delegatecalls are not
// followed (the contracts make none).

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface StructLog {
  pc: number;
  op: string;
  depth: number;
  stack?: string[];
}

export interface RawCoverage {
  /** key `${contract}:creation|runtime` → pcs executed */
  pcs: Record<string, number[]>;
  /** key → JUMPI pc → pcs executed next */
  jumps: Record<string, Record<number, number[]>>;
}

const CALL_OPS = new Set(['CALL', 'STATICCALL', 'CALLCODE', 'DELEGATECALL']);
const TRACED_CALLS = new Set(['eth_call', 'eth_estimateGas', 'eth_fillTransaction']);

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

export class CoverageRecorder {
  private readonly creationCode: [string, string][];
  private readonly byAddress = new Map<string, string>();
  private readonly pcs = new Map<string, Set<number>>();
  private readonly jumps = new Map<string, Map<number, Set<number>>>();
  private nextId = 1_000_000;

  constructor(
    private readonly rpcUrl: string,
    private readonly outDir: string,
  ) {
    const artifactsFile = process.env.MEDLEDGER_COVERAGE_ARTIFACTS;
    if (!artifactsFile) throw new Error('MEDLEDGER_COVERAGE_ARTIFACTS must name the coverage build');
    const artifacts = JSON.parse(readFileSync(artifactsFile, 'utf8')) as Record<string, { bytecode: string }>;
    this.creationCode = Object.entries(artifacts).map(([name, a]) => [name, a.bytecode.toLowerCase()]);
  }

  private async rpc<T>(method: string, params: unknown[]): Promise<T> {
    const response = await fetch(this.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }),
    });
    const body = (await response.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  }

  async before(method: string, params: unknown): Promise<void> {
    if (!TRACED_CALLS.has(method)) return;
    const [call, block] = params as [{ to?: string | null; data?: string; input?: string }, unknown];
    const trace = await this.rpc<{ structLogs: StructLog[] }>('debug_traceCall', [
      call,
      typeof block === 'string' ? block : 'latest',
      { disableStorage: true, disableMemory: true },
    ]);
    if (call.to) this.record(trace.structLogs, this.byAddress.get(call.to.toLowerCase()), 'runtime');
    else this.record(trace.structLogs, this.createdBy(call.data ?? call.input ?? ''), 'creation');
  }

  async after(method: string, result: unknown): Promise<void> {
    if (method !== 'eth_sendTransaction' && method !== 'eth_sendRawTransaction') return;
    const hash = result as string;
    const receipt = await this.mined(hash);
    const tx = await this.rpc<{ to: string | null; input: string }>('eth_getTransactionByHash', [hash]);
    const trace = await this.rpc<{ structLogs: StructLog[] }>('debug_traceTransaction', [
      hash,
      { disableStorage: true, disableMemory: true },
    ]);
    if (tx.to) {
      this.record(trace.structLogs, this.byAddress.get(tx.to.toLowerCase()), 'runtime');
      return;
    }
    const created = this.createdBy(tx.input);
    this.record(trace.structLogs, created, 'creation');
    if (created && receipt.contractAddress)
      this.byAddress.set(receipt.contractAddress.toLowerCase(), created);
  }

  /**
   * The transaction's receipt. anvil can answer the send before the receipt is queryable when the machine is
   * busy (several test files run their chains at once), so ask until it is there.
   */
  private async mined(hash: string): Promise<{ contractAddress: string | null }> {
    for (let attempt = 0; attempt < 400; attempt++) {
      const receipt = await this.rpc<{ contractAddress: string | null } | null>('eth_getTransactionReceipt', [
        hash,
      ]);
      if (receipt) return receipt;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`coverage: transaction ${hash} was not mined`);
  }

  /** Which of our contracts a creation's init code deploys, if any. */
  private createdBy(input: string): string | undefined {
    const code = input.toLowerCase();
    return this.creationCode.find(([, creation]) => code.startsWith(creation))?.[0];
  }

  private record(logs: StructLog[], top: string | undefined, kind: 'creation' | 'runtime'): void {
    const frames: (string | undefined)[] = [top ? `${top}:${kind}` : undefined];
    for (let i = 0; i < logs.length; i++) {
      const log = logs[i]!;
      while (log.depth < frames.length) frames.pop();
      if (log.depth > frames.length) {
        const caller = logs[i - 1];
        const stack = caller?.stack ?? [];
        const target =
          caller && CALL_OPS.has(caller.op)
            ? `0x${BigInt(stack[stack.length - 2] ?? '0x0')
                .toString(16)
                .padStart(40, '0')}`
            : undefined;
        const name = target ? this.byAddress.get(target) : undefined;
        frames.push(name ? `${name}:runtime` : undefined);
      }
      const key = frames[frames.length - 1];
      if (!key) continue;
      getOrCreate(this.pcs, key, () => new Set<number>()).add(log.pc);
      const next = logs[i + 1];
      if (log.op === 'JUMPI' && next && next.depth === log.depth) {
        const byPc = getOrCreate(this.jumps, key, () => new Map<number, Set<number>>());
        getOrCreate(byPc, log.pc, () => new Set<number>()).add(next.pc);
      }
    }
  }

  async flush(): Promise<void> {
    const raw: RawCoverage = { pcs: {}, jumps: {} };
    for (const [key, pcs] of this.pcs) raw.pcs[key] = [...pcs];
    for (const [key, byPc] of this.jumps) {
      raw.jumps[key] = Object.fromEntries([...byPc].map(([pc, targets]) => [pc, [...targets]]));
    }
    mkdirSync(this.outDir, { recursive: true });
    writeFileSync(join(this.outDir, `${randomUUID()}.json`), JSON.stringify(raw));
  }
}
