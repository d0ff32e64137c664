/**
 * Builds the web app into dist/ (served by the node at /). The workspace packages are bundled from their
 * TypeScript sources (the `source` condition), the crypto package through its browser platform. Routes are
 * split into chunks loaded on navigation, so the first load carries only the shell.
 */
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
