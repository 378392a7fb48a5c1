/**
 * `npm start`: the whole platform on one machine. Each function runs as its own process (the lean host
 * production uses; `ISEKAI_FUNCTION_HOST=framework` runs the functions-framework CLI instead), on
 * embedded defaults where an embedded engine serves, or on real services named by environment variables:
 *
 * | service     | variable set → used as is          | otherwise (embedded)                         |
 * |-------------|------------------------------------|----------------------------------------------|
 * | PostgreSQL  | DATABASE_URL                       | PGlite behind pglite-socket (.data/postgres) |
 * | S3          | S3_ENDPOINT (+ keys)               | s3rver in process (.data/s3)                 |
 * | Redis       | REDIS_URL                          | the machine's on :6379, else none            |
 * | MongoDB     | MONGO_URL                          | the machine's shared mongo-java-server (Java) |
 * | RabbitMQ    | AMQP_URL                           | the machine's on :5672, else outbox only     |
 * | identity    | OIDC_ISSUER (a real Keycloak)      | oidc-provider serving the realm export       |
 * | Identity    | OIDC_ISSUER (a Keycloak realm)     | oidc-provider shaped like the realm export   |
 *
 * Waits for every /healthz, prints the URLs, and stops everything on Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { importSeedCatalog } from '../functions/catalog/seed.ts';
import { migrate } from '../functions/lib/data/migrate.ts';
import { frameworkFile } from '../functions/lib/host/framework-files.ts';
import { nginxInstalled as edgeAvailable } from '../nginx/run.ts';
import { functionNames } from './build.ts';
import { startLocalBroker } from './stack/broker/local.ts';
import { startEmbeddedPostgres } from './stack/embedded-postgres.ts';
import { startEmbeddedS3 } from './stack/embedded-s3.ts';
import { startStackMongo } from './stack/mongo.ts';
import { startEdge } from './stack/nginx.ts';
import { describeDevAccounts, startEmbeddedOidc } from './stack/oidc/index.ts';
import { startPingSources } from './stack/ping-sources.ts';
import { functionPort, PORTS } from './stack/ports.ts';
import { type Proc, StartFailure, startProcess, waitHealthy } from './stack/processes.ts';
import { redact } from './stack/redact.ts';
import { buildSiteIfNeeded, startSite } from './stack/site.ts';

const root = new URL('..', import.meta.url).pathname;
const data = join(root, '.data');
const useFramework = process.env.ISEKAI_FUNCTION_HOST === 'framework';
/** How long each function may take to answer /healthz (a busy 2-core machine needs far more than 30 s). */
const startTimeoutS = Number(process.env.ISEKAI_START_TIMEOUT_S ?? 180);
if (!Number.isFinite(startTimeoutS) || startTimeoutS <= 0) {
  process.stderr.write(
    `[isekai] ISEKAI_START_TIMEOUT_S must be a positive number of seconds, got "${process.env.ISEKAI_START_TIMEOUT_S}"\n`,
  );
  process.exit(78);
}
const stops: (() => Promise<unknown>)[] = [];
const lines: string[] = [];
const say = (line: string) => process.stdout.write(`[isekai] ${line}\n`);

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  const started = Date.now();
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  say(`stopped in ${Date.now() - started} ms`);
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
// With npm gone our stdout may be a closed pipe: a write error must not kill us before we stop the rest.
process.stdout.on('error', () => undefined);
// `kill <npm pid>` ends npm but not this script (npm does not pass SIGTERM on to it): when our parent goes
// away, stop everything too instead of serving on as an orphan.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown(0);
}, 1_000).unref();

