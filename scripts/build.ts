/**
 * Bundle each function into one file per function (esbuild): `dist/<name>/index.mjs`, the function and
 * the lean host together, so a container starts one file with no node_modules (fast cold start).
 *   node scripts/build.ts            # every function
 *   node scripts/build.ts catalog    # some
 *   node scripts/build.ts schema-migrate   # the migration Job: dist/schema-migrate/{index.mjs,migrations/}
 */
import { cp, readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type BuildOptions, build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const functionsDir = join(root, 'functions');

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
  // Bundled CommonJS still calls require(): give the ESM output one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
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

/** Bundle one function with the host; returns the output path and its size. */
export async function bundle(
  name: string,
  outdir = join(root, 'dist', name),
): Promise<{ file: string; bytes: number }> {
  const file = join(outdir, 'index.mjs');
  const entry = [
    `import { exitOnStartupError, runHost } from ${JSON.stringify(join(functionsDir, 'lib/host/run.ts'))};`,
    // A dynamic import, so a bad setting thrown while the module wires itself is reported, not a crash.
    `await import(${JSON.stringify(join(functionsDir, name, 'index.ts'))}).then(() => runHost({ target: process.env.FUNCTION_TARGET ?? ${JSON.stringify(name)}, port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' })).catch(exitOnStartupError);`,
  ].join('\n');
  const result = await build({
    ...BUNDLE_OPTIONS,
    stdin: { contents: entry, resolveDir: root, sourcefile: `${name}-entry.ts`, loader: 'ts' },
    outfile: file,
    sourcemap: 'linked',
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
    const { file, bytes } = name === SCHEMA_MIGRATE ? await bundleMigrate() : await bundle(name);
    process.stdout.write(
      `${name.padEnd(16)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB  ${Math.round(performance.now() - started)} ms  ${relative(root, file)}\n`,
    );
  }
}
