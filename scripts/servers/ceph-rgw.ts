import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { announce, dataDir, elapsed, httpGetText, processId, repoRoot, runToLog } from './harness.ts';
import { acquireShared, type ServerProcess, sharing } from './shared-server.ts';
import type { StartedServer } from './types.ts';

/**
 * Ceph RGW (S3 API): one mon, one memstore OSD and radosgw, started by scripts/servers/ceph-up.sh
 * (root and Debian's ceph packages needed), stopped by ceph-down.sh when its last user is done
 * (scripts/servers/shared-server.ts). Data under .tmp/ceph-rgw/ of the checkout that started it.
 */

const NAME = 'ceph-rgw';
export const RGW_PORT = 40180;
const ENDPOINT = `http://127.0.0.1:${RGW_PORT}`;
const UP = path.join(repoRoot, 'scripts/servers/ceph-up.sh');
const DOWN = path.join(repoRoot, 'scripts/servers/ceph-down.sh');

/** The fixed development keys ceph-up.sh gives its S3 user (a throwaway local gateway). */
const DEFAULT_ENV = {
  S3_ENDPOINT: ENDPOINT,
  S3_REGION: 'us-east-1',
  S3_ACCESS_KEY_ID: 'ISEKAIDEVACCESSKEY00',
  S3_SECRET_ACCESS_KEY: 'isekai-dev-secret-key-for-local-rgw-only',
  S3_FORCE_PATH_STYLE: 'true',
} as const;

async function answering(): Promise<boolean> {
  const body = await httpGetText(`${ENDPOINT}/`);
  return body?.includes('ListAllMyBucketsResult') ?? false;
}

/** The env file ceph-up.sh wrote, or the fixed defaults (a gateway someone else started by hand). */
function readEnv(dir: string): Record<string, string> {
  const file = path.join(dir, 'env');
  if (!existsSync(file)) return { ...DEFAULT_ENV };
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { ...DEFAULT_ENV, ...env };
}

/** Starts mon, OSD and radosgw from this checkout's `.tmp/ceph-rgw/`; radosgw's process stands for them. */
async function launch(dir: string): Promise<ServerProcess> {
  const scriptEnv = { ...process.env, CEPH_DIR: dir };
  // Daemons of an earlier run that no longer answer: stop them by their pid files, clear the dir.
  if (existsSync(dir)) await runToLog('bash', [DOWN], path.join(dataDir('logs'), 'ceph-down.log'), scriptEnv);
  mkdirSync(dir, { recursive: true });
  // ceph-up.sh polls for the OSD and the gateway itself, with its own deadline (60 s).
  await runToLog('bash', [UP], path.join(dir, 'up.log'), scriptEnv);
  if (!(await answering())) throw new Error(`${NAME}: ceph-up.sh finished but ${ENDPOINT} does not answer`);
  const rgwPid = Number.parseInt(readFileSync(path.join(dir, 'run', 'client.rgw.a.pid'), 'utf8'), 10);
  return { ...processId(rgwPid), dir };
}

/** ceph-down.sh on the starter's directory: stops the three daemons by their pid files, removes it. */
async function stopCeph(server: ServerProcess): Promise<void> {
  await runToLog('bash', [DOWN], path.join(dataDir('logs'), 'ceph-down.log'), {
    ...process.env,
    CEPH_DIR: server.dir,
  });
}

export async function start(): Promise<StartedServer> {
  const t0 = performance.now();
  const dir = dataDir(NAME);
  const lease = await acquireShared({
    name: NAME,
    port: RGW_PORT,
    answering,
    start: () => launch(dir),
    stop: stopCeph,
    startDeadlineMs: 90_000,
  });
  const ms = elapsed(t0);
  announce(NAME, lease.reused ? 'reused' : 'started', ms, `${ENDPOINT}${sharing(lease)}`);
  return {
    name: NAME,
    // The env file of the checkout that started it, else the fixed defaults (the same keys).
    env: readEnv(lease.server?.dir ?? dir),
    reused: lease.reused,
    ms,
    stop: async () => void (await lease.release()),
  };
}
