import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { announce, elapsed, isAlive, isRunning, portFromEnv, processId, tail, waitUntil } from './harness.ts';
import { acquireShared, type ServerProcess, sharing } from './shared-server.ts';
import type { StartedServer } from './types.ts';

/**
 * A real Keycloak (Quarkus distribution, `start --optimized`) on 127.0.0.1:48080, management (health)
 * on 49000, dev-file H2 database under <repo>/.tmp/keycloak/, realm `isekai` imported from
 * knative/base/keycloak/realm-isekai.json merged with its dev overlay (test users, password-grant client).
 * The built distribution is cached in ~/.cache/isekai by scripts/servers/keycloak-prefetch.sh.
 * The database is kept between runs while the realm files and version are unchanged (ready in ≈ 9–13 s),
 * and wiped for a fresh import when they change (≈ 21–40 s, depending on what else the 2 cores run).
 * Env it returns: OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URI, KEYCLOAK_URL, KEYCLOAK_REALM,
 * KEYCLOAK_ADMIN_USER/PASSWORD, KEYCLOAK_{DEV,SITE,INTEGRATIONS}_CLIENT_ID, KEYCLOAK_{SITE,INTEGRATIONS}_CLIENT_SECRET.
 */

const run = promisify(execFile);

const REPO = resolve(import.meta.dirname, '../..');
const VERSION = process.env.KEYCLOAK_VERSION ?? '26.7.3';
const CACHE = process.env.ISEKAI_CACHE ?? join(homedir(), '.cache', 'isekai');
const KC_HOME = join(CACHE, `keycloak-${VERSION}`);
/** 48080 / 49000 unless KEYCLOAK_PORT / KEYCLOAK_MANAGEMENT_PORT name others (a private server for experiments). */
const PORT = portFromEnv('KEYCLOAK_PORT', 48080);
const MANAGEMENT_PORT = portFromEnv('KEYCLOAK_MANAGEMENT_PORT', 49000);
const DATA = join(REPO, '.tmp', PORT === 48080 ? 'keycloak' : `keycloak-${PORT}`);
const REALM_DIR = join(REPO, 'knative', 'base', 'keycloak');
const HOST = '127.0.0.1';
const REALM = 'isekai';
const START_DEADLINE_MS = Number(process.env.KEYCLOAK_START_DEADLINE_MS ?? 180_000);

/** Dev-only bootstrap admin of the master realm (a throwaway local server; never a real credential). */
const ADMIN_USER = 'dev-admin';
const ADMIN_PASSWORD = 'dev-only-admin-password';
/** Secrets as the realm file's placeholders resolve them (`${KC_…:default}`). */
const SITE_SECRET = process.env.KC_ISEKAI_SITE_SECRET ?? 'dev-only-isekai-site-secret';
const INTEGRATIONS_SECRET =
  process.env.KC_ISEKAI_INTEGRATIONS_SECRET ?? 'dev-only-isekai-integrations-secret';

const BASE_URL = `http://${HOST}:${PORT}`;
const ISSUER = `${BASE_URL}/realms/${REALM}`;

function environment(): Record<string, string> {
  return {
    KEYCLOAK_URL: BASE_URL,
    KEYCLOAK_REALM: REALM,
    KEYCLOAK_ADMIN_USER: ADMIN_USER,
    KEYCLOAK_ADMIN_PASSWORD: ADMIN_PASSWORD,
    KEYCLOAK_DEV_CLIENT_ID: 'isekai-dev-cli',
    KEYCLOAK_SITE_CLIENT_ID: 'isekai-site',
    KEYCLOAK_SITE_CLIENT_SECRET: SITE_SECRET,
    KEYCLOAK_INTEGRATIONS_CLIENT_ID: 'isekai-integrations',
    KEYCLOAK_INTEGRATIONS_CLIENT_SECRET: INTEGRATIONS_SECRET,
    OIDC_ISSUER: ISSUER,
    OIDC_AUDIENCE: 'isekai-api',
    OIDC_JWKS_URI: `${ISSUER}/protocol/openid-connect/certs`,
  };
}

interface RealmParts {
  clients?: unknown[];
  users?: unknown[];
  [key: string]: unknown;
}

