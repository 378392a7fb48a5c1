import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../bench/lib.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';

/**
 * The images, built for real (scripts/images.sh: Debian root filesystem by mmdebstrap, buildah with vfs
 * storage, OCI layout), each unpacked with `umoci unpack` and its entrypoint started from the unpacked root
 * filesystem under `chroot --userspec=1000:1000` with the image's own environment plus the settings a pod
 * gets: every function's and the site's `/healthz` answers 200, its entrypoint compiled from the V8 compile
 * cache the image ships (scripts/images.sh; Node's own debug line says so) and a function's bundle from its
 * own code cache (scripts/code-cache.ts; the start file's debug line); the migration image migrates a database
 * and the dead-letter CLI shipped in the dead-letters image lists from it. Needs root (buildah vfs, chroot,
 * umoci keeps owners); the base root filesystem and unchanged images are cached in ~/.cache/isekai/images.
 */
const env = inject('env');
const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const cache = join(
  process.env.ISEKAI_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'isekai'),
  'images',
);
const layout = join(cache, 'oci');

interface Built {
  readonly name: string;
  readonly digest: string;
  readonly megabytes: number;
}
let built: Built[] = [];
/** Images that run a Job to completion, not a server: no /healthz. */
const JOBS = ['schema-migrate', 'backup'];
let work: string;
let scratch: ScratchDatabase;

/** The runtime config umoci writes beside the unpacked root filesystem (OCI runtime spec). */
interface RuntimeConfig {
  process: { args: string[]; env: string[]; cwd: string; user: { uid: number; gid: number } };
}

async function unpack(name: string): Promise<{ rootfs: string; config: RuntimeConfig }> {
  const bundle = join(work, name);
  await run('umoci', ['unpack', '--image', `${layout}:${name}`, bundle], { maxBuffer: 16 << 20 });
  const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as RuntimeConfig;
  return { rootfs: join(bundle, 'rootfs'), config };
}

