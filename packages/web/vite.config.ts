/**
 * Builds the web app into dist/ (served by the node at /). The workspace packages are bundled from their
 * TypeScript sources (the `source` condition), the crypto package through its browser platform. Routes are
 * split into chunks loaded on navigation, so the first load carries only the shell.
 *
 * `npm run dev` serves the app with hot reload at http://127.0.0.1:5173 and forwards the node's APIs to a
 * running node (MEDLEDGER_NODE_URL, default http://127.0.0.1:8080), the Subscriptions WebSocket included.
 * Sign-in needs the node to know the dev server as its public address — start it with
 * MEDLEDGER_BASE_URL=http://127.0.0.1:5173/fhir (docs/web.md, "Developing").
 */
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

const node = process.env.MEDLEDGER_NODE_URL ?? 'http://127.0.0.1:8080';
const API_PREFIXES = [
  '/fhir',
  '/oauth',
  '/audit',
  '/admin',
  '/account',
  '/licences',
  '/directory',
  '/readyz',
  '/cds-services',
  '/prescriptions',
  '/pharmacy',
  '/.well-known',
];

export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['source', ...defaultClientConditions] },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(
      API_PREFIXES.map((prefix) => [prefix, { target: node, ws: prefix === '/fhir' }]),
    ),
  },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
