/**
 * The dev server (`npm run dev -w @medledger/web`, docs/web.md *Developing*) serves the app from its sources
 * and forwards the node's APIs to a running node. Every API the app calls must be forwarded: a path that is not
 * gets the dev server's index.html instead of the node's answer, and the screen that asked breaks in
 * development only. The app's calls are read from its sources: a string starting with `/` names either one of
 * the app's own pages (`/app/…`) or a node API.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const WEB = fileURLToPath(new URL('..', import.meta.url));

function appSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return appSources(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** The first path segment of every absolute path the app's sources spell out, its own pages left aside. */
function apiPrefixesCalled(): Set<string> {
  const prefixes = new Set<string>();
  for (const file of appSources(join(WEB, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/['"`](\/[\w.$-]+)/g)) {
      if (match[1] !== '/app') prefixes.add(match[1]!);
    }
  }
  return prefixes;
}

describe('the dev server', () => {
  it('forwards every node API the app calls to the node', async () => {
    const called = apiPrefixesCalled();
    expect(called).toContain('/fhir'); // the scan does find the app's calls
    const { default: config } = (await import(pathToFileURL(join(WEB, 'vite.config.ts')).href)) as {
      default: { server: { proxy: Record<string, unknown> } };
    };
    const forwarded = Object.keys(config.server.proxy);
    expect([...called].filter((prefix) => !forwarded.includes(prefix))).toEqual([]);
  });
});