/** The realm the dev stack and tests run: the production export plus the dev overlay's clients and users. */
export async function devRealm(): Promise<RealmParts> {
  const base = JSON.parse(await readFile(join(REALM_DIR, 'realm-isekai.json'), 'utf8')) as RealmParts;
  const overlay = JSON.parse(
    await readFile(join(REALM_DIR, 'realm-isekai.dev-overlay.json'), 'utf8'),
  ) as RealmParts;
  return {
    ...base,
    clients: [...(base.clients ?? []), ...(overlay.clients ?? [])],
    users: [...(base.users ?? []), ...(overlay.users ?? [])],
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_500) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** Fetch, unpack and build into the cache when missing or stale (the script exits at once when cached). */
async function ensureBuilt(): Promise<void> {
  const { stdout } = await run(join(REPO, 'scripts', 'servers', 'keycloak-prefetch.sh'), [], {
    env: { ...process.env, KEYCLOAK_VERSION: VERSION, ISEKAI_CACHE: CACHE },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (!stdout.includes('] cached')) process.stdout.write(stdout.replace(/^/gm, '[harness] '));
}

/** Keeps the database when version and realm are unchanged; otherwise wipes it so the import runs. */
async function prepareData(realmJson: string): Promise<'kept database' | 'fresh realm import'> {
  const fingerprint = createHash('sha256').update(`${VERSION}\n${realmJson}`).digest('hex');
  const marker = join(DATA, 'fingerprint');
  const previous = await readFile(marker, 'utf8').catch(() => '');
  await mkdir(join(KC_HOME, 'data', 'import'), { recursive: true });
  // --import-realm reads every *.json in <home>/data/import and skips realms that already exist.
  await writeFile(join(KC_HOME, 'data', 'import', `${REALM}-realm.json`), realmJson);
  if (previous === fingerprint && existsSync(join(DATA, 'h2'))) return 'kept database';
  await rm(DATA, { recursive: true, force: true });
  await mkdir(DATA, { recursive: true });
  // Safe to write before the import: a database lacking the realm gets it on the next start
  // (the import skips only realms that exist).
  await writeFile(marker, fingerprint);
  return 'fresh realm import';
}

function childEnv(): NodeJS.ProcessEnv {
  const keep = [
    'PATH',
    'HOME',
    'JAVA_HOME',
    'LANG',
    'TMPDIR',
    'KC_ISEKAI_SITE_SECRET',
    'KC_ISEKAI_INTEGRATIONS_SECRET',
  ];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return {
    ...env,
    KC_BOOTSTRAP_ADMIN_USERNAME: ADMIN_USER,
    KC_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // Two cores shared with other servers: a small heap, and C1 only (starts ~15% faster).
    JAVA_OPTS_KC_HEAP: '-Xms64m -Xmx512m',
    JAVA_OPTS_APPEND: '-XX:TieredStopAtLevel=1',
  };
}

async function waitReady(child: ChildProcess, log: string): Promise<void> {
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  await waitUntil('[harness] keycloak', () => answers(`http://${HOST}:${MANAGEMENT_PORT}/health/ready`), {
    deadlineMs: START_DEADLINE_MS,
    intervalMs: 250,
    gaveUp: () =>
      exited === null ? undefined : `exited with ${exited} before ready (log ${log}):\n${tail(log, 25)}`,
  });
  if (!(await answers(`${ISSUER}/.well-known/openid-configuration`)))
    throw new Error(`[harness] keycloak is ready but realm ${REALM} is missing (log ${log})`);
}

/** Stops the kc.sh `server` names, from any process: SIGTERM (kc.sh forwards it to its java and waits
 * for a graceful shutdown), then after 20 s SIGKILL to its process group (kc.sh and java). Keeps the data. */
async function stopKeycloak(server: ServerProcess): Promise<void> {
  if (!isRunning(server)) return;
  process.kill(server.pid, 'SIGTERM');
  const gone = (ms: number) =>
    waitUntil('[harness] keycloak stop', async () => !isAlive(server.pid), {
      deadlineMs: ms,
      intervalMs: 100,
    })
      .then(() => true)
      .catch(() => false);
  if (await gone(20_000)) return;
  try {
    process.kill(-server.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await gone(10_000);
}

async function launch(record: (server: ServerProcess) => void): Promise<ServerProcess> {
  await ensureBuilt();
  const realmJson = `${JSON.stringify(await devRealm(), null, 2)}\n`;
  const mode = await prepareData(realmJson);
  const log = join(DATA, 'keycloak.log');
  const out = openSync(log, 'a');
  const child = spawn(
    join(KC_HOME, 'bin', 'kc.sh'),
    [
      'start',
      '--optimized',
      '--cache=local',
      '--http-enabled=true',
      `--http-host=${HOST}`,
      `--http-port=${PORT}`,
      `--http-management-port=${MANAGEMENT_PORT}`,
      '--hostname-strict=false',
      '--import-realm',
      `--db-url=jdbc:h2:file:${join(DATA, 'h2', 'keycloakdb')};NON_KEYWORDS=VALUE`,
    ],
    { cwd: KC_HOME, env: childEnv(), stdio: ['ignore', out, out], detached: true },
  );
  closeSync(out);
  if (child.pid === undefined) throw new Error('[harness] keycloak: kc.sh did not start');
  // It outlives us when other users still hold it: our event loop must not wait for it.
  child.unref();
  const server = { ...processId(child.pid), dir: DATA };
  record(server);
  try {
    await waitReady(child, log);
  } catch (error) {
    await stopKeycloak(server);
    throw error;
  }
  process.stdout.write(
    `[harness] keycloak: ${VERSION}, start --optimized, ${mode}, pid ${child.pid}, log ${log}\n`,
  );
  return server;
}

/** Joins the users of the machine's Keycloak on PORT, starting it when none answers (9–40 s); `stop()`
 * gives the lease back, and the last user stops it (scripts/servers/shared-server.ts). */
export async function start(): Promise<StartedServer> {
  const t0 = performance.now();
  const lease = await acquireShared({
    name: 'keycloak',
    port: PORT,
    answering: () => answers(`${ISSUER}/.well-known/openid-configuration`),
    start: launch,
    stop: stopKeycloak,
    // ensureBuilt may download and build the distribution first.
    startDeadlineMs: START_DEADLINE_MS + 120_000,
  });
  const ms = elapsed(t0);
  announce('keycloak', lease.reused ? 'reused' : 'started', ms, `${BASE_URL}${sharing(lease)}`);
  return {
    name: 'keycloak',
    env: environment(),
    reused: lease.reused,
    ms,
    stop: async () => void (await lease.release()),
  };
}
