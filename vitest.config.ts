import { defineConfig } from 'vitest/config';

/**
 * Three projects:
 * - unit: pure modules, beside the code (`*.test.ts`), no network;
 * - integration: real servers (PostgreSQL, Redis, RabbitMQ, Ceph RGW, MongoDB wire server, Zipkin, …)
 *   started or reused by `test/setup/global-setup.ts`;
 * - e2e: whole flows across several functions (same servers).
 * The plain reporter ends every run with `N passed, N failed, N skipped` for CI.
 *
 * Scheduling: Vitest runs the projects of one `sequence.groupOrder` together only when their `maxWorkers`
 * agree, and puts every project with one worker (the default on 2 cores is cores − 1 = 1) in a last group
 * that runs its files one at a time. Unit therefore names the same 2 workers as integration: the two share
 * them (both cores busy), and e2e, one file at a time on purpose, runs after them.
 */
export default defineConfig({
  test: {
    reporters: ['default', './test/setup/plain-summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'functions/**/*.test.ts',
            'api/**/*.test.ts',
            'nginx/**/*.test.ts',
            'events/**/*.test.ts',
            'scripts/**/*.test.ts',
            'test/setup/**/*.test.ts',
            'site/src/**/*.test.ts',
            'bench/**/*.test.ts',
          ],
          environment: 'node',
          // Some of these spawn real tools (kubectl kustomize, promtool, nginx -t, esbuild) or real servers on
          // private ports (scripts/servers/shared-server.test.ts, scripts/stack/mongo-shared.test.ts): 5 s (vitest's
          // default) timed out at load average 13 with nothing wrong.
          testTimeout: 30_000,
          // As integration's (see above): with the default (1 on 2 cores) unit files ran one at a time, after
          // the integration files, leaving a core idle for the whole unit project.
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['./test/setup/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['./test/setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
