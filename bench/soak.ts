/**
 * Soak (issue 17): the mixed workload of real users through the edge — 80 % catalog reads, 10 % list
 * updates, 5 % ratings, 5 % subtitle search/download, with live notification streams open — at half the
 * measured maximum for `--minutes` (default 10). Reports errors (0 required), p99 per minute, the RSS of
 * every process of the platform sampled every 5 s with its growth after warm-up (< 10 % required), and
 * writes bench/results/soak-<time>.svg (throughput, p50/p99 and RSS over time) beside the JSON.
 *
 * `npm run bench soak -- --minutes 3` · `--rate 120` skips the ramp that measures the maximum ·
 * `--streams 20` live SSE streams (default 20). Never part of `npm test`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Interval, openLoop, ramp, startMixedStack, userTokens, workloads } from './mixed.ts';
import { lineChart } from './svg.ts';

const root = new URL('..', import.meta.url).pathname;

/** `--name value` or `--name=value` from the command line. */
export function flag(name: string): string | undefined {
  const args = process.argv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] ?? 0);
};

/** One process's RSS over the soak, MiB; growth in % (one decimal). */
export interface RssGrowth {
  /** Median of the 30 s right after warm-up, and of the last three samples (the old point-to-point view). */
  afterWarmupMiB: number;
  endMiB: number;
  pointGrowthPercent: number;
  /** Highest sample in the first and in the second half of the time after warm-up. */
  firstHalfPeakMiB: number;
  secondHalfPeakMiB: number;
  /** The verdict's figure: second-half peak over first-half peak. */
  growthPercent: number;
}

/**
 * RSS growth of process `name` after `warmupS` seconds, from samples `{ t (s), kib: { [name]: KiB } }`.
 * Judged on the peaks of the two halves of the time after warm-up, not on two single samples: a Node
 * process's RSS is a saw-tooth (the heap grows until a major GC, which here came every ~3 min at 300 req/s),
 * so a sample taken just after a collection against one taken before the next read as +57 % with no leak
 * (subtitles, soak of 30 Nov 19:47). A leak raises every peak; a saw-tooth does not.
 */
export function rssGrowth(
  samples: readonly { t: number; kib: Record<string, number> }[],
  name: string,
  warmupS: number,
): RssGrowth {
  const after = samples.filter((s) => s.t >= warmupS);
  const kib = (s: { kib: Record<string, number> }) => s.kib[name] ?? 0;
  const base = median(after.filter((s) => s.t < warmupS + 30).map(kib));
  const end = median(samples.slice(-3).map(kib));
  const lastT = after.at(-1)?.t ?? warmupS;
  const middle = warmupS + (lastT - warmupS) / 2;
  const firstPeak = Math.max(0, ...after.filter((s) => s.t < middle).map(kib));
  const secondPeak = Math.max(0, ...after.filter((s) => s.t >= middle).map(kib));
  const percent = (from: number, to: number) =>
    Number((from > 0 ? ((to - from) / from) * 100 : 0).toFixed(1));
  const mib = (k: number) => Number((k / 1024).toFixed(1));
  return {
    afterWarmupMiB: mib(base),
    endMiB: mib(end),
    pointGrowthPercent: percent(base, end),
    firstHalfPeakMiB: mib(firstPeak),
    secondHalfPeakMiB: mib(secondPeak),
    growthPercent: percent(firstPeak, secondPeak),
  };
}

