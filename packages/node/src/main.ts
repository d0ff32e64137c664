/** Process entry of the medledger CLI (bin/medledger.js loads the compiled copy; tests and benches the source). */
import { main } from './cli.js';

await main(process.argv.slice(2));
