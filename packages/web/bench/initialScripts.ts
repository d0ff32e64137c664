/**
 * What the built index page makes the browser fetch as JavaScript before anything else: its module entry
 * script(s) and the chunks it preloads (`<link rel="modulepreload">`), read from dist/index.html, with each
 * file's size raw and Brotli-compressed: the build's precompressed `.br` copy (what the node serves), or the
 * file compressed here the same way (quality 11) when the copy is missing.
 * Used by the bundle budget test and the first-load benchmark. Chunks loaded later on navigation (an area)
 * are not counted: they are not part of the first load.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

export interface ScriptSize {
  /** The URL path, e.g. /assets/index-abc.js */
  path: string;
  raw: number;
  brotli: number;
}

/** The script paths index.html loads initially: module entries, then modulepreloads, each once. */
export function initialScriptPaths(indexHtml: string): string[] {
  const paths: string[] = [];
  for (const tag of indexHtml.match(/<(script|link)\b[^>]*>/gi) ?? []) {
    const attr = (name: string) => new RegExp(`\\s${name}\\s*=\\s*["']([^"']+)["']`, 'i').exec(tag)?.[1];
    const isEntry = /^<script/i.test(tag) && attr('src');
    const isPreload = /^<link/i.test(tag) && attr('rel')?.toLowerCase() === 'modulepreload';
    const path = isEntry ? attr('src') : isPreload ? attr('href') : undefined;
    if (path && !paths.includes(path)) paths.push(path);
  }
  return paths;
}

/** Sizes of the initial scripts of the build in `dist` (throws when it is not built). */
export function initialScriptSizes(dist: string): ScriptSize[] {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  return initialScriptPaths(html).map((path) => {
    const file = join(dist, path.replace(/^\//, ''));
    const body = readFileSync(file);
    const brotli = existsSync(`${file}.br`)
      ? statSync(`${file}.br`).size
      : brotliCompressSync(body, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
        }).length;
    return { path, raw: body.length, brotli };
  });
}
