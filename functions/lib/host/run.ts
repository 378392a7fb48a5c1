import { pathToFileURL } from 'node:url';
import { IsekaiError } from '../errors.ts';
import { runtimes } from '../runtime.ts';
import { createHostServer } from './server.ts';

export interface RunOptions {
  readonly target: string;
  /** Module that registers the function; omitted when it is bundled with the host. */
  readonly source?: string | undefined;
  readonly port: number;
  readonly host?: string;
}

/**
 * Load a function module, serve it on the lean host, and shut down cleanly on SIGTERM/SIGINT (Knative
 * sends SIGTERM and waits `terminationGracePeriodSeconds`).
 */
export async function runHost(options: RunOptions): Promise<void> {
  if (options.source) await import(pathToFileURL(options.source).href);
  const server = createHostServer({ target: options.target });
  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '0.0.0.0', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  process.stdout.write(
    `${JSON.stringify({ level: 'info', msg: 'serving', target: options.target, port })}\n`,
  );
  const stop = () => {
    // Finish in-flight requests, then flush spans and close pools; Knative waits for us.
    server.close(() => {
      Promise.all([...runtimes].map((r) => r.shutdown())).finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * Report a failed start as one JSON line naming the problem, and exit: 78 (EX_CONFIG) for bad settings,
 * 1 otherwise. Knative shows the line in the revision's status and retries the pod.
 */
export function exitOnStartupError(error: unknown): never {
  const code = error instanceof IsekaiError ? error.code : 'internal';
  const issues = error instanceof IsekaiError ? error.issues : [];
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', code, msg: `start-up failed: ${message}`, issues })}\n`,
  );
  process.exit(code === 'config_invalid' ? 78 : 1);
}
