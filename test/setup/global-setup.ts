import type { TestProject } from 'vitest/node';
import { migrate } from '../../functions/lib/data/migrate.ts';
import { startMachineServices } from '../../scripts/servers/machine-services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection settings for every real server, as environment variables for functions. */
    env: Record<string, string>;
  }
}

interface Running {
  env: Record<string, string>;
  users: number;
  stop: () => Promise<void>;
}

/**
 * Start (or join) every real server the integration and e2e projects need, once per vitest process
 * even though both projects list this file, and give them back when the last project finishes: the machine
 * services lose this run's database, vhost and keys; the shared servers (Ceph RGW, mongo-wire, Zipkin,
 * Keycloak) lose this run's lease and stop only when no other user — another `npm test`, an `npm start`
 * stack — still holds one (scripts/servers/shared-server.ts).
 */
const shared = globalThis as { __isekaiServers?: Promise<Running> };

async function startAll(): Promise<Running> {
  const started = performance.now();
  // The machine services and the shared servers need nothing of one another: they start together.
  const machine = (async () => {
    const services = await startMachineServices();
    // The run's database gets the schema once, before any test file starts (files may migrate again: a no-op).
    const applied = await migrate(services.env.DATABASE_URL ?? '').catch(async (error: unknown) => {
      await services.stop();
      throw error;
    });
    process.stdout.write(`[harness] migrations applied: ${applied.length}\n`);
    return services;
  })();
  const servers = await Promise.allSettled([
    machine,
    ...['ceph-rgw', 'mongo-wire', 'zipkin', 'keycloak'].map(async (name) => {
      const mod = (await import(`../../scripts/servers/${name}.ts`)) as {
        start: () => Promise<{ env: Record<string, string>; stop: () => Promise<void> }>;
      };
      return mod.start();
    }),
  ]);
  const env: Record<string, string> = {};
  const stops: (() => Promise<void>)[] = [];
  const failures: string[] = [];
  for (const result of servers) {
    if (result.status === 'fulfilled') {
      Object.assign(env, result.value.env);
      stops.push(result.value.stop);
    } else failures.push(String(result.reason));
  }
  const stop = async () => {
    for (const s of stops.reverse())
      await s().catch((e: unknown) => process.stderr.write(`[harness] stop failed: ${e}\n`));
  };
  if (failures.length > 0) {
    await stop();
    throw new Error(`[harness] servers failed to start:\n${failures.join('\n')}`);
  }
  process.stdout.write(`[harness] all servers ready in ${Math.round(performance.now() - started)} ms\n`);
  return { env, users: 0, stop };
}

export default async function setup(project: TestProject) {
  shared.__isekaiServers ??= startAll();
  const running = await shared.__isekaiServers;
  running.users += 1;
  project.provide('env', running.env);
  return async () => {
    running.users -= 1;
    if (running.users === 0) {
      shared.__isekaiServers = undefined;
      await running.stop();
    }
  };
}
