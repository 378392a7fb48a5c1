import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../../scripts/servers/harness.ts';

/**
 * A TCP proxy in front of a shared server, for outage tests that must not stop the server itself (other
 * test files use it): `cut()` resets every open connection and stops listening, so clients see exactly
 * what they see when the server dies (connection reset, then connection refused); `restore()` listens again
 * on the same port. The data behind it is untouched, so "nothing lost" can be checked after recovery.
 */
export interface TcpProxy {
  readonly port: number;
  /** `host:port` of the proxy (127.0.0.1). */
  readonly address: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async () => {
    const s = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      sockets.add(client);
      sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    server = s;
  };
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    if (s) await new Promise((resolve) => s.close(resolve));
  };
  await listen();
  return {
    port,
    address: `127.0.0.1:${port}`,
    cut,
    restore: async () => {
      if (!server) await listen();
    },
    close: cut,
  };
}