/** The image's environment (KEY=value list) with the pod's settings over it. */
function imageEnv(config: RuntimeConfig, settings: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(
    config.process.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  return { ...base, ...settings };
}

/** Start the entrypoint (with `args` after it) from the root filesystem as uid/gid 1000. */
function startChrooted(
  rootfs: string,
  config: RuntimeConfig,
  environment: Record<string, string>,
  args: string[] = [],
) {
  // The chroot binary by path: the environment given is the image's (its PATH has no /usr/sbin).
  const child = spawn('/usr/sbin/chroot', ['--userspec=1000:1000', rootfs, ...config.process.args, ...args], {
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.on('error', (error) => {
    output += `${error.message}\n`;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
}

async function waitHealthy(
  url: string,
  child: ChildProcess,
  output: () => string,
  deadlineMs: number,
): Promise<number> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`exited with ${child.exitCode} before answering:\n${output()}`);
    const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (res) => res.status,
      () => 0,
    );
    if (status !== 0) return status;
    if (Date.now() > end) throw new Error(`no answer from ${url} within ${deadlineMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  const started = performance.now();
  const { stdout, stderr } = await run('bash', [join(root, 'scripts', 'images.sh')], {
    cwd: root,
    env: { ...process.env, IMAGES_OUT: layout },
    maxBuffer: 64 << 20,
  });
  built = stdout
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [name = '', digest = '', size = ''] = line.trim().split(/\s+/);
      return { name, digest, megabytes: Number.parseInt(size, 10) };
    });
  process.stdout.write(`images.sh ${Math.round(performance.now() - started)} ms\n${stdout}${stderr}`);
  work = await mkdtemp(join(tmpdir(), 'isekai-images-'));
  scratch = await createScratchDatabase(env.DATABASE_URL ?? '', 'images');
}, 900_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  await scratch?.drop();
});

describe('images', () => {
  it('builds one image per function folder, the migration and backup Jobs and the site, each under 100 MB compressed', async () => {
    const functions = await functionFolders();
    expect(built.map((image) => image.name).sort()).toEqual(
      [...functions, 'schema-migrate', 'backup', 'site'].sort(),
    );
    for (const image of built) {
      expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(image.megabytes).toBeLessThan(100);
    }
  });

  it('starts every function and the site from its unpacked root filesystem as uid 1000: /healthz answers 200', async () => {
    const servers = built.filter((image) => !JOBS.includes(image.name)).map((image) => image.name);
    const answered: string[] = [];
    // Four at a time: unpacking is mostly waiting for the disk and for a share of a busy machine's CPU.
    const queue = [...servers];
    const worker = async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        await startOne(name);
        answered.push(name);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(answered.sort()).toEqual(servers.sort());
  }, 900_000);

  it('the migration image migrates an empty database; the dead-letter CLI in the dead-letters image lists from it', async () => {
    const empty = await createScratchDatabase(env.DATABASE_URL ?? '', 'images_empty');
    try {
      const admin = new URL(empty.url);
      const client = new (await import('pg')).default.Client({ connectionString: admin.href });
      await client.connect();
      await client.query('drop schema public cascade; create schema public');
      await client.end();
      const migrate = await unpack('schema-migrate');
      const migrated = startChrooted(
        migrate.rootfs,
        migrate.config,
        imageEnv(migrate.config, { DATABASE_URL: empty.url }),
      );
      expect(await exited(migrated.child), migrated.output()).toBe(0);
      const dead = await unpack('dead-letters');
      const cliArgs = dead.config.process.args.map((arg) => arg.replace('/app/index.mjs', '/app/cli.mjs'));
      const listed = startChrooted(
        dead.rootfs,
        { process: { ...dead.config.process, args: cliArgs } },
        imageEnv(dead.config, { DATABASE_URL: empty.url }),
        ['list', '5'],
      );
      expect(await exited(listed.child), listed.output()).toBe(0);
      const usage = startChrooted(
        dead.rootfs,
        { process: { ...dead.config.process, args: cliArgs } },
        imageEnv(dead.config, { DATABASE_URL: empty.url }),
        ['nonsense'],
      );
      expect(await exited(usage.child)).toBe(64);
      expect(usage.output()).toContain('usage: cli.ts list [n] | requeue <id>');
    } finally {
      await empty.drop();
    }
  }, 300_000);
});

/** Unpack one image, start its entrypoint chrooted as uid 1000 and expect /healthz to answer 200. */
async function startOne(name: string): Promise<void> {
  const { rootfs, config } = await unpack(name);
  expect(config.process.user, name).toMatchObject({ uid: 1000, gid: 1000 });
  const port = await freePort();
  const settings: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATABASE_URL: scratch.url,
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX ?? 'isekai:'}images:`,
    MONGO_URL: env.MONGO_URL ?? '',
    S3_ENDPOINT: env.S3_ENDPOINT ?? '',
    S3_REGION: env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID ?? '',
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY ?? '',
    SUBTITLE_BUCKET: 'isekai-images-test',
    BACKUP_BUCKET: 'isekai-images-test',
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: 'isekai-api',
    K_SINK: `http://127.0.0.1:${await freePort()}/`,
    // The site's settings (site/src/lib/settings.ts).
    SITE_ORIGIN: 'https://isekai.localhost',
    API_BASE_URL: `http://127.0.0.1:${await freePort()}`,
    OIDC_CLIENT_SECRET: 'images-test',
    // Node says whether the compile cache shipped in the image's last layer was used (scripts/images.sh).
    NODE_DEBUG_NATIVE: 'COMPILE_CACHE',
    // …and a function's start file whether its bundle's own code cache was (scripts/code-cache.ts).
    NODE_DEBUG: 'isekai',
  };
  const { child, output } = startChrooted(rootfs, config, imageEnv(config, settings));
  try {
    const status = await waitHealthy(`http://127.0.0.1:${port}/healthz`, child, output, 60_000);
    expect(status, `${name}: ${output()}`).toBe(200);
    const entry = config.process.args.at(-1) ?? '';
    expect(output(), `${name}: the compile cache in the image is used`).toContain(
      `V8 code cache for ESM file://${entry} was accepted`,
    );
    if (name !== 'site')
      expect(output(), `${name}: the bundle's code cache in the image is used`).toContain(
        'V8 code cache for /app/app.js was accepted',
      );
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    await rm(join(work, name), { recursive: true, force: true });
  }
}

async function functionFolders(): Promise<string[]> {
  const { functionNames } = await import('../../scripts/build.ts');
  return functionNames();
}
