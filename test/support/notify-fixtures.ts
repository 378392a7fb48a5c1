import type { CloudEventV1 } from 'cloudevents';
import pg from 'pg';
import { migrate } from '../../functions/lib/data/migrate.ts';
import { toBinary, toStructured } from '../../functions/lib/events/encode.ts';

/** A library entry to seed: user, list status, preferred subtitle languages. */
export interface Member {
  readonly id: string;
  readonly status: string | undefined;
  readonly langs: readonly string[];
}

/**
 * Migrate the run's database and create an anime of its own (so other files' users never share its
 * list) with these users and library entries. Returns the anime id (an integer, as in events' data).
 */
export async function seedAnime(
  databaseUrl: string,
  title: string,
  members: readonly Member[],
): Promise<number> {
  await migrate(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: number }>(
      `insert into anime (sources, content_hash, title, type, status, search_text, search_vector)
       values ('{}', 'test', $1, 'tv', 'ongoing', lower($1), to_tsvector('simple', $1)) returning id`,
      [title],
    );
    const animeId = rows[0]?.id;
    for (const m of members) {
      await client.query(
        `insert into users (id, username, preferred_subtitle_languages) values ($1, $1, $2)
         on conflict (id) do update set preferred_subtitle_languages = excluded.preferred_subtitle_languages`,
        [m.id, m.langs],
      );
      if (m.status)
        await client.query('insert into library_entries (user_id, anime_id, status) values ($1, $2, $3)', [
          m.id,
          animeId,
          m.status,
        ]);
    }
    return animeId as number;
  } finally {
    await client.end();
  }
}

let serial = 0;
/** A catalogue-valid event of `type` about `animeId` with a fresh id. */
export function eventOf(type: string, animeId: number, data: Record<string, unknown>): CloudEventV1<unknown> {
  serial += 1;
  return {
    specversion: '1.0',
    id: `notify-${process.pid}-${Date.now()}-${serial}`,
    type,
    source: '/functions/test',
    subject: String(animeId),
    datacontenttype: 'application/json',
    data: { animeId, ...data },
  };
}

export const modes = { binary: toBinary, structured: toStructured } as const;
export type Mode = keyof typeof modes;

/** POST an event in `mode`; the status and body as text. */
export async function deliver(url: string, event: CloudEventV1<unknown>, mode: Mode) {
  const { headers, body } = modes[mode](event);
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}

/** Wait until `probe` returns a value other than undefined, polling until the deadline. */
export async function eventually<T>(probe: () => Promise<T | undefined>, deadlineMs = 5_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`no result within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