try {
  const env: Record<string, string> = { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };

  if (process.env.DATABASE_URL) {
    env.DATABASE_URL = process.env.DATABASE_URL;
    lines.push(`PostgreSQL   ${redact(env.DATABASE_URL)} (from DATABASE_URL)`);
  } else {
    const pg = await startEmbeddedPostgres(join(data, 'postgres'), PORTS.postgres);
    stops.push(pg.stop);
    env.DATABASE_URL = pg.url;
    lines.push(`PostgreSQL   ${pg.url} (embedded PGlite, data in .data/postgres)`);
  }
  const applied = await migrate(env.DATABASE_URL);
  say(`migrations: ${applied.length === 0 ? 'up to date' : applied.join(', ')}`);
  const seed = await importSeedCatalog(env.DATABASE_URL);
  say(`seed catalogue: ${seed.total} anime (${seed.inserted} new, ${seed.updated} updated)`);

  if (process.env.S3_ENDPOINT) {
    for (const key of ['S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'])
      env[key] = process.env[key] ?? '';
    lines.push(`S3           ${env.S3_ENDPOINT} (from S3_ENDPOINT)`);
  } else {
    const s3 = await startEmbeddedS3(join(data, 's3'), PORTS.s3, ['isekai-subtitles', 'isekai-backups']);
    stops.push(s3.stop);
    Object.assign(env, s3.env);
    lines.push(`S3           ${s3.env.S3_ENDPOINT} (embedded s3rver, data in .data/s3)`);
  }
  // Redis: REDIS_URL, else the machine's own on its default port when one answers (keys under
  // isekai:dev:), else none — catalog reads then go to PostgreSQL and live notifications are off.
  if (process.env.REDIS_URL) {
    env.REDIS_URL = process.env.REDIS_URL;
    lines.push(`Redis        ${redact(env.REDIS_URL)} (from REDIS_URL)`);
  } else if (await tcpOpen(6379)) {
    env.REDIS_URL = 'redis://127.0.0.1:6379';
    env.REDIS_KEY_PREFIX = `isekai:dev:${PORTS.edge}:`;
    lines.push(
      `Redis        redis://127.0.0.1:6379 (found on this machine; keys under ${env.REDIS_KEY_PREFIX})`,
    );
  } else lines.push('Redis        none (set REDIS_URL: catalog cache and live notifications are off)');
  // MongoDB (subtitle metadata, inboxes): MONGO_URL, else the machine's shared MongoDB wire server.
  const mongo = await startStackMongo(PORTS.edge, say);
  stops.push(mongo.stop);
  Object.assign(env, mongo.env);
  lines.push(mongo.line);
  for (const key of ['ZIPKIN_URL', 'OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_JWKS_URL', 'K_SINK']) {
    const value = process.env[key];
    if (value) env[key] = value;
  }
  let devAccounts = '';
  if (env.OIDC_ISSUER) lines.push(`Identity     ${env.OIDC_ISSUER} (from OIDC_ISSUER)`);
  else {
    const keycloak = join(root, 'knative/base/keycloak');
    const oidc = await startEmbeddedOidc({
      port: PORTS.oidc,
      realmFile: join(keycloak, 'realm-isekai.json'),
      overlayFile: join(keycloak, 'realm-isekai.dev-overlay.json'),
      dataDir: join(data, 'oidc'),
      siteOrigin: `https://isekai.localhost:${PORTS.edge}`,
    });
    stops.push(oidc.stop);
    env.OIDC_ISSUER = oidc.issuer;
    lines.push(`Identity     ${oidc.issuer} (embedded, Keycloak-shaped; key in .data/oidc)`);
    devAccounts = `${describeDevAccounts(oidc)}\n\n`;
  }

  // RabbitMQ: AMQP_URL, else the machine's own on its default port when one answers, else no broker
  // (producers keep their events in the outbox; outbox-relay publishes them once a broker exists).
  const amqpUrl = process.env.AMQP_URL ?? ((await tcpOpen(5672)) ? await machineRabbitVhost() : undefined);
  const broker = await startLocalBroker({ amqpUrl, port: PORTS.broker, functionPort });
  stops.push(broker.stop);
  env.K_SINK ??= broker.ingressUrl;
  lines.push(
    `Broker       ${broker.ingressUrl} (${broker.mode === 'rabbitmq' ? `RabbitMQ at ${redact(amqpUrl ?? '')}` : 'no RabbitMQ: set AMQP_URL; events wait in the outbox'})`,
  );

  const procs: Proc[] = [];
  const names = await functionNames();
  names.forEach((name, index) => {
    const port = functionPort(name);
    const source = join(root, 'functions', name, 'index.ts');
    const command = useFramework
      ? [
          process.execPath,
          frameworkFile('main.js'),
          `--source=${source}`,
          `--target=${name}`,
          `--port=${port}`,
        ]
      : [
          process.execPath,
          join(root, 'functions/lib/host/main.ts'),
          `--source=${source}`,
          `--target=${name}`,
          `--port=${port}`,
          '--host=127.0.0.1',
        ];
    const proc = startProcess(name, command, { ...env, K_SERVICE: name, PORT: String(port) }, index);
    procs.push(proc);
    stops.push(proc.stop);
  });
  await Promise.all(
    procs.map(async (proc) => {
      // functions-framework serves CloudEvent functions on POST only: any answer means it is up.
      const ms = await waitHealthy(
        `http://127.0.0.1:${functionPort(proc.name)}/healthz`,
        proc,
        startTimeoutS * 1000,
        useFramework,
      );
      lines.push(
        `${proc.name.padEnd(18)} http://127.0.0.1:${functionPort(proc.name)}  (healthy in ${ms} ms)`,
      );
    }),
  );

  // The PingSources of knative/base, as in the cluster: outbox-relay relays the PostgreSQL outbox and the
  // subtitle documents' pending events every minute, notify sends due mail, library-backup runs weekly.
  const pings = startPingSources({
    functionPort,
    services: names,
    onTick: (tick) => {
      if (tick.error !== undefined || (tick.status ?? 500) >= 300)
        say(`PingSource ${tick.source}: ${tick.status ?? String(tick.error)}`);
    },
  });
  stops.push(pings.stop);
  lines.push(`PingSources  ${pings.lines.join('; ')}`);

  // The edge: nginx in front of the functions (TLS, auth_request to edge-auth, limits), when installed.
  // The site is built now (a few seconds when its sources changed) and started once the edge exists.
  const siteBuild = edgeAvailable() ? await buildSiteIfNeeded() : undefined;
  if (siteBuild) say(`site: ${siteBuild}`);
  const edge = await startEdge({
    functionPorts: Object.fromEntries(names.map((name) => [name, functionPort(name)])),
    oidcUrl: env.OIDC_ISSUER,
    port: PORTS.edge,
    sitePort: PORTS.site,
  });
  if (edge) {
    stops.push(edge.stop);
    lines.push(`Edge (nginx) ${edge.url} → functions; ${edge.siteUrl}; self-signed cert ${edge.certificate}`);
    lines.push(
      `             curl --cacert ${edge.certificate} --resolve api.isekai.localhost:${PORTS.edge}:127.0.0.1 '${edge.url}/anime?q=frieren'`,
    );
    // The site: a client of the API through the edge, signing in with the realm's isekai-site client.
    const site = await startSite(
      PORTS.site,
      {
        SITE_ORIGIN: edge.siteUrl,
        API_BASE_URL: edge.url,
        API_CA_FILE: edge.certificate,
        OIDC_ISSUER: env.OIDC_ISSUER,
        OIDC_CLIENT_SECRET: process.env.KC_ISEKAI_SITE_SECRET ?? 'dev-only-isekai-site-secret',
        REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        SESSION_KEY_PREFIX: `${env.REDIS_KEY_PREFIX ?? 'isekai:'}site:session:`,
      },
      { deadlineMs: startTimeoutS * 1000 },
    );
    stops.push(site.stop);
    lines.push(
      `Site         ${edge.siteUrl}/  (Astro on http://127.0.0.1:${PORTS.site}, healthy in ${site.ms} ms; sign in as viewer1)`,
    );
  } else
    lines.push(
      'Edge         nginx not installed (scripts/install-deps.sh installs it); call the functions directly',
    );

  process.stdout.write(
    `\nIsekai is running (${useFramework ? 'functions-framework' : 'lean host'}):\n  ${lines.join('\n  ')}\n\n${devAccounts}Ctrl-C stops everything.\n`,
  );
} catch (error) {
  const report =
    error instanceof StartFailure ? error.describe() : error instanceof Error ? error.stack : String(error);
  process.stderr.write(`\n[isekai] start failed: ${report}\n`);
  await shutdown(1);
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 300 });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * The machine's RabbitMQ, on a vhost of this stack's own (`isekai-dev-<edge port>`), so two stacks on other
 * ISEKAI_PORT_BASEs never take each other's events from same-named queues. Creating a vhost needs
 * rabbitmqctl (root or the rabbitmq user); without it the default vhost is shared.
 */
async function machineRabbitVhost(): Promise<string> {
  const vhost = `isekai-dev-${PORTS.edge}`;
  const run = promisify(execFile);
  try {
    await run('rabbitmqctl', ['-q', 'add_vhost', vhost]).catch((error: { stderr?: string }) => {
      if (!/already exists|vhost_already_exists/.test(String(error.stderr))) throw error;
    });
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    return `amqp://guest:guest@127.0.0.1:5672/${vhost}`;
  } catch {
    say(`rabbitmqctl could not create vhost ${vhost}: using the default vhost (shared with other stacks)`);
    return 'amqp://guest:guest@127.0.0.1:5672';
  }
}
