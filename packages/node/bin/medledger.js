#!/usr/bin/env node
// The medledger command. Runs the compiled CLI (npm ci builds it through the root `prepare` script).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('medledger: not built yet — run `npm run build` in the repository root');
  process.exit(2);
}
const { main } = await import(cli.href);
await main(process.argv.slice(2));
