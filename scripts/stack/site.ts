/**
 * The viewers' site (site/, Astro SSR on @astrojs/node standalone) for the local stack and tests: build
 * it when its sources are newer than the build, then run `site/dist/server/entry.mjs` as a child process.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Proc, startProcess, waitHealthy } from './processes.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
export const SITE_DIR = join(root, 'site');
export const SITE_ENTRY = join(SITE_DIR, 'dist', 'server', 'entry.mjs');

/** Newest modification time under the given paths (files and folders, recursively). */
async function newest(paths: string[]): Promise<number> {
  let latest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const info = await stat(path);
    if (info.isDirectory()) {
      const names = await readdir(path);
      latest = Math.max(latest, await newest(names.map((n) => join(path, n))));
    } else latest = Math.max(latest, info.mtimeMs);
  }
  return latest;
}

/** Build the site unless the build is newer than its sources (site/src, its config, the functions' schemas). */
export async function buildSiteIfNeeded(): Promise<'built' | 'up to date'> {
  const sources = await newest([
    join(SITE_DIR, 'src'),
    join(SITE_DIR, 'astro.config.mjs'),
    join(root, 'functions', 'catalog', 'schemas.ts'),
    join(root, 'functions', 'library', 'schemas.ts'),
    join(root, 'functions', 'rate-anime', 'schemas.ts'),
  ]);
  if (existsSync(SITE_ENTRY) && (await stat(SITE_ENTRY)).mtimeMs >= sources) return 'up to date';
  await run(process.execPath, [join(root, 'node_modules', 'astro', 'bin', 'astro.mjs'), 'build'], {
    cwd: SITE_DIR,
    env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return 'built';
}

export interface SiteEnv {
  /** Public origin, e.g. https://isekai.localhost:8100. */
  readonly SITE_ORIGIN: string;
  /** The API through the edge, e.g. https://api.isekai.localhost:8100. */
  readonly API_BASE_URL: string;
  readonly API_CA_FILE?: string;
  readonly OIDC_ISSUER: string;
  readonly OIDC_CLIENT_SECRET: string;
  readonly REDIS_URL: string;
  readonly SESSION_KEY_PREFIX?: string;
}

/** Start the built site on 127.0.0.1:`port` and wait for its /healthz. */
export async function startSite(
  port: number,
  env: SiteEnv,
  options: { deadlineMs?: number; index?: number } = {},
): Promise<Proc & { ms: number }> {
  const proc = startProcess(
    'site',
    [process.execPath, SITE_ENTRY],
    {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
      OIDC_ALLOW_HTTP: env.OIDC_ISSUER.startsWith('http:') ? 'true' : 'false',
    } as Record<string, string>,
    options.index ?? 12,
  );
  try {
    const ms = await waitHealthy(`http://127.0.0.1:${port}/healthz`, proc, options.deadlineMs ?? 60_000);
    return Object.assign(proc, { ms });
  } catch (error) {
    await proc.stop();
    throw error;
  }
}
