import type { Server } from 'node:http';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseCues } from '../../functions/lib/subtitles/formats/convert.ts';
import { sniffFormat } from '../../functions/lib/subtitles/formats/detect.ts';
import { roleCaller, scratchBucket, serveSubtitleFunctions, srtOf, uploader } from '../support/subtitles.ts';
import { createTestTokens } from '../support/test-tokens.ts';
import { animeIdByMal, listen, ownAnime, prepareDatabase } from '../support/tracking.ts';

/**
 * The community subtitle database end to end over HTTP on the lean host (and one functions-framework
 * smoke test per function): real Ceph RGW, real PostgreSQL (the catalogue), and MongoDB metadata on
 * mongo-java-server — the wire-compatible substitute (no transactions), not MongoDB itself.
 */
const env = inject('env');
const database = `isekai_${env.TEST_RUN_ID}_subtitles`;
let bucket: Awaited<ReturnType<typeof scratchBucket>>;
let upload: ReturnType<typeof uploader>;
let call: ReturnType<typeof roleCaller>;
let uploads = '';
let subs = '';
let trigun = 0;
const closers: (() => Promise<void>)[] = [];
const MOD = ['moderator'];

const JAPANESE = `1\n00:00:01,000 --> 00:00:02,500\nこんにちは、世界。\n今日はいい天気ですね。\n\n2\n00:00:03,000 --> 00:00:04,000\n字幕の文字コードを確認します。\n`;

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  trigun = await animeIdByMal(env.DATABASE_URL as string, 6);
  bucket = await scratchBucket(env, 'main');
  const tokens = await createTestTokens();
  upload = uploader(tokens);
  call = roleCaller(tokens);
  const served = await serveSubtitleFunctions(env, tokens, { database, bucket: bucket.bucket });
  ({ uploads, subs } = served);
  closers.push(served.close);
});
afterAll(async () => {
  for (const close of closers) await close();
  await bucket?.drop();
});

/** The Japanese file with a last cue of its own, so that every test's upload is new (uploads dedupe by sha256). */
const japanese = (label: string) => `${JAPANESE}\n3\n00:00:05,000 --> 00:00:06,000\n${label}\n`;
const cuesOf = (label: string) => [
  [1000, 2500, 'こんにちは、世界。\n今日はいい天気ですね。'],
  [3000, 4000, '字幕の文字コードを確認します。'],
  [5000, 6000, label],
];
let serial = 0;

/** An anime of the test's own with a Shift_JIS SRT uploaded for episode 1 in Japanese. */
async function uploadedJapanese(what: string) {
  serial += 1;
  const label = `${what} ${process.pid}-${Date.now().toString(36)}-${serial}`;
  const anime = await ownAnime(env.DATABASE_URL as string, `Subtitles ${what}`, 26);
  const text = japanese(label);
  const res = await upload(
    uploads,
    'up-alice',
    { animeId: String(anime), episode: '1', language: 'ja', release: 'BD 1080p' },
    iconv.encode(text.replace(/\n/g, '\r\n'), 'Shift_JIS'),
    { fileName: 'bebop 01.srt' },
  );
  expect(res.status).toBe(201);
  return { anime, label, text, id: res.body.id as string, body: res.body };
}

