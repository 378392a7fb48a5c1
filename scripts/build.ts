/**
 * Bundle each function into one file per function (esbuild): `dist/<name>/app.js`, the function and the
 * lean host together, started by `dist/<name>/index.mjs` with its V8 code cache (scripts/code-cache.ts), so
 * a container starts one bundle with no node_modules (fast cold start).
 *   node scripts/build.ts            # every function
 *   node scripts/build.ts catalog    # some
 *   node scripts/build.ts schema-migrate   # the migration Job: dist/schema-migrate/{index.mjs,migrations/}
 *   node scripts/build.ts backup   # the backup CronJobs' CLI: dist/backup/backup.mjs
 *   node scripts/build.ts site     # the site: dist/site/{server/entry.mjs,client/} (astro build + esbuild)
 * A function with a `cli.ts` (dead-letters) also gets `dist/<name>/cli.mjs`.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { frameworkFile } from '../functions/lib/host/framework-files.ts';
import { APP_FILE, cacheKey, IMPORT_META_URL, scriptFromModule, startFile } from './code-cache.ts';

const root = new URL('..', import.meta.url).pathname;
const functionsDir = join(root, 'functions');

/**
 * The lean host finds functions-framework's registry at run time from the package's entry
 * (functions/lib/host/framework-registry.ts); a bundle has no node_modules beside it, so the bundle gets
 * that same file inlined — the one the framework's entry requires, so `http()` and the host share one Map.
 */
export const frameworkRegistryPlugin: Plugin = {
  name: 'functions-framework-registry',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]functions[\\/]lib[\\/]host[\\/]framework-registry\.ts$/ }, () => ({
      contents: `import * as registry from ${JSON.stringify(frameworkFile('function_registry.js'))};\nexport const frameworkRegistry = registry;\n`,
      loader: 'js',
    }));
  },
};

const BUILTINS = new Set(builtinModules);

/**
 * Node's built-in modules loaded with `require()` instead of an ESM `import`. An ESM import of a built-in
 * makes Node build its ESM facade, which reads every export once — `node:http`'s lazy `WebSocket` getter
 * among them, which loads all of undici (and TLS): about half of a bare `node:http` server's start-up CPU
 * (bench/README.md, "Cold start"). `require()` returns the same module object and reads nothing.
 * `import x`, `import * as x` and named imports all keep working (esbuild's CommonJS interop).
 */
export const requireBuiltins: Plugin = {
  name: 'require-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
      const prefixed = args.path.startsWith('node:');
      if (!prefixed && !BUILTINS.has(args.path)) return undefined;
      // require() of a built-in stays as it is (external); imports go through the CommonJS shim below.
      if (args.kind === 'require-call') return { path: args.path, external: true };
      return { path: args.path, namespace: 'require-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'require-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * CommonJS packages that a dependency requires when it loads but uses only on paths no function takes,
 * keyed by the package that requires them: evaluating them cost every cold start (bench/README.md, "Cold
 * start"). prom-client reads `@opentelemetry/api` only for exemplars (`enableExemplars`, never set);
 * pino builds a `thread-stream` (a worker thread) only for transports (`pino.transport()`, never called).
 */
export const LAZY_REQUIRES: Readonly<Record<string, readonly string[]>> = {
  '@opentelemetry/api': ['prom-client'],
  'thread-stream': ['pino'],
};

/**
 * `require()` of a {@link LAZY_REQUIRES} package from its listed requirer returns a stand-in that loads
 * the package on first use (a property read, a call or `new`) and forwards to it: the same exports, the
 * package's code evaluated only if that path is taken. Every other importer gets the package as usual.
 */
export const lazyRequires: Plugin = {
  name: 'lazy-requires',
  setup(b) {
    const names = Object.keys(LAZY_REQUIRES).map((n) => n.replace(/[/\\^$*+?.()|[\]{}-]/g, '\\$&'));
    b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => {
      // The stand-in's own require(): left to Node at run time (not bundled), like the optional add-ons
      // in BUNDLE_OPTIONS.external.
      if (args.namespace === 'lazy-require') return { path: args.path, external: true };
      const requirers = LAZY_REQUIRES[args.path] ?? [];
      const from = args.importer.replaceAll('\\', '/');
      if (args.kind !== 'require-call' || !requirers.some((p) => from.includes(`/node_modules/${p}/`)))
        return undefined;
      return { path: args.path, namespace: 'lazy-require', pluginData: { resolveDir: args.resolveDir } };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-require' }, (args) => ({
      contents: `let real;
const load = () => (real ??= require(${JSON.stringify(args.path)}));
const lazy = new Proxy(function lazy() {}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  apply: (_, self, list) => Reflect.apply(load(), self, list),
  construct: (_, list, newTarget) => Reflect.construct(load(), list, newTarget === lazy ? load() : newTarget),
});
module.exports = lazy;`,
      loader: 'js',
      resolveDir: (args.pluginData as { resolveDir: string }).resolveDir,
    }));
  },
};

/** How every function (and every benchmark fixture) is bundled: one minified ESM file for Node 24. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  external: [
    // Optional native add-ons and cloud helpers the drivers probe for at run time; never used here.
    'pg-native',
    'kerberos',
    'snappy',
    '@mongodb-js/zstd',
    'mongodb-client-encryption',
    'gcp-metadata',
    'socks',
    'aws4',
    '@aws-sdk/credential-providers',
    // zipkin-transport-http requires node-fetch only when there is no global fetch (Node 18+ has one).
    'node-fetch',
  ],
  // cockatiel's ES module build (its package.json `module`; for platform node esbuild takes the CommonJS
  // `main`, which loads every policy): the package is marked side-effect free, so the bundle keeps only the
  // policies used, 14 KB less to load at every cold start (bench/README.md, "Cold start").
  alias: { cockatiel: 'cockatiel/dist/esm/index.js' },
  // Bundled CommonJS still calls require(): give the ESM output one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  plugins: [frameworkRegistryPlugin, requireBuiltins, lazyRequires],
  logLevel: 'warning',
} satisfies BuildOptions;

/** Function folders: those with an index.ts that registers a function (lib is not one). */
export async function functionNames(): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(functionsDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'lib') continue;
    const exists = await stat(join(functionsDir, entry.name, 'index.ts')).catch(() => undefined);
    if (exists) names.push(entry.name);
  }
  return names.sort();
}

