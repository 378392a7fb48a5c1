import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type CrashFixture,
  DEADLINE_MS,
  importSyntheticAnime,
  startCrashFixture,
  startRecordingSink,
} from './crash-support.ts';
import { waitFor } from './events-support.ts';

/**
 * Issue 17, kill -9 mid-import: the library is killed while a large MAL import streams its NDJSON progress
 * inside one transaction; nothing of it may be applied or published, and the re-run on the replacement
 * applies it whole, once. Other kills: crash-kill.test.ts.
 * The fixture (processes of their own, proxies, the private Redis): crash-support.ts.
 */
const env = inject('env');
let f: CrashFixture;

beforeAll(async () => {
  f = await startCrashFixture(env, 'crash-import');
}, 120_000);
afterAll(async () => f?.stop());

describe('kill -9 while work is in flight: every effect exactly once, nothing half-applied, the replacement serves', () => {
  it('library killed mid-import (a large MAL import streaming NDJSON progress): nothing of it applied or published; the re-run on the replacement applies it whole, once', async () => {
    const ROWS = 600;
    const MAL_BASE = 90_000_000;
    await importSyntheticAnime(f.pool, MAL_BASE, ROWS);
    // Every row lists its anime (library.updated); every fourth also rates it (rating.submitted).
    const score = (i: number) => (i % 4 === 0 ? (i % 10) + 1 : 0);
    const xml = `<myanimelist>${Array.from(
      { length: ROWS },
      (_, i) =>
        `<anime><series_animedb_id>${MAL_BASE + i + 1}</series_animedb_id><my_status>Watching</my_status><my_watched_episodes>3</my_watched_episodes><my_score>${score(i)}</my_score><update_on_import>1</update_on_import></anime>`,
    ).join('')}</myanimelist>`;
    const rated = Array.from({ length: ROWS }, (_, i) => score(i)).filter((s) => s > 0).length;
    const sink = await startRecordingSink();
    const library = await f.started('library', { K_SINK: sink.url });
    const user = `crash-importer-${process.pid}`;
    const token = await f.sign(user);
    const state = async () => {
      const { rows } = await f.pool.query<Record<string, string>>(
        `select (select count(*) from library_entries where user_id = $1) as entries,
                (select count(*) from ratings where user_id = $1) as ratings,
                (select count(*) from users where id = $1) as users,
                (select count(*) from outbox where event->'data'->>'userId' = $1) as outboxed,
                (select count(*) from outbox where event->'data'->>'userId' = $1 and published_at is null) as unpublished,
                (select coalesce(sum(s.members), 0) from anime_stats s join anime a on a.id = s.anime_id
                  where a.mal_id > $2 and a.mal_id <= $2 + $3) as members,
                (select coalesce(sum(s.score_count), 0) from anime_stats s join anime a on a.id = s.anime_id
                  where a.mal_id > $2 and a.mal_id <= $2 + $3) as score_count`,
        [user, MAL_BASE, ROWS],
      );
      return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
    };
    /** POST the file asking for NDJSON progress; `onLine` sees each line as it arrives. Status 0: cut. */
    const importFile = async (onLine: (line: Record<string, unknown>) => Promise<void> | void) => {
      const lines: Record<string, unknown>[] = [];
      try {
        const res = await fetch(`${library.url}/me/library/import`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/xml',
            accept: 'application/x-ndjson',
          },
          body: xml,
          signal: AbortSignal.timeout(50_000),
        });
        expect(res.status).toBe(200);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let buffered = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffered += decoder.decode(value, { stream: true });
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
            buffered = buffered.slice(nl + 1);
            lines.push(line);
            await onLine(line);
          }
        }
        return { cut: false, lines };
      } catch {
        return { cut: true, lines };
      }
    };
    const before = await state();
    expect(before).toMatchObject({ entries: 0, ratings: 0, users: 0, outboxed: 0, members: 0 });

    // Killed once 100 of the 600 rows have been written inside the import's transaction.
    let killedAt = 0;
    const first = await importFile(async (line) => {
      const progress = line.progress as { done: number } | undefined;
      if (progress && progress.done >= 100 && killedAt === 0) {
        killedAt = progress.done;
        await library.kill9();
      }
    });
    expect(killedAt).toBeGreaterThanOrEqual(100);
    expect(first.cut, 'the stream ends cut, without a report or a problem line').toBe(true);
    expect(first.lines.filter((l) => 'report' in l || 'problem' in l)).toEqual([]);
    // PostgreSQL ends the dead client's session (rolling its transaction back) once it sees the socket close.
    await waitFor(
      'the killed library’s sessions to end',
      async () =>
        (await f.count(
          `select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'library'`,
        )) === 0,
      DEADLINE_MS,
    );
    expect(
      await state(),
      'nothing of the cut import (no entry, rating, user, aggregate or outbox row)',
    ).toEqual(before);
    expect(sink.received.filter((e) => e.userId === user)).toEqual([]);

    // The replacement takes the same file again: all of it, once.
    await library.restart();
    const second = await importFile(() => undefined);
    expect(second.cut).toBe(false);
    const report = second.lines.at(-1)?.report as { totals: Record<string, number> } | undefined;
    expect(report?.totals).toEqual({ imported: ROWS, updated: 0, unchanged: 0, skipped: 0 });
    const after = await state();
    const errors = await f.pool.query<{ last_error: string; n: string }>(
      `select last_error, count(*) as n from outbox where event->'data'->>'userId' = $1 and published_at is null
        group by last_error`,
      [user],
    );
    expect(after, `unpublished: ${JSON.stringify(errors.rows)}; sink got ${sink.received.length}`).toEqual({
      entries: ROWS,
      ratings: rated,
      users: 1,
      outboxed: ROWS + rated,
      unpublished: 0,
      members: ROWS,
      score_count: rated,
    });
    const published = sink.received.filter((e) => e.userId === user);
    expect(published).toHaveLength(ROWS + rated);
    expect(new Set(published.map((e) => e.id)).size).toBe(ROWS + rated);
    expect(published.filter((e) => e.type === 'dev.isekai.rating.submitted.v1')).toHaveLength(rated);
    const outboxIds = await f.pool.query<{ id: string }>(
      `select id from outbox where event->'data'->>'userId' = $1`,
      [user],
    );
    expect(new Set(published.map((e) => e.id))).toEqual(new Set(outboxIds.rows.map((r) => r.id)));
    await sink.close();
  }, 60_000);
});
