import { describe, expect, it } from 'vitest';
import { type MixedStack, openLoop, percentile } from './mixed.ts';
import { lineChart } from './svg.ts';

const noStack = {} as MixedStack;

describe('openLoop (the load of bench ramp and soak)', () => {
  it('sends request k at k/rate from the start and counts latency from then: an instant answer costs ~0 ms', async () => {
    const sentAt: number[] = [];
    const t0 = performance.now();
    const { total } = await openLoop(
      noStack,
      async () => {
        sentAt.push(performance.now() - t0);
        return 200;
      },
      { rate: 10, seconds: 1, intervalS: 1 },
    );
    expect(total.errors).toBe(0);
    expect(total.completed).toBeGreaterThanOrEqual(9);
    // Judged against the schedule itself, not against wall-clock bounds (a loaded machine delays every
    // wake-up): request k is never sent before k × 100 ms, the first is sent before the second is due,
    // and an instant answer's latency is at most the sends' lateness (counted from k × 100 ms, not from
    // an earlier point such as the previous interval's start).
    const lateness = sentAt.map((t, k) => t - k * 100);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(-1);
    expect(sentAt[0]).toBeLessThan(100);
    // (This clock starts a moment before openLoop's own, so lateness here is an upper bound of its.)
    expect(total.p50Ms).toBeLessThanOrEqual(Math.max(...lateness));
  });

  it('counts an error status, a thrown request and a backlog over the in-flight cap as errors by status', async () => {
    let n = 0;
    const { total } = await openLoop(
      noStack,
      async () => {
        n += 1;
        if (n === 1) return 503;
        if (n === 2) throw new Error('reset');
        return new Promise<number>((resolve) => setTimeout(() => resolve(200), 400));
      },
      { rate: 20, seconds: 0.5, intervalS: 1, maxInFlight: 3 },
    );
    expect(total.statuses['503']).toBe(1);
    expect(total.statuses['0']).toBe(1);
    expect(total.statuses.backlog).toBeGreaterThan(0);
  });
});

describe('percentile and the SVG chart', () => {
  it('nearest-rank percentile', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([], 99)).toBe(0);
  });

  it('a titled SVG with one path per series and the reference line', () => {
    const svg = lineChart('Soak <test>', 'seconds', [
      {
        title: 'p99',
        unit: 'ms',
        reference: { y: 100, label: 'budget' },
        series: [
          {
            name: 'a',
            points: [
              [0, 1],
              [10, 2],
            ],
          },
          {
            name: 'b',
            points: [
              [0, 3],
              [10, 4],
            ],
          },
        ],
      },
    ]);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('<title>Soak &lt;test&gt;</title>');
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray="6 4"');
  });
});
