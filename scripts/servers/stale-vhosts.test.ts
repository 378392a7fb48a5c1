import { describe, expect, it } from 'vitest';
import { staleVhosts, UNMARKED_STALE_AFTER_MS, vhostMarker } from './stale-vhosts.ts';

describe('staleVhosts', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  const runId = (ms: number) => `${ms.toString(36)}abc123`;
  const old = runId(now - UNMARKED_STALE_AFTER_MS - 1);
  const recent = runId(now - 60_000);
  const alive = (pid: number) => pid === 100;
  const rows = [
    { name: '/', description: 'Default virtual host' },
    { name: `isekai-test-${old}`, description: '' },
    { name: `isekai-test-${old}-chains`, description: '' },
    { name: `isekai-test-${recent}`, description: '' },
    { name: `isekai-test-${recent}-site-story`, description: vhostMarker(200) },
    { name: `isekai-test-${old}-routes`, description: vhostMarker(100) },
    { name: 'isekai-prod', description: vhostMarker(200) },
    { name: 'isekai-test-notarunid', description: '' },
  ];

  it('removes unmarked vhosts older than the limit and marked ones whose process is gone, nothing else', () => {
    expect(staleVhosts(rows, now, alive)).toEqual([
      `isekai-test-${old}`,
      `isekai-test-${old}-chains`,
      `isekai-test-${recent}-site-story`,
    ]);
  });

  it('judges 8 rows (the table cannot shrink silently)', () => {
    expect(rows).toHaveLength(8);
  });
});