/**
 * Bundle a server (a function with the host, or a bench fixture) as it starts in its image:
 * `<outdir>/index.mjs`, a start file that compiles `<outdir>/app.js` (the bundle, as a script) with a V8 code
 * cache made after a start ran (scripts/code-cache.ts). Returns the start file and the bundle's size.
 */
export async function bundleServer(
  outdir: string,
  source: Pick<BuildOptions, 'stdin' | 'entryPoints'>,
  extra: Pick<BuildOptions, 'sourcemap' | 'legalComments'> = {},
): Promise<{ file: string; bytes: number }> {
  const app = join(outdir, APP_FILE);
  const result = await build({
    ...BUNDLE_OPTIONS,
    ...source,
    ...extra,
    // No banner: the script wrapper's parameters are `require` and the module's URL.
    banner: {},
    define: { 'import.meta.url': IMPORT_META_URL },
    outfile: app,
    write: false,
  });
  await mkdir(outdir, { recursive: true });
  let bytes = 0;
  let key = '';
  for (const output of result.outputFiles) {
    if (output.path !== app) {
      await writeFile(output.path, output.contents);
      continue;
    }
    const script = scriptFromModule(output.text);
    bytes = Buffer.byteLength(script);
    key = cacheKey(script);
    await writeFile(app, script);
  }
  const file = join(outdir, 'index.mjs');
  await writeFile(file, startFile(key));
  return { file, bytes };
}

/** Bundle one function with the host; returns the start file and the bundle's size. */
export async function bundle(
  name: string,
  outdir = join(root, 'dist', name),
): Promise<{ file: string; bytes: number }> {
  const entry = [
    `import { exitOnStartupError, runHost } from ${JSON.stringify(join(functionsDir, 'lib/host/run.ts'))};`,
    // A dynamic import, so a bad setting thrown while the module wires itself is reported, not a crash.
    `await import(${JSON.stringify(join(functionsDir, name, 'index.ts'))}).then(() => runHost({ target: process.env.FUNCTION_TARGET ?? ${JSON.stringify(name)}, port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' })).catch(exitOnStartupError);`,
  ].join('\n');
  // A rebuild leaves no file of the former layout (index.mjs.map, index.mjs.LEGAL.txt) behind.
  for (const old of ['index.mjs.map', 'index.mjs.LEGAL.txt']) await rm(join(outdir, old), { force: true });
  const built = await bundleServer(
    outdir,
    { stdin: { contents: entry, resolveDir: root, sourcefile: `${name}-entry.ts`, loader: 'ts' } },
    { sourcemap: 'linked', legalComments: 'linked' },
  );
  await bundleCli(name, outdir);
  return built;
}

/**
 * A function's operators' CLI (`functions/<name>/cli.ts`, e.g. the dead-letters `list|requeue`), when it has
 * one, bundled beside the function as `<outdir>/cli.mjs` so the function's image can run it as a Job.
 */
async function bundleCli(name: string, outdir: string): Promise<void> {
  const source = join(functionsDir, name, 'cli.ts');
  if (!(await stat(source).catch(() => undefined))) return;
  await build({ ...BUNDLE_OPTIONS, entryPoints: [source], outfile: join(outdir, 'cli.mjs') });
}

/** The site's image name and dist/ folder. */
export const SITE = 'site';

/**
 * The key Astro writes into the server's manifest (`ASTRO_KEY`, AES-256 in base64). Without one, every
 * `astro build` makes a random key, so no two builds of the site were alike. It encrypts only server
 * islands' props and actions' payloads, which the site has neither of, so a fixed key is used; a build given
 * `ASTRO_KEY` (a deployment's own secret, `astro create-key`) uses that instead. A site that starts using
 * server islands or actions must be built with a secret key: the build refuses otherwise, since the fixed
 * key is public.
 */
