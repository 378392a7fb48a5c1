import { describe, expect, it } from 'vitest';
import { rssGrowth } from './soak.ts';

/** Samples every 5 s for 600 s of one process, RSS in MiB from `mib(t)`. */
const series = (mib: (t: number) => number) =>
  Array.from({ length: 121 }, (_, i) => ({ t: i * 5, kib: { fn: Math.round(mib(i * 5) * 1024) } }));

describe('rssGrowth (the soak verdict on memory)', () => {
  it('does not call a GC saw-tooth a leak, though a point-to-point view reads it as +50 %', () => {
    // Heap grows 100 → 250 MiB over 180 s, a major GC drops it back, four times; the run ends near a peak.
    const sawTooth = series((t) => 100 + (((t + 120) % 180) / 180) * 150); // a trough right after warm-up
    const g = rssGrowth(sawTooth, 'fn', 60);
    expect(g.pointGrowthPercent).toBeGreaterThan(50);
    expect(Math.abs(g.growthPercent)).toBeLessThan(3);
  });

  it('reports a steady leak: every peak higher', () => {
    const leak = series((t) => 100 + ((t % 180) / 180) * 50 + t * 0.1); // +0.1 MiB/s under the same saw-tooth
    const g = rssGrowth(leak, 'fn', 60);
    expect(g.growthPercent).toBeGreaterThan(10);
    expect(g.secondHalfPeakMiB).toBeGreaterThan(g.firstHalfPeakMiB);
  });

  it('is 0 for a flat process and for one that exited (no samples)', () => {
    expect(
      rssGrowth(
        series(() => 80),
        'fn',
        60,
      ).growthPercent,
    ).toBe(0);
    expect(
      rssGrowth(
        series(() => 80),
        'other',
        60,
      ),
    ).toMatchObject({ growthPercent: 0, endMiB: 0 });
  });
});
