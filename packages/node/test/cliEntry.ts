/** Runs the medledger CLI from source (the crash test spawns it as a separate process). */
import { main } from '../src/cli.js';

await main(process.argv.slice(2));
