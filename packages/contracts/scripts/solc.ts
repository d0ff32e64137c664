// Compiles medledger's Solidity sources offline with the bundled solcjs (standard JSON, import callback into
// node_modules) and renders the committed typed artifacts. Used by the compile CLI, by the test that keeps
// the committed artifacts byte-identical to a fresh compile, and by the coverage and gas runs.
// Limits: solcjs is single-threaded WebAssembly; a full compile takes a few seconds.

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const solc = require('solc') as {
  version(): string;
  compile(
    input: string,
    callbacks: { import: (path: string) => { contents: string } | { error: string } },
  ): string;
};

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const contractsDir = join(packageRoot, 'contracts');
export const generatedDir = join(packageRoot, 'src', 'generated');

/** The contracts whose ABI and bytecode are committed, in deployment order. */
export const suiteContracts = [
  'ConsortiumRegistry',
  'ConsentManager',
  'RecordRegistry',
  'AuditAnchor',
  'Prescriptions',
] as const;
export type SuiteContract = (typeof suiteContracts)[number];

/** Governance contracts whose ABI and bytecode are committed too, deployed on demand (not part of the suite). */
export const governanceContracts = ['ConsortiumTimelock'] as const;
export type GovernanceContract = (typeof governanceContracts)[number];

export const SOLC_VERSION = '0.8.30';
export const EVM_VERSION = 'prague';

export interface CompileOptions {
  /** Sources by source unit name to compile instead of ours (e.g. a reference contract measured beside them). */
  sources?: Record<string, string>;
  /** Coverage builds turn the optimizer off so that source maps follow the code. */
  optimize?: boolean;
}

export interface CompiledContract {
  sourceName: string;
  abi: readonly unknown[];
  bytecode: `0x${string}`;
  deployedBytecode: `0x${string}`;
  sourceMap: string;
  deployedSourceMap: string;
  storageLayout: {
    storage: { label: string; slot: string; offset: number; type: string }[];
    types: Record<string, { label: string; encoding: string; numberOfBytes: string }> | null;
  };
}

export interface CompileOutput {
  contracts: Record<string, CompiledContract>;
  /** Source unit name → { id, content, ast } for source-map lookups. */
  sources: Record<string, { id: number; content: string; ast: unknown }>;
}

function listSolidity(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listSolidity(join(dir, entry.name))
      : entry.name.endsWith('.sol')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Source unit names are package-relative so that bytecode metadata is the same on every machine. */
export function projectSources(): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const file of listSolidity(contractsDir).sort()) {
    sources[relative(packageRoot, file).split('\\').join('/')] = readFileSync(file, 'utf8');
  }
  return sources;
}

export function compile(options: CompileOptions = {}): CompileOutput {
  if (!solc.version().startsWith(SOLC_VERSION)) {
    throw new Error(`expected solc ${SOLC_VERSION}, found ${solc.version()}`);
  }
  const contents = options.sources ?? projectSources();
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(contents).map(([name, content]) => [name, { content }])),
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: options.optimize ?? true, runs: 10_000 },
      outputSelection: {
        '*': {
          '*': [
            'abi',
            'evm.bytecode.object',
            'evm.bytecode.sourceMap',
            'evm.deployedBytecode.object',
            'evm.deployedBytecode.sourceMap',
            'storageLayout',
          ],
          '': ['ast'],
        },
      },
    },
  };
  const findImport = (path: string) => {
    try {
      return { contents: readFileSync(require.resolve(path, { paths: [packageRoot] }), 'utf8') };
    } catch {
      return { error: `import not found: ${path}` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, SolcContract>>;
    sources: Record<string, { id: number; ast: unknown }>;
  };
  const problems = (output.errors ?? []).filter((e) => e.severity === 'error' || !isIgnorableWarning(e));
  if (problems.length > 0) {
    throw new Error(`solc:\n${problems.map((e) => e.formattedMessage).join('\n')}`);
  }
  const contracts: Record<string, CompiledContract> = {};
  for (const [sourceName, byName] of Object.entries(output.contracts)) {
    for (const [name, c] of Object.entries(byName)) {
      if (c.evm.bytecode.object === '') continue; // interfaces and libraries without code
      contracts[name] = {
        sourceName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        sourceMap: c.evm.bytecode.sourceMap,
        deployedSourceMap: c.evm.deployedBytecode.sourceMap,
        storageLayout: c.storageLayout,
      };
    }
  }
  const sources: CompileOutput['sources'] = {};
  for (const [name, s] of Object.entries(output.sources)) {
    sources[name] = { id: s.id, ast: s.ast, content: contents[name] ?? findSource(name) };
  }
  return { contracts, sources };
}

interface SolcContract {
  abi: readonly unknown[];
  evm: {
    bytecode: { object: string; sourceMap: string };
    deployedBytecode: { object: string; sourceMap: string };
  };
  storageLayout: CompiledContract['storageLayout'];
}

function findSource(name: string): string {
  return readFileSync(require.resolve(name, { paths: [packageRoot] }), 'utf8');
}

// The seed's reference contract (compiled for gas comparison only) has a floating pragma and no licence
// issues of ours; nothing else may warn.
function isIgnorableWarning(e: { severity: string; formattedMessage: string }): boolean {
  return e.severity === 'warning' && e.formattedMessage.includes('anchors/');
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** The committed TypeScript module for one contract: ABI `as const` and creation bytecode. */
export function renderArtifact(name: SuiteContract | GovernanceContract, c: CompiledContract): string {
  return [
    `// Generated by packages/contracts/scripts/compile.ts from ${c.sourceName} (solc ${SOLC_VERSION}, evm ${EVM_VERSION}, optimizer 10000 runs).`,
    '// Do not edit: run `npm run compile -w @medledger/contracts`; a test fails when this file is stale.',
    '',
    `export const ${camel(name)}Abi = ${JSON.stringify(c.abi, null, 2)} as const;`,
    '',
    `export const ${camel(name)}Bytecode = '${c.bytecode}' as const;`,
    '',
  ].join('\n');
}

export function renderAll(output: CompileOutput): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of [...suiteContracts, ...governanceContracts]) {
    const c = output.contracts[name];
    if (!c) throw new Error(`missing contract ${name}`);
    files[`${name}.generated.ts`] = renderArtifact(name, c);
  }
  return files;
}
