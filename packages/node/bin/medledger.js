#!/usr/bin/env node
// The medledger command. Runs the compiled CLI (npm ci builds it through the root `prepare` script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('medledger: not built yet — run `npm run build` in the repository root');
  process.exit(2);
}
// A command that runs a node restarts itself once, in place, with the allocator settings it is measured with.
(await import(new URL('../dist/allocatorTuning.js', import.meta.url).href)).execWithTunedAllocator();
await import(entry.href);
