/**
 * The edge's floor: nginx doing only what any TLS reverse proxy in front of a function must do — TLS
 * termination (the edge's protocols, ciphers, session cache and certificate), HTTP/1.1 keep-alive to the
 * upstream (`keepalive 64`, as the edge's function upstreams), `proxy_pass`. No access log, no
 * auth_request, no limits, no maps, no added headers; every client header forwarded as is (so a bearer
 * token costs its bytes in and out, as it does behind any proxy). One worker, pinned like the edge.
 *
 * It answers "what is nginx's own work costing?" beside the "what does the hop cost?": the
 * issue's floor (the upstream alone) pays neither TLS nor a second TCP hop on the upstream's core.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { NGINX_BIN, stopNginx } from '../nginx/run.ts';

export interface FloorProxy {
  readonly port: number;
  stop(): Promise<void>;
}

/** nginx.conf of the floor (exported for its test: `nginx -t` accepts it). */
export function floorConfig(o: {
  prefix: string;
  port: number;
  upstreamPort: number;
  certificate: string;
  key: string;
}): string {
  return `worker_processes 1;
pid ${join(o.prefix, 'nginx.pid')};
error_log ${join(o.prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_timeout 65s;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
  ssl_prefer_server_ciphers off;
  ssl_session_cache shared:SSL:10m;
  ssl_session_timeout 1d;
  ssl_session_tickets off;
  upstream echo {
    server 127.0.0.1:${o.upstreamPort};
    keepalive 64;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:${o.port} ssl http2;
    ssl_certificate ${o.certificate};
    ssl_certificate_key ${o.key};
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://echo;
    }
  }
}
`;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** Starts the floor proxy on `port` in `prefix`, pinned to `cpu`; resolves once it accepts connections. */
export async function startFloorProxy(o: {
  prefix: string;
  port: number;
  upstreamPort: number;
  certificate: string;
  key: string;
  cpu: number;
}): Promise<FloorProxy> {
  await mkdir(o.prefix, { recursive: true });
  const conf = join(o.prefix, 'floor.conf');
  await writeFile(conf, floorConfig(o));
  const child = spawn(
    'taskset',
    ['-c', String(o.cpu), NGINX_BIN, '-p', o.prefix, '-c', conf, '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!(await listening(o.port))) {
    if (child.exitCode !== null) throw new Error(`floor nginx exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`floor nginx did not listen on ${o.port} within 10 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port: o.port,
    stop: () => stopNginx(child),
  };
}
