/**
 * Ramp (issue 17): the maximum load of the read path and of the write path, found by raising an
 * open-loop rate step by step through the edge until the platform no longer keeps up (answered < 90 % of
 * offered, any error, or p99 over 1 s): throughput vs p99 per step, the highest throughput, the highest with
 * p99 ≤ 100 ms, and the first offered rate whose p99 passed 100 ms.
 * - read: `GET /anime/{id}` (¾) and `GET /anime?sort=score&page=n` (¼), anonymous (catalog, Redis cache);
 * - write: `PUT /anime/{id}/rating` by 200 users (rate-anime: one transaction with aggregates and outbox).
 * `npm run bench ramp` (`--step-seconds 10`). Never part of `npm test`.
 */
import { ramp, startMixedStack, userTokens, workloads } from './mixed.ts';
import { flag } from './soak.ts';

export async function run(options: { quick: boolean }) {
  const stepSeconds = Number(flag('step-seconds') ?? (options.quick ? 5 : 10));
  const stack = await startMixedStack('ramp');
  try {
    const tokens = await userTokens(stack, 200);
    const { read, write } = workloads(stack, tokens);
    // Warm the caches and connections once.
    await ramp(stack, read, { label: 'warm', rates: [50], stepSeconds: 3 });
    process.stdout.write('read path:\n');
    const readRamp = await ramp(stack, read, {
      label: 'read',
      rates: [50, 100, 200, 300, 400, 600, 800, 1000, 1200, 1600, 2000, 2500, 3000],
      stepSeconds,
    });
    process.stdout.write('write path:\n');
    const writeRamp = await ramp(stack, write, {
      label: 'write',
      rates: [10, 25, 50, 100, 150, 200, 300, 400, 600, 800, 1000],
      stepSeconds,
    });
    for (const [name, r] of [
      ['read', readRamp],
      ['write', writeRamp],
    ] as const)
      process.stdout.write(
        `${name}: max ${r.maxRps.toFixed(0)} req/s; max with p99 ≤ 100 ms ${r.maxRpsWithinP99_100.toFixed(0)} req/s; p99 first over 100 ms at ${r.p99Over100At ?? '(never within the ramp)'} req/s offered\n`,
      );
    return { stepSeconds, read: readRamp, write: writeRamp };
  } finally {
    await stack.stop();
  }
}
