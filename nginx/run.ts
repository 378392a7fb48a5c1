/**
 * Run a rendered edge on this machine (tests, benchmarks, the local stack): a self-signed certificate,
 * the config under a prefix folder, `nginx -p <prefix> -c <conf>` in the foreground as our child.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type EdgeOptions, PREFIX_DIRS, renderEdgeConfig } from './render.ts';

const run = promisify(execFile);

/** The nginx binary: $NGINX_BIN, or the Debian package's. */
export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** Whether nginx and its njs module are installed here. */
export function nginxInstalled(jsModule = '/usr/lib/nginx/modules/ngx_http_js_module.so'): boolean {
  return existsSync(NGINX_BIN) && existsSync(jsModule);
}

/**
 * A self-signed certificate for `<domain>` and `*.<domain>` in `dir` (made once, reused while present).
 * @example const tls = await selfSignedCert('.tmp/nginx-edge', 'isekai.localhost');
 */
export async function selfSignedCert(
  dir: string,
  domain: string,
): Promise<{ certificate: string; key: string; pem: string }> {
  await mkdir(dir, { recursive: true });
  const certificate = join(dir, 'edge.crt');
  const key = join(dir, 'edge.key');
  if (!existsSync(certificate) || !existsSync(key)) {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '30',
      '-subj',
      `/CN=${domain}`,
      '-addext',
      `subjectAltName=DNS:${domain},DNS:*.${domain}`,
      '-keyout',
      key,
      '-out',
      certificate,
    ]);
  }
  return { certificate, key, pem: await readFile(certificate, 'utf8') };
}

/** Write the config and the folders it needs; returns the config path. */
export async function writeEdgeConfig(options: EdgeOptions): Promise<string> {
  for (const dir of PREFIX_DIRS) await mkdir(join(options.prefix, dir), { recursive: true });
  const conf = join(options.prefix, 'nginx.conf');
  await writeFile(conf, renderEdgeConfig(options));
  return conf;
}

/** `nginx -t` on a config; resolves with nginx's output, rejects with it on failure. */
export async function testConfig(prefix: string, conf: string): Promise<string> {
  try {
    const { stderr } = await run(NGINX_BIN, ['-t', '-p', prefix, '-c', conf]);
    return stderr;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`nginx -t failed for ${conf}:\n${e.stderr ?? e.message}`);
  }
}

export interface RunningEdge {
  readonly child: ChildProcess;
  readonly prefix: string;
  readonly accessLog: string;
  stop(): Promise<void>;
}

/**
 * Start nginx in the foreground on a rendered config and wait until the plain port answers /healthz.
 * `cpu` pins it to one core (benchmarks).
 */
export async function startEdge(options: EdgeOptions, extra: { cpu?: number } = {}): Promise<RunningEdge> {
  const conf = await writeEdgeConfig(options);
  await testConfig(options.prefix, conf);
  const argv = [NGINX_BIN, '-p', options.prefix, '-c', conf, '-g', 'daemon off;'];
  const full = extra.cpu === undefined ? argv : ['taskset', '-c', String(extra.cpu), ...argv];
  const child = spawn(full[0] ?? NGINX_BIN, full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const health = `http://${options.listen.address ?? '127.0.0.1'}:${options.listen.http}/healthz`;
  const pidFile = join(options.prefix, 'nginx.pid');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}`);
    // Ours only once its master wrote the pid file (nginx does so after binding every port): /healthz alone
    // can be answered by another nginx still holding the ports (e.g. the orphaned workers of a killed
    // master), while ours fails to bind and exits.
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    try {
      const res = await fetch(health, { signal: AbortSignal.timeout(500) });
      await res.arrayBuffer();
      if (res.ok && pid === child.pid) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not answer ${health} within 10 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    prefix: options.prefix,
    accessLog: join(options.logs ?? join(options.prefix, 'logs'), 'access.log'),
    stop: () => stopNginx(child),
  };
}

/** Stops an nginx master: QUIT (graceful: workers finish their requests), TERM after 5 s; resolves at its exit. */
export function stopNginx(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGQUIT');
    setTimeout(() => child.kill('SIGTERM'), 5_000).unref();
  });
}
