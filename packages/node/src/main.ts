/** Process entry of the medledger CLI (bin/medledger.js loads the compiled copy; tests and benches the source). */
import { main } from './cli.js';

// Blob writes fsync concurrently; libuv's default pool of 4 threads serialises them. Set before any async I/O.
process.env.UV_THREADPOOL_SIZE ??= '16';

await main(process.argv.slice(2));