async function siteKey(siteDir: string): Promise<string> {
  if (process.env.ASTRO_KEY) return process.env.ASTRO_KEY;
  const files = await readdir(join(siteDir, 'src'), { recursive: true });
  for (const file of files) {
    if (!/\.(astro|ts|mts|js|mjs)$/.test(file)) continue;
    const text = await readFile(join(siteDir, 'src', file), 'utf8');
    if (/server:defer|astro:actions/.test(text))
      throw new Error(
        `site/src/${file} uses server islands or actions: build with ASTRO_KEY set to a secret key`,
      );
  }
  return PUBLIC_SITE_KEY;
}

/** sha256("isekai site: no server islands, no actions"), base64: public, see siteKey(). */
const PUBLIC_SITE_KEY = 'x7c1/C8gIZp0vWgYosDgdu0fHCCh35KLUcx/4einoI8=';

/**
 * Build the site (`astro build` in site/) and bundle its server entry into one file,
 * `<outdir>/server/entry.mjs`, with the static files in `<outdir>/client/` beside it (the @astrojs/node
 * standalone server finds them relative to its entry), so its image needs no node_modules.
 */
export async function bundleSite(
  outdir = join(root, 'dist', SITE),
): Promise<{ file: string; bytes: number }> {
  const siteDir = join(root, 'site');
  const astro = join(root, 'node_modules', 'astro', 'bin', 'astro.mjs');
  const { _: _lastCommand, ...inherited } = process.env;
  const built = spawnSync(process.execPath, [astro, 'build'], {
    cwd: siteDir,
    // `_` (the shell's last command) ends up in the bundle's import.meta.env: leave it out.
    env: { ...inherited, ASTRO_TELEMETRY_DISABLED: '1', ASTRO_KEY: await siteKey(siteDir) },
    encoding: 'utf8',
  });
  if (built.status !== 0)
    throw new Error(`astro build failed (${built.status}):\n${built.stderr}${built.stdout}`);
  const file = join(outdir, 'server', 'entry.mjs');
  await rm(outdir, { recursive: true, force: true });
  const result = await build({
    ...BUNDLE_OPTIONS,
    // sharp: Astro's image service, loaded only by /_image, which the site does not use.
    external: [...BUNDLE_OPTIONS.external, 'sharp'],
    entryPoints: [join(siteDir, 'dist', 'server', 'entry.mjs')],
    outfile: file,
    metafile: true,
  });
  await cp(join(siteDir, 'dist', 'client'), join(outdir, 'client'), { recursive: true });
  const output = result.metafile.outputs[relative(root, file)];
  return { file, bytes: output?.bytes ?? 0 };
}

/** The backup CronJobs' image name and dist/ folder (k3s/backup/, knative/base/700-backups.yaml). */
export const BACKUP = 'backup';

/** Bundle the backup CLI (scripts/backup.ts: S3 put/get, MongoDB dump/restore) to `<outdir>/backup.mjs`. */
export async function bundleBackup(
  outdir = join(root, 'dist', BACKUP),
): Promise<{ file: string; bytes: number }> {
  const file = join(outdir, 'backup.mjs');
  const result = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(root, 'scripts', 'backup.ts')],
    outfile: file,
    legalComments: 'linked',
    metafile: true,
  });
  const output = result.metafile.outputs[relative(root, file)];
  return { file, bytes: output?.bytes ?? 0 };
}

/** The migration Job's name: its image, ServiceAccount, Vault role and dist/ folder. */
export const SCHEMA_MIGRATE = 'schema-migrate';

/**
 * Bundle the schema-migrate CLI (scripts/migrate.ts) like a function, and copy the SQL migrations beside it
 * (`<outdir>/migrations`): the bundle cannot find them relative to functions/lib/data/ any more, so it is run
 * with `MIGRATIONS_DIR=<outdir>/migrations` (Containerfile.migrate sets it).
 */
export async function bundleMigrate(
  outdir = join(root, 'dist', SCHEMA_MIGRATE),
): Promise<{ file: string; bytes: number; migrations: string }> {
  const file = join(outdir, 'index.mjs');
  const migrations = join(outdir, 'migrations');
  const result = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(root, 'scripts', 'migrate.ts')],
    outfile: file,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
  });
  await rm(migrations, { recursive: true, force: true });
  await cp(join(functionsDir, 'lib', 'db', 'migrations'), migrations, { recursive: true });
  const output = result.metafile.outputs[relative(root, file)];
  return { file, bytes: output?.bytes ?? 0, migrations };
}

if (import.meta.main) {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : await functionNames();
  for (const name of names) {
    const started = performance.now();
    const { file, bytes } =
      name === SCHEMA_MIGRATE
        ? await bundleMigrate()
        : name === SITE
          ? await bundleSite()
          : name === BACKUP
            ? await bundleBackup()
            : await bundle(name);
    process.stdout.write(
      `${name.padEnd(16)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${Math.round(performance.now() - started)} ms  ${relative(root, file)}\n`,
    );
  }
}
