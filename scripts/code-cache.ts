/**
 * A server's bundle as a script with its own V8 code cache, made after the code ran (bench/README.md, "Fifth
 * pass: cold start"). Node's compile cache (`NODE_COMPILE_CACHE`) is made when V8 compiles a module, so it
 * holds only what V8 compiled eagerly: every function first called during a start (module evaluation,
 * settings, logger, metrics, listen) was parsed and compiled again on every start. `vm.Script`'s
 * `createCachedData()` called at exit holds every function compiled by then.
 *
 * `dist/<name>/index.mjs` is a small start file; the bundle is `dist/<name>/app.js`, the esbuild ES module
 * wrapped in one async function (a script cannot hold `import` or top-level `await`). The start file compiles
 * it with the cache it finds under `$NODE_COMPILE_CACHE/isekai/`, and when there is none (or V8 rejects it:
 * another Node version or V8 flags), writes one when the process exits, as Node does with its own cache.
 */
import { createHash } from 'node:crypto';

/** The bundle's file name beside the start file. */
export const APP_FILE = 'app.js';

/** The free name esbuild gives `import.meta.url` in the bundle (`define`); the wrapper's parameter. */
export const IMPORT_META_URL = '__isekai_import_meta_url';

/**
 * The ES module esbuild wrote (no `import`/`export`: built-ins are `require()`d, see requireBuiltins) as a
 * script: one strict async function of `require` and the module's URL. The wrapper opens on the first
 * line, so every line keeps its number for the source map.
 */
export function scriptFromModule(code: string): string {
  if (/^(import|export)[\s{*]/m.test(code.replace(/`[^`]*`/g, '')))
    throw new Error('the bundle has an import or export statement left: it cannot run as a script');
  // Only `import.meta.url` has a stand-in (IMPORT_META_URL); `import.meta.dirname` and the like would fail.
  if (code.includes('import.meta'))
    throw new Error('the bundle reads import.meta beyond its url: it cannot run as a script');
  // The trailing comments (legal notice, source map) stay last.
  const tail = /(\n\/\*![^\n]*\*\/)?(\n\/\/# sourceMappingURL=[^\n]*)?\n?$/.exec(code)?.[0] ?? '';
  const body = code.slice(0, code.length - tail.length);
  return `(async function (require, ${IMPORT_META_URL}) {"use strict";${body}\n})${tail}\n`;
}

/** The key of a bundle's cache: its content (V8 checks only the source's length, flags and version). */
export function cacheKey(app: string): string {
  return createHash('sha256').update(app).digest('hex').slice(0, 16);
}

/** The start file (`index.mjs`) for a bundle whose {@link cacheKey} is `key`. */
export function startFile(key: string): string {
  return `// Starts ${APP_FILE} with its V8 code cache (scripts/code-cache.ts; NODE_DEBUG=isekai shows whether it was used).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { Script, constants } = require('node:vm');
const log = require('node:util').debuglog('isekai');
const url = new URL(${JSON.stringify(APP_FILE)}, import.meta.url);
const file = decodeURIComponent(url.pathname);
const dir = process.env.NODE_COMPILE_CACHE ? process.env.NODE_COMPILE_CACHE + '/isekai' : undefined;
const cache = dir && \`\${dir}/${key}-\${process.version}-\${process.arch}\`;
let cachedData;
try {
  if (cache) cachedData = readFileSync(cache);
} catch {}
const script = new Script(readFileSync(file, 'utf8'), {
  filename: file,
  cachedData,
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
const used = cachedData !== undefined && !script.cachedDataRejected;
log('V8 code cache for %s %s (%s)', file, used ? 'was accepted' : cachedData ? 'was rejected' : 'was not found', cache);
if (cache && !used)
  process.once('exit', () => {
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(cache, script.createCachedData());
    } catch {}
  });
await script.runInThisContext()(require, url.href);
`;
}