describe('subtitles on the MongoDB wire-compatible substitute (mongo-java-server), RGW and PostgreSQL', () => {
  it('uploads a Shift_JIS SRT: normalised to UTF-8, stored under subtitles/<animeId>/<id>.srt', async () => {
    const { anime, text, id, body } = await uploadedJapanese('upload');
    expect(body).toMatchObject({
      animeId: anime,
      episode: 1,
      language: 'ja',
      format: 'srt',
      encoding: 'Shift_JIS',
      release: 'BD 1080p',
      cues: 3,
      status: 'published',
      downloads: 0,
      uploader: { id: 'up-alice' },
      sizeBytes: Buffer.byteLength(text),
    });
    // The normalised copy, and the bytes as uploaded (normalising changed them).
    expect((await bucket.keys(`subtitles/${anime}/`)).sort()).toEqual([
      `subtitles/${anime}/${id}.original`,
      `subtitles/${anime}/${id}.srt`,
    ]);
    const original = await fetch(`${subs}/subtitles/${id}/download?original=true`);
    expect(original.headers.get('content-type')).toBe('application/x-subrip; charset=shift_jis');
    const sjis = iconv.encode(text.replace(/\n/g, '\r\n'), 'Shift_JIS');
    expect(Buffer.from(await original.arrayBuffer()).equals(sjis)).toBe(true);
    expect((await fetch(`${subs}/subtitles/${id}/download?original=true&format=vtt`)).status).toBe(400);
  });

  it('the same text in another encoding is a duplicate: 409 naming the stored id', async () => {
    const { anime, text, id } = await uploadedJapanese('duplicate');
    const res = await upload(
      uploads,
      'up-bob',
      { animeId: String(anime), episode: '1', language: 'ja' },
      Buffer.from(text),
    );
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('conflict');
    expect(res.body.errors[0]).toMatchObject({ field: '/body/file' });
    expect(res.body.detail).toContain(id);
  });

  it('a stored file sent for an unknown anime or a past-the-end episode gets that error, not the 409', async () => {
    const { anime, text } = await uploadedJapanese('duplicate-order');
    const unknown = await upload(
      uploads,
      'up-bob',
      { animeId: '999999999', episode: '1', language: 'ja' },
      Buffer.from(text),
    );
    expect(unknown.status).toBe(404);
    const past = await upload(
      uploads,
      'up-bob',
      { animeId: String(anime), episode: '9999', language: 'ja' },
      Buffer.from(text),
    );
    expect(past.status).toBe(400);
    expect(past.body.errors[0]).toMatchObject({ field: '/body/episode' });
  });

  it('search finds it by anime, episode and language; detail shows it', async () => {
    const { anime, id } = await uploadedJapanese('search');
    const found = await call('GET', `${subs}/subtitles?anime=${anime}&episode=1&language=ja`);
    expect(found.status).toBe(200);
    expect(found.body.items.map((s: { id: string }) => s.id)).toEqual([id]);
    expect((await call('GET', `${subs}/subtitles?anime=${anime}&language=en`)).body.total).toBe(0);
    const detail = await call('GET', `${subs}/subtitles/${id}`);
    expect(detail.body).toMatchObject({ id, fileName: 'bebop 01.srt' });
    expect((await call('GET', `${subs}/subtitles/${'0'.repeat(24)}`)).status).toBe(404);
    expect((await call('GET', `${subs}/subtitles?sort=best`)).body.errors[0].field).toBe('/query/sort');
  });

  it('downloads in all three formats (UTF-8, converted on the fly) and counts each download', async () => {
    const { label, text, id } = await uploadedJapanese('download');
    const original = await fetch(`${subs}/subtitles/${id}/download`);
    expect(original.headers.get('content-type')).toContain('application/x-subrip');
    expect(await original.text()).toBe(text);
    for (const format of ['srt', 'vtt', 'ass'] as const) {
      const res = await fetch(`${subs}/subtitles/${id}/download?format=${format}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toContain(`.ja.${format}`);
      const converted = await res.text();
      expect(sniffFormat(converted)).toBe(format);
      const cues = parseCues(converted, format);
      expect(cues.map((c) => [c.start, c.end, c.text])).toEqual(cuesOf(label));
    }
    expect((await fetch(`${subs}/subtitles/${id}/download`, { method: 'HEAD' })).status).toBe(200);
    expect((await call('GET', `${subs}/subtitles/${id}`)).body.downloads).toBe(4); // HEAD is no download
    const txt = await fetch(`${subs}/subtitles/${id}/download?format=txt`);
    expect(txt.status).toBe(400);
    expect(((await txt.json()) as { errors: unknown }).errors).toEqual([
      { field: '/query/format', message: 'must be one of: srt, vtt, ass', allowed: ['srt', 'vtt', 'ass'] },
    ]);
  });

  it('sorts by downloads or newest', async () => {
    const { anime, id } = await uploadedJapanese('sort');
    expect((await fetch(`${subs}/subtitles/${id}/download`)).status).toBe(200);
    const second = await upload(
      uploads,
      'up-alice',
      { animeId: String(anime), episode: '2', language: 'ja' },
      Buffer.from(srtOf(`ep2 ${anime}`)),
    );
    expect(second.status).toBe(201);
    const ids = async (sort: string) =>
      (await call('GET', `${subs}/subtitles?anime=${anime}&sort=${sort}`)).body.items.map(
        (s: { id: string }) => s.id,
      );
    expect(await ids('downloads')).toEqual([id, second.body.id]);
    expect(await ids('newest')).toEqual([second.body.id, id]);
  });

  it.each([
    ['a PNG', 415, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])],
    ['prose', 415, Buffer.from('Dear moderators,\nplease accept this file.\n')],
    ['an SRT whose cue ends before it starts', 422, Buffer.from('1\n00:00:05,000 --> 00:00:01,000\nHi\n')],
    [
      'an ASS without dialogue',
      422,
      Buffer.from('[Script Info]\nScriptType: v4.00+\n\n[Events]\nFormat: Layer, Start, End, Style, Text\n'),
    ],
    ['an empty file', 400, Buffer.alloc(0)],
  ])('refuses %s with %i naming the file', async (_name, status, bytes) => {
    const res = await upload(
      uploads,
      'up-carol',
      { animeId: String(trigun), episode: '1', language: 'en' },
      bytes,
    );
    expect(res.status).toBe(status);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('/body/file');
  });

  it.each([
    ['no language', { animeId: '1', episode: '1' }, 400, '/body/language'],
    [
      'a slug for the anime id',
      { animeId: 'cowboy-bebop', episode: '1', language: 'en' },
      400,
      '/body/animeId',
    ],
    ['a zero-padded anime id', { animeId: '007', episode: '1', language: 'en' }, 400, '/body/animeId'],
    ['a bad language tag', { animeId: '1', episode: '1', language: 'English!' }, 400, '/body/language'],
    ['episode zero', { animeId: '1', episode: '0', language: 'en' }, 400, '/body/episode'],
    ['an unknown field', { animeId: '1', episode: '1', language: 'en', title: 'x' }, 400, '/body/title'],
  ])('refuses %s as 400 naming the field', async (_name, fields, status, field) => {
    const res = await upload(uploads, 'up-carol', fields, Buffer.from(srtOf('fields')));
    expect(res.status).toBe(status);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('refuses an anime the catalogue does not have (404) and stores nothing', async () => {
    const res = await upload(
      uploads,
      'up-carol',
      { animeId: '2000000000', episode: '1', language: 'en' },
      Buffer.from(srtOf('nobody')),
    );
    expect(res.status).toBe(404);
    expect(await bucket.keys('subtitles/2000000000/')).toEqual([]);
  });

  it('refuses a file past 16 MiB with 413', async () => {
    const big = Buffer.alloc(16 * 1024 * 1024 + 1, 'a');
    const res = await upload(
      uploads,
      'up-carol',
      { animeId: String(trigun), episode: '1', language: 'en' },
      big,
    );
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
  });

  it('needs a token (401) with the uploader, moderator or admin role (403)', async () => {
    const file = Buffer.from(srtOf('roles'));
    const fields = { animeId: String(trigun), episode: '3', language: 'en' };
    expect((await upload(uploads, undefined, fields, file)).status).toBe(401);
    expect((await upload(uploads, 'up-dave', fields, file, { roles: ['viewer'] })).status).toBe(403);
    expect((await upload(uploads, 'up-dave', fields, file, { roles: ['moderator'] })).status).toBe(201);
  });

  it('report → moderators queue → remove: gone from search, 410 on detail and download', async () => {
    const { anime, text, id } = await uploadedJapanese('report');
    /** The open reports of this subtitle in the moderators' queue (other tests report theirs). */
    const queueOf = async () =>
      (await call('GET', `${subs}/subtitles/reports`, 'mod-gren', MOD)).body.items.filter(
        (r: { subtitle: { id: string } }) => r.subtitle.id === id,
      );
    const reported = await call('POST', `${subs}/subtitles/${id}/reports`, 'rep-erin', undefined, {
      reason: 'out_of_sync',
      details: 'two seconds late from episode start',
    });
    expect(reported.status).toBe(201);
    const again = await call('POST', `${subs}/subtitles/${id}/reports`, 'rep-erin', undefined, {
      reason: 'spam',
    });
    expect(again.status).toBe(409);
    expect(
      (await call('POST', `${subs}/subtitles/${id}/reports`, undefined, undefined, { reason: 'spam' }))
        .status,
    ).toBe(401);
    const nope = await call('POST', `${subs}/subtitles/${id}/reports`, 'rep-fay', undefined, {
      reason: 'nope',
    });
    expect(nope.status).toBe(400);
    // one issue for the field, the seven reasons listed once (not seven "must be equal to constant")
    expect(nope.body.errors).toHaveLength(1);
    expect(nope.body.errors[0]).toMatchObject({
      field: '/body/reason',
      allowed: expect.arrayContaining(['spam', 'other']),
    });
    expect(nope.body.errors[0].allowed).toHaveLength(7);
    expect((await call('GET', `${subs}/subtitles/reports`, 'rep-erin')).status).toBe(403);
    expect((await call('GET', `${subs}/subtitles/reports`, 'mod-gren', MOD)).status).toBe(200);
    expect(await queueOf()).toEqual([
      expect.objectContaining({
        id: reported.body.id,
        reason: 'out_of_sync',
        subtitle: expect.objectContaining({ id }),
      }),
    ]);
    expect(
      (await call('POST', `${subs}/subtitles/${id}/moderation`, 'rep-erin', undefined, { action: 'remove' }))
        .status,
    ).toBe(403);
    const removed = await call('POST', `${subs}/subtitles/${id}/moderation`, 'mod-gren', MOD, {
      action: 'remove',
      note: 'timing is off throughout',
    });
    expect(removed.body).toMatchObject({ status: 'removed', resolvedReports: 1 });
    expect((await call('GET', `${subs}/subtitles/${id}`)).status).toBe(410);
    const download = await fetch(`${subs}/subtitles/${id}/download?format=vtt`);
    expect(download.status).toBe(410);
    expect(((await download.json()) as { code: string }).code).toBe('gone');
    const search = await call('GET', `${subs}/subtitles?anime=${anime}&episode=1`);
    expect(search.body.items).toEqual([]);
    expect(
      (await call('POST', `${subs}/subtitles/${id}/reports`, 'rep-fay', undefined, { reason: 'spam' }))
        .status,
    ).toBe(410);
    expect(await queueOf()).toEqual([]);
    // The same file again is still a duplicate of the removed subtitle: a takedown is not undone by re-uploading.
    const reupload = await upload(
      uploads,
      'up-alice',
      { animeId: String(anime), episode: '1', language: 'ja' },
      Buffer.from(text),
    );
    expect(reupload.status).toBe(409);
  });

  it('keep resolves the reports and leaves the subtitle downloadable', async () => {
    const res = await upload(
      uploads,
      'up-alice',
      { animeId: String(trigun), episode: '5', language: 'en' },
      Buffer.from(srtOf('keep')),
    );
    const kept = res.body.id;
    await call('POST', `${subs}/subtitles/${kept}/reports`, 'rep-hal', undefined, { reason: 'bad_quality' });
    const decision = await call('POST', `${subs}/subtitles/${kept}/moderation`, 'mod-gren', ['admin'], {
      action: 'keep',
    });
    expect(decision.body).toMatchObject({ status: 'published', resolvedReports: 1 });
    expect((await fetch(`${subs}/subtitles/${kept}/download`)).status).toBe(200);
    const resolved = await call('GET', `${subs}/subtitles/reports?status=resolved`, 'mod-gren', MOD);
    expect(resolved.body.items.find((r: { subtitleId: string }) => r.subtitleId === kept)).toMatchObject({
      resolution: 'kept',
    });
    // Resolved, so the same user may report it again.
    expect(
      (await call('POST', `${subs}/subtitles/${kept}/reports`, 'rep-hal', undefined, { reason: 'spam' }))
        .status,
    ).toBe(201);
  });
});

describe('on functions-framework (smoke)', () => {
  it('upload-subtitle takes an upload and subtitles serves it converted', async () => {
    const up = await listen(getTestServer('upload-subtitle') as Server);
    const sub = await listen(getTestServer('subtitles') as Server);
    closers.push(up.close, sub.close);
    const vtt = 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nframework smoke\n';
    const res = await upload(
      up.url,
      'up-ff',
      { animeId: String(trigun), episode: '9', language: 'en' },
      Buffer.from(vtt),
    );
    expect(res.status).toBe(201);
    expect(res.body.format).toBe('vtt');
    const srt = await fetch(`${sub.url}/subtitles/${res.body.id}/download?format=srt`);
    expect(srt.status).toBe(200);
    expect(await srt.text()).toBe('1\n00:00:01,000 --> 00:00:02,000\nframework smoke\n');
  });
});
