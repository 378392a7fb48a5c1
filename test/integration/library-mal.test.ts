import { gunzipSync, gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { libraryFromEnv } from '../../functions/library/library.ts';
import { caller } from '../support/caller.ts';
import type { Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { animeIdByMal, ownAnime, prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

const env = inject('env');
let lib = '';
let tokens: KeycloakTokens;
let call: ReturnType<typeof caller>;
let db: pg.Pool;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  tokens = await keycloakTokens(env, 'library-mal');
  call = caller(tokens);
  const l = await serveOnHost('library', libraryFromEnv(trackingEnv(env, 'mal-test')));
  lib = l.url;
  closers.push(l.close);
  db = new pg.Pool({ connectionString: env.DATABASE_URL });
});
afterAll(async () => {
  for (const close of closers) await close();
  await db?.end();
  await tokens?.close();
});

async function upload(user: string, bytes: Buffer | string, accept = 'application/json') {
  const res = await fetch(`${lib}/me/library/import`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await tokens.sign(user)}`,
      'content-type': 'application/xml',
      accept,
    },
    body: bytes,
  });
  return { status: res.status, text: await res.text() };
}
const exportOf = async (user: string, query = 'format=mal') => {
  const res = await fetch(`${lib}/me/library/export?${query}`, {
    headers: { authorization: `Bearer ${await tokens.sign(user)}` },
  });
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
};
const comparable = async (user: string) =>
  JSON.parse((await exportOf(user, 'format=json')).bytes.toString()).entries.map((e: Loose) => ({
    malId: e.malId,
    status: e.status,
    progress: e.progress,
    score: e.score,
    startedOn: e.startedOn,
    finishedOn: e.finishedOn,
    rewatchCount: e.rewatchCount,
    notes: e.notes,
    tags: e.tags,
    priority: e.priority,
  }));

describe('MAL round trip', () => {
  it('export → import into a fresh user reproduces the list (plain and .xml.gz)', async () => {
    const [bebop, trigun, akira, lain, naruto] = await Promise.all(
      [1, 6, 47, 339, 20].map((m) => animeIdByMal(env.DATABASE_URL as string, m)),
    );
    await call('PUT', `${lib}/me/library/${bebop}`, 'm-src', {
      status: 'completed',
      startedOn: '2020-01-02',
      finishedOn: '2020-02-03',
      notes: 'Tom & Jerry ]]> <b>',
      tags: ['space', 'jazz'],
      priority: 2,
    });
    await call('PUT', `${lib}/me/library/${trigun}`, 'm-src', {
      status: 'watching',
      progress: 7,
      startedOn: '2021-03-04',
    });
    await call('PUT', `${lib}/me/library/${akira}`, 'm-src', { status: 'plan_to_watch' });
    await call('PUT', `${lib}/me/library/${lain}`, 'm-src', {
      status: 'completed',
      startedOn: '2019-01-01',
      finishedOn: '2019-01-05',
      rewatchCount: 2,
    });
    await call('PUT', `${lib}/me/library/${lain}`, 'm-src', { status: 'rewatching', progress: 4 });
    await call('PUT', `${lib}/me/library/${naruto}`, 'm-src', {
      status: 'dropped',
      progress: 50,
      startedOn: '2010-06-01',
    });
    const rating = (await import('../../functions/rate-anime/rate-anime.ts')).rateAnimeFromEnv;
    const rate = await serveOnHost('rate-anime', rating(trackingEnv(env, 'mal-test')));
    closers.push(rate.close);
    await call('PUT', `${rate.url}/anime/${bebop}/rating`, 'm-src', { score: 10 });
    await call('PUT', `${rate.url}/anime/${naruto}/rating`, 'm-src', { score: 4 });

    const xml = await exportOf('m-src');
    expect(xml.res.headers.get('content-disposition')).toMatch(/attachment; filename="animelist_.*\.xml"/);
    const text = xml.bytes.toString();
    expect(text).toContain('<update_on_import>1</update_on_import>');
    expect(text).toContain('<my_status>Plan to Watch</my_status>');
    expect(text).toContain('<series_title><![CDATA[Cowboy Bebop]]></series_title>');

    const imported = await upload('m-dst', xml.bytes);
    expect(imported.status).toBe(200);
    expect(JSON.parse(imported.text).totals).toEqual({ imported: 5, updated: 0, unchanged: 0, skipped: 0 });
    expect(await comparable('m-dst')).toEqual(await comparable('m-src'));

    const gz = await exportOf('m-src', 'format=mal&gzip=true');
    expect(gunzipSync(gz.bytes).toString()).toBe(text);
    // a bare flag, as the README writes it, is true
    const bare = await exportOf('m-src', 'format=mal&gzip');
    expect(bare.res.status).toBe(200);
    expect(gunzipSync(bare.bytes).toString()).toBe(text);
    const again = await upload('m-gz', gz.bytes);
    expect(JSON.parse(again.text)).toMatchObject({ file: { gzipped: true }, totals: { imported: 5 } });
    expect(await comparable('m-gz')).toEqual(await comparable('m-src'));
  });

  it('importing the same file again changes nothing: every row unchanged, no write, no event', async () => {
    const file = (bebopScore: string, trigunProgress: string) => `<myanimelist>
${row({ series_animedb_id: '1', my_status: 'Completed', my_watched_episodes: '26', my_score: bebopScore, my_start_date: '2020-01-02', my_finish_date: '2020-02-03', my_tags: 'space, jazz', my_comments: '<![CDATA[Tom & Jerry]]>', my_priority: 'High', update_on_import: '1' })}
${row({ series_animedb_id: '6', my_status: 'Watching', my_watched_episodes: trigunProgress, my_score: '0', update_on_import: '1' })}
${row({ series_animedb_id: '47', my_status: 'Plan to Watch', update_on_import: '1' })}
${row({ series_animedb_id: '339', my_status: 'Completed', my_watched_episodes: '13', my_times_watched: '2', my_score: '7', update_on_import: '1' })}
</myanimelist>`;
    await tokens.sign('m-again');
    const user = tokens.subOf('m-again');
    /** Each entry's and rating's last write, and the user's events in the outbox by type. */
    const state = async () => ({
      entries: (
        await db.query(
          'select anime_id, updated_at from library_entries where user_id = $1 order by anime_id',
          [user],
        )
      ).rows,
      ratings: (
        await db.query('select anime_id, updated_at from ratings where user_id = $1 order by anime_id', [
          user,
        ])
      ).rows,
      events: (
        await db.query(
          `select type, count(*)::int as n from outbox where event->'data'->>'userId' = $1 group by type order by type`,
          [user],
        )
      ).rows,
    });
    const first = await upload('m-again', file('9', '7'));
    expect(JSON.parse(first.text).totals).toEqual({ imported: 4, updated: 0, unchanged: 0, skipped: 0 });
    const imported = await state();
    expect(imported.events).toEqual([
      { type: 'dev.isekai.library.updated.v1', n: 4 },
      { type: 'dev.isekai.rating.submitted.v1', n: 2 },
    ]);

    const again = await upload('m-again', file('9', '7'));
    expect(again.status).toBe(200);
    const report = JSON.parse(again.text);
    expect(report.totals).toEqual({ imported: 0, updated: 0, unchanged: 4, skipped: 0 });
    expect(report.rows.map((r: Loose) => [r.malId, r.outcome])).toEqual([
      [1, 'unchanged'],
      [6, 'unchanged'],
      [47, 'unchanged'],
      [339, 'unchanged'],
    ]);
    expect(await state()).toEqual(imported);

    // One field of one row changed: that row alone is written, with its one event.
    const changed = await upload('m-again', file('8', '9'));
    expect(JSON.parse(changed.text).rows.map((r: Loose) => [r.malId, r.outcome])).toEqual([
      [1, 'updated'],
      [6, 'updated'],
      [47, 'unchanged'],
      [339, 'unchanged'],
    ]);
    const after = await state();
    expect(after.events).toEqual([
      { type: 'dev.isekai.library.updated.v1', n: 5 }, // Trigun's progress
      { type: 'dev.isekai.rating.submitted.v1', n: 3 }, // Bebop's score (its entry is as it was)
    ]);
    const trigun = await animeIdByMal(env.DATABASE_URL as string, 6);
    const bebop = await animeIdByMal(env.DATABASE_URL as string, 1);
    const stamp = (rows: Loose[], id: number) => rows.find((r) => r.anime_id === id)?.updated_at.getTime();
    for (const [rows, was, moved] of [
      [after.entries, imported.entries, trigun],
      [after.ratings, imported.ratings, bebop],
    ] as const) {
      expect(rows.filter((r) => r.anime_id !== moved)).toEqual(was.filter((r) => r.anime_id !== moved));
      expect(stamp(rows, moved)).toBeGreaterThan(stamp(was, moved));
    }
  });

  it('an unknown export format → 400 naming the field once, with the allowed formats', async () => {
    const { res, bytes } = await exportOf('m-format', 'format=xlsx');
    expect(res.status).toBe(400);
    const problem = JSON.parse(bytes.toString());
    expect(problem.errors).toEqual([
      { field: '/query/format', message: 'must be one of: mal, json, csv', allowed: ['mal', 'json', 'csv'] },
    ]);
  });

  it('exports RFC 4180 CSV: fields with a comma, a quote or a line break are quoted, quotes doubled', async () => {
    const anime = await ownAnime(env.DATABASE_URL as string, 'Csv "Quoted" Title', 12);
    // Each field needs quoting for one reason only: a quote (title), a comma (tags), line breaks (notes).
    const notes = 'line one\r\nline two\nline three';
    const put = await call('PUT', `${lib}/me/library/${anime}`, 'm-csv', {
      status: 'watching',
      progress: 2,
      notes,
      tags: ['space', 'jazz'],
    });
    expect(put.status).toBe(201);
    const csv = (await exportOf('m-csv', 'format=csv')).bytes.toString();
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')[0]).toBe(
      'anime_id,mal_id,title,type,episodes,status,progress,score,rewatch_count,started_on,finished_on,priority,private,favourite,tags,notes',
    );
    // Quoted on the wire: inner quotes doubled, line breaks kept inside the quotes.
    expect(csv).toContain(',"line one\r\nline two\nline three"\r\n');
    expect(csv).toMatch(/,"Csv ""Quoted"" Title [^",\r\n]+",/);
    expect(csv).toContain(',"space, jazz",');
    const [header, ...rows] = parseCsv(csv);
    expect(rows).toHaveLength(1);
    const record = Object.fromEntries((header ?? []).map((name, k) => [name, rows[0]?.[k]]));
    expect(record).toMatchObject({
      anime_id: String(anime),
      title: expect.stringMatching(/^Csv "Quoted" Title /),
      status: 'watching',
      progress: '2',
      tags: 'space, jazz',
      notes,
    });
  });
});

/** A strict RFC 4180 reader (CRLF records, quoted fields with doubled quotes); throws on a stray quote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [];
  let k = 0;
  while (k < text.length) {
    let field = '';
    if (text[k] === '"') {
      k += 1;
      for (;;) {
        const quote = text.indexOf('"', k);
        if (quote < 0) throw new Error('unterminated quoted field');
        field += text.slice(k, quote);
        if (text[quote + 1] === '"') {
          field += '"';
          k = quote + 2;
        } else {
          k = quote + 1;
          break;
        }
      }
    } else {
      const end = text.slice(k).search(/,|\r\n/);
      field = end < 0 ? text.slice(k) : text.slice(k, k + end);
      if (field.includes('"') || /[\r\n]/.test(field))
        throw new Error(`unquoted field needs quoting: ${field}`);
      k += field.length;
    }
    fields.push(field);
    if (text[k] === ',') k += 1;
    else if (text.startsWith('\r\n', k)) {
      records.push(fields);
      fields = [];
      k += 2;
    } else if (k < text.length) throw new Error(`garbage after a field at ${k}`);
  }
  if (fields.length > 0) records.push(fields);
  return records;
}

const row = (fields: Record<string, string>) =>
  `<anime>${Object.entries(fields)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('')}</anime>`;

describe('dirty MAL files', () => {
  it('imports a real-world-shaped dirty file with a correct per-row report', async () => {
    const eva = await animeIdByMal(env.DATABASE_URL as string, 30);
    await call('PUT', `${lib}/me/library/${eva}`, 'm-dirty', { status: 'watching', progress: 1 });
    const xml = `<?xml version="1.0" encoding="ISO-8859-1"?>
<myanimelist><myinfo><user_name>dirty</user_name><user_export_type>1</user_export_type></myinfo>
${row({ series_animedb_id: '1', series_title: 'Cowboy Bebop & friends', my_watched_episodes: '26', my_start_date: '0000-00-00', my_finish_date: '2001-02-30', my_score: '0', my_status: '2', my_comments: 'Très bien', my_times_watched: '1', update_on_import: '1' })}
${row({ series_animedb_id: '6', series_title: '<![CDATA[Trigun & co]]>', my_watched_episodes: '99', my_score: '8', my_status: 'Watching', update_on_import: '1' })}
${row({ series_animedb_id: '19', my_watched_episodes: '3', my_score: '11', my_status: 'On-Hold', my_tags: 'a, b,,a', update_on_import: '1' })}
${row({ series_animedb_id: '47', my_status: 'plan to watch', my_priority: 'High' })}
${row({ series_animedb_id: '30', my_status: 'Completed', update_on_import: '0' })}
${row({ series_animedb_id: '99999999', my_status: 'Watching' })}
${row({ series_title: 'no id', my_status: 'Watching' })}
${row({ series_animedb_id: '339', my_status: 'Binging' })}
${row({ series_animedb_id: '47', my_status: 'Dropped' })}
</myanimelist>`;
    const bytes = iconv.encode(xml, 'latin1');
    const res = await upload('m-dirty', bytes);
    expect(res.status).toBe(200);
    const report = JSON.parse(res.text);
    expect(report.totals).toEqual({ imported: 4, updated: 0, unchanged: 0, skipped: 5 });
    expect(report.rows.map((r: Loose) => [r.row, r.outcome, r.reason ?? ''])).toEqual([
      [1, 'imported', ''],
      [2, 'imported', ''],
      [3, 'imported', ''],
      [4, 'imported', ''],
      [5, 'skipped', 'already on your list and update_on_import is 0'],
      [6, 'skipped', 'MAL anime 99999999 is not in the catalogue'],
      [7, 'skipped', 'series_animedb_id is missing or not a number'],
      [8, 'skipped', 'unknown my_status "Binging"'],
      [9, 'skipped', 'duplicate of an earlier row'],
    ]);
    // Imported rows name each value they could not take as given.
    expect(report.rows.slice(0, 4).map((r: Loose) => r.warnings ?? [])).toEqual([
      ['my_finish_date "2001-02-30" is not a real date; left empty'],
      ['my_watched_episodes 99 is past the last episode; taken as 26'],
      ['my_score 11 is over 10; not rated'],
      [],
    ]);
    const list = await comparable('m-dirty');
    const byMal = Object.fromEntries(list.map((e: Loose) => [e.malId, e]));
    expect(byMal[1]).toMatchObject({
      status: 'completed',
      progress: 26,
      score: null,
      startedOn: null,
      finishedOn: null,
      notes: 'Très bien',
      rewatchCount: 1,
    });
    expect(byMal[6]).toMatchObject({ status: 'watching', progress: 26, score: 8 });
    expect(byMal[19]).toMatchObject({ status: 'on_hold', score: null, tags: ['a', 'b'] });
    expect(byMal[47]).toMatchObject({ status: 'plan_to_watch', priority: 2 });
    expect(byMal[30]).toMatchObject({ status: 'watching', progress: 1 });
  });

  const broken: [string, string | Buffer][] = [
    ['truncated XML', '<myanimelist><anime><series_animedb_id>1</series_animedb_id>'],
    ['not a MAL list', '<?xml version="1.0"?><html><body/></html>'],
    [
      'a manga list',
      '<myanimelist><myinfo><user_export_type>2</user_export_type></myinfo><manga/></myanimelist>',
    ],
    ['corrupt gzip', Buffer.from([0x1f, 0x8b, 1, 2, 3, 4])],
  ];
  expect(broken, 'broken files').toHaveLength(4);
  it.each(broken)('%s → 400 and nothing written', async (_name, body) => {
    const res = await upload('m-bad', body);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({
      code: 'validation_failed',
      errors: [{ field: expect.stringMatching(/^\/body/) }],
    });
    expect(
      (await db.query(`select 1 from library_entries where user_id = '${tokens.subOf('m-bad')}'`)).rowCount,
    ).toBe(0);
  });

  it('refuses an oversized file (413) and a gzip bomb (413)', async () => {
    expect((await upload('m-big', Buffer.alloc(17 * 1024 * 1024, 32))).status).toBe(413);
    expect((await upload('m-big', gzipSync(Buffer.alloc(70 * 1024 * 1024, 32)))).status).toBe(413);
  });

  it('streams progress as NDJSON when asked, ending with the report', async () => {
    const rows = [
      1, 5, 6, 19, 20, 30, 32, 33, 43, 44, 45, 47, 90, 121, 136, 164, 170, 185, 199, 202, 205, 226, 227, 232,
      235, 237, 263, 269, 329, 339, 387, 392, 416, 431, 457, 467, 486, 512, 523, 527, 530, 552, 578, 777, 790,
      813, 820, 849, 877, 918, 934, 966,
    ]
      .map((id) => row({ series_animedb_id: String(id), my_status: 'Plan to Watch' }))
      .join('');
    const res = await upload('m-stream', `<myanimelist>${rows}</myanimelist>`, 'application/x-ndjson');
    const lines = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ file: { rows: 52 } });
    expect(lines.filter((l) => l.progress).map((l) => l.progress.done)).toEqual([50, 52]);
    expect(lines.at(-1).report.totals).toEqual({ imported: 52, updated: 0, unchanged: 0, skipped: 0 });
  });
});