export async function run(options: { quick: boolean }) {
  const minutes = Number(flag('minutes') ?? (options.quick ? 2 : 10));
  const streamsWanted = Number(flag('streams') ?? 20);
  const stack = await startMixedStack('soak');
  try {
    const tokens = await userTokens(stack, 200);
    const { mixed } = workloads(stack, tokens);

    let rate = Number(flag('rate') ?? 0);
    let rampResult: Awaited<ReturnType<typeof ramp>> | undefined;
    if (!rate) {
      process.stdout.write('ramp of the mixed workload (the maximum the soak takes half of):\n');
      rampResult = await ramp(stack, mixed, {
        label: 'mixed',
        rates: [25, 50, 100, 150, 200, 300, 400, 600, 800, 1200],
        stepSeconds: options.quick ? 5 : 10,
      });
      rate = Math.max(5, Math.round(rampResult.maxRps / 2));
    }

    const streams = await Promise.all(
      Array.from({ length: streamsWanted }, (_, i) => stack.openStream(tokens[i % tokens.length] ?? '')),
    );
    const processes = await stack.processes();
    const seconds = minutes * 60;
    const warmupS = Math.min(60, seconds / 4);
    process.stdout.write(
      `\nsoak: ${rate} req/s for ${minutes} min (warm-up ${warmupS} s), ${streams.length} live streams, ${processes.length} processes sampled\n`,
    );
    const t0 = performance.now();
    const rss: { t: number; kib: Record<string, number> }[] = [];
    const sample = async () => {
      const kib: Record<string, number> = {};
      for (const p of processes) kib[p.name] = await rssKiB(p.pid);
      rss.push({ t: Number(((performance.now() - t0) / 1000).toFixed(1)), kib });
    };
    await sample();
    const sampler = setInterval(() => void sample(), 5_000);
    const result = await openLoop(stack, mixed, {
      rate,
      seconds,
      intervalS: 10,
      onInterval: (i: Interval) =>
        process.stdout.write(
          `  t=${String(Math.round(i.t)).padStart(4)} s  ${i.rps.toFixed(0).padStart(5)} req/s  p50 ${i.p50Ms.toFixed(1).padStart(6)} ms  p99 ${i.p99Ms.toFixed(1).padStart(7)} ms  errors ${i.errors}\n`,
        ),
    });
    clearInterval(sampler);
    await sample();
    const streamsDropped = streams.filter((s) => !s.open()).length;
    for (const s of streams) s.close();

    const growth: Record<string, RssGrowth> = {};
    for (const p of processes) growth[p.name] = rssGrowth(rss, p.name, warmupS);
    const errors = result.total.errors + streamsDropped;
    // The verdict covers the platform: not the load generator (it keeps every latency), nor a process that
    // ended by design during the run (nginx's cache loader exits after its first pass).
    const judged = Object.entries(growth).filter(
      ([name, g]) => !name.startsWith('load generator') && g.endMiB > 0,
    );
    const worstGrowth = Math.max(...judged.map(([, g]) => g.growthPercent));

    process.stdout.write('\np99 per minute:\n');
    for (const m of result.minutes)
      process.stdout.write(
        `  minute ${String(m.t / 60).padStart(2)}  ${m.rps.toFixed(0).padStart(5)} req/s  p50 ${m.p50Ms.toFixed(1).padStart(6)} ms  p99 ${m.p99Ms.toFixed(1).padStart(7)} ms  errors ${m.errors}\n`,
      );
    process.stdout.write(
      '\nRSS after warm-up: peak of the first half → peak of the second half (growth, judged); first sample → last\n',
    );
    const signed = (x: number) => `${x >= 0 ? '+' : ''}${x}`;
    for (const [name, g] of Object.entries(growth))
      process.stdout.write(
        `  ${name.padEnd(32)} ${g.firstHalfPeakMiB.toFixed(1).padStart(7)} MiB → ${g.secondHalfPeakMiB.toFixed(1).padStart(7)} MiB  ${signed(g.growthPercent).padStart(6)} %   (${g.afterWarmupMiB.toFixed(1)} → ${g.endMiB.toFixed(1)} MiB, ${signed(g.pointGrowthPercent)} %)${g.endMiB === 0 ? '  (exited by design)' : g.growthPercent >= 10 ? '  ← over 10 %' : ''}\n`,
      );
    process.stdout.write(
      `\ntotal: ${result.total.completed} answered, ${errors} errors (${JSON.stringify(result.total.statuses)}; streams dropped ${streamsDropped}), p99 ${result.total.p99Ms} ms; worst RSS growth ${worstGrowth} % → ${errors === 0 && worstGrowth < 10 ? 'PASS' : 'FAIL'}\n`,
    );

    await mkdir(join(root, 'bench/results'), { recursive: true });
    const svgFile = join(root, 'bench/results', `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.svg`);
    const svg = lineChart(
      `Soak: mixed workload through the edge at ${rate} req/s, ${minutes} min, ${streams.length} live streams`,
      'seconds since start',
      [
        {
          title: 'throughput (10 s intervals)',
          unit: 'req/s',
          series: [{ name: 'answered', points: result.intervals.map((i) => [i.t, i.rps] as const) }],
        },
        {
          title: 'latency (10 s intervals)',
          unit: 'ms',
          reference: { y: 100, label: 'p99 budget 100 ms' },
          series: [
            { name: 'p99', points: result.intervals.map((i) => [i.t, i.p99Ms] as const) },
            { name: 'p50', points: result.intervals.map((i) => [i.t, i.p50Ms] as const) },
          ],
        },
        {
          title: 'RSS of every process',
          unit: 'MiB',
          series: processes.map((p) => ({
            name: p.name,
            points: rss.map((s) => [s.t, (s.kib[p.name] ?? 0) / 1024] as const),
          })),
        },
      ],
    );
    await writeFile(svgFile, svg);
    process.stdout.write(`plot: ${svgFile}\n`);
    return {
      rate,
      minutes,
      streams: streams.length,
      streamsDropped,
      ramp: rampResult,
      total: result.total,
      perMinute: result.minutes,
      intervals: result.intervals,
      rssGrowth: growth,
      rssSamples: rss,
      errors,
      worstRssGrowthPercent: worstGrowth,
      pass: errors === 0 && worstGrowth < 10,
      plot: svgFile,
    };
  } finally {
    await stack.stop();
  }
}
