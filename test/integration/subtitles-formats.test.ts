import iconv from 'iconv-lite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readSubtitle } from '../../functions/lib/subtitles/formats/convert.ts';
import type { Cue } from '../../functions/lib/subtitles/formats/cue.ts';
import { sniffFormat } from '../../functions/lib/subtitles/formats/detect.ts';
import { scratchBucket, serveSubtitleFunctions, uploader } from '../support/subtitles.ts';
import { createTestTokens } from '../support/test-tokens.ts';
import { animeIdByMal, prepareDatabase } from '../support/tracking.ts';

/**
 * Real-world files (issue 13's table) and download shaping, over HTTP on the lean host: real Ceph RGW,
 * PostgreSQL (the catalogue) and mongo-java-server (the MongoDB wire-compatible substitute).
 */
const env = inject('env');
const database = `isekai_${env.TEST_RUN_ID}_subtitle_formats`;
let bucket: Awaited<ReturnType<typeof scratchBucket>>;
let upload: ReturnType<typeof uploader>;
let uploads = '';
let subs = '';
let anime = { id: 0, title: '', episodes: 0 };
let nextEpisode = 1;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  const id = await animeIdByMal(env.DATABASE_URL as string, 1);
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  const { rows } = await db.query('select title, episodes from anime where id = $1', [id]);
  await db.end();
  anime = { id, title: rows[0].title, episodes: rows[0].episodes };
  bucket = await scratchBucket(env, 'formats');
  const tokens = await createTestTokens();
  upload = uploader(tokens);
  const served = await serveSubtitleFunctions(env, tokens, { database, bucket: bucket.bucket });
  ({ uploads, subs } = served);
  closers.push(served.close);
});
afterAll(async () => {
  for (const close of closers) await close();
  await bucket?.drop();
});

/** Upload a file for the next free episode (files differ, so no duplicates), as `language`. */
async function put(bytes: Uint8Array, language = 'en', fields: Record<string, string> = {}) {
  const episode = String(fields.episode ?? (nextEpisode++ % anime.episodes) + 1);
  return upload(uploads, 'up-formats', { animeId: String(anime.id), episode, language, ...fields }, bytes);
}
const download = (id: string, query = '') => fetch(`${subs}/subtitles/${id}/download${query}`);
const times = (cues: readonly Cue[]) => cues.map((c) => [c.start, c.end, c.text]);

const POLISH = '1\n00:00:01,000 --> 00:00:02,500\nZażółć gęślą jaźń, powiedział Świętosław.\n';
const ASS_NO_FORMAT =
  '[Script Info]\nScriptType: v4.00+\n\n[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hello, world\nDialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,Second line\n';

/** Issue 13's table: each input uploaded, then the right cues (and, where the row says, a download). */
const ROWS: readonly [string, () => Uint8Array, string, [number, number, string][], string?][] = [
  [
    'a WebVTT cue with a named identifier',
    () => Buffer.from('WEBVTT\n\nintro\n00:00:01.000 --> 00:00:02.000\nHi\n'),
    'en',
    [[1000, 2000, 'Hi']],
  ],
  [
    'a WebVTT file with STYLE and NOTE blocks and cue settings',
    () =>
      Buffer.from(
        'WEBVTT\n\nSTYLE\n::cue { color: yellow }\n\nNOTE timed by hand\n\n1\n00:00:01.000 --> 00:00:02.000 line:0 align:start\nStyled\n',
      ),
    'en',
    [[1000, 2000, 'Styled']],
  ],
  [
    'an SRT without spaces around the arrow',
    () => Buffer.from('1\n00:00:04,000-->00:00:06,000\nX\n'),
    'en',
    [[4000, 6000, 'X']],
  ],
  [
    'an SRT with two spaces around the arrow',
    () => Buffer.from('1\n00:00:04,000  -->  00:00:06,000\nXX\n'),
    'en',
    [[4000, 6000, 'XX']],
  ],
  [
    'an SRT cue across 24 h (downloaded as VTT)',
    () => Buffer.from('1\n23:59:58,000 --> 24:00:02,500\nLate\n'),
    'en',
    [[86_398_000, 86_402_500, 'Late']],
    '23:59:58.000 --> 24:00:02.500',
  ],
  [
    'an SRT with hours past 99',
    () => Buffer.from('1\n100:00:00,000 --> 100:00:01,000\nVery late\n'),
    'en',
    [[360_000_000, 360_001_000, 'Very late']],
  ],
  [
    'an ASS whose [Events] has no Format line',
    () => Buffer.from(ASS_NO_FORMAT),
    'en',
    [
      [1000, 2000, 'Hello, world'],
      [3000, 4000, 'Second line'],
    ],
  ],
  [
    'an SRT {\\an8} line (downloaded as VTT: line:0, no tag)',
    () => Buffer.from('1\n00:00:01,000 --> 00:00:02,000\n{\\an8}Top line\n'),
    'en',
    [[1000, 2000, 'Top line']],
    '00:00:01.000 --> 00:00:02.000 line:0\nTop line\n',
  ],
  [
    'an SRT with a < b > c (downloaded as VTT: escaped)',
    () => Buffer.from('1\n00:00:01,000 --> 00:00:02,000\na < b > c\n'),
    'en',
    [[1000, 2000, 'a < b > c']],
    '\na &lt; b &gt; c\n',
  ],
  [
    'UTF-16LE without a BOM',
    () => iconv.encode('1\n00:00:01,000 --> 00:00:02,000\nSixteen bits\n', 'utf16le'),
    'en',
    [[1000, 2000, 'Sixteen bits']],
  ],
  [
    'a Polish windows-1250 SRT uploaded as pl',
    () => iconv.encode(POLISH, 'windows-1250'),
    'pl',
    [[1000, 2500, 'Zażółć gęślą jaźń, powiedział Świętosław.']],
  ],
  [
    'a UTF-8 SRT with a BOM and NUL padding',
    () => Buffer.concat([Buffer.from('\uFEFF1\n00:00:01,000 --> 00:00:02,000\nPadded\n'), Buffer.alloc(64)]),
    'en',
    [[1000, 2000, 'Padded']],
  ],
];

describe('issue 13: real-world files parse', () => {
  it('keeps every row of the table', () => expect(ROWS).toHaveLength(12));

  it.each(ROWS)('%s → 201 with the right cues', async (_name, bytes, language, cues, vtt) => {
    const res = await put(bytes(), language);
    expect(res.status).toBe(201);
    expect(res.body.cues).toBe(cues.length);
    const stored = await (await download(res.body.id)).text();
    expect(stored.includes('\uFFFD') || stored.includes('\u0000')).toBe(false);
    const format = sniffFormat(stored);
    expect(format).toBe(res.body.format);
    expect(times(readSubtitle(stored, format ?? 'srt').cues)).toEqual(cues);
    if (vtt) {
      const converted = await (await download(res.body.id, '?format=vtt')).text();
      expect(converted).toContain(vtt);
      expect(converted).not.toContain('{\\');
      expect(times(readSubtitle(converted, 'vtt').cues)).toEqual(cues);
    }
  });

  it('reports NUL padding as a warning, not an error', async () => {
    const res = await put(
      Buffer.concat([Buffer.from('1\n00:00:01,000 --> 00:00:02,000\nWarned\n'), Buffer.alloc(8)]),
    );
    expect(res.status).toBe(201);
    expect(res.body.warnings).toEqual(['dropped 8 NUL/EOF padding character(s) after the end of the file']);
  });

  it('never stores garbled text: bytes no code page of the language decodes → 415', async () => {
    const bytes = Buffer.concat([iconv.encode(POLISH, 'windows-1250'), Buffer.from([0x81, 0x98, 0x0a])]);
    const res = await put(bytes, 'pl');
    expect(res.status).toBe(415);
    expect(res.body.errors[0].field).toBe('/body/file');
  });

  it('refuses an episode past the anime’s episode count with 400 naming the count', async () => {
    const before = await bucket.keys(`subtitles/${anime.id}/`);
    const res = await put(Buffer.from('1\n00:00:01,000 --> 00:00:02,000\nToo far\n'), 'en', {
      episode: '999',
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([
      { field: '/body/episode', message: `must be at most ${anime.episodes}` },
    ]);
    expect(await bucket.keys(`subtitles/${anime.id}/`)).toEqual(before);
  });
});

describe('downloads', () => {
  const SRT =
    '1\n00:00:01,000 --> 00:00:02,500\nFirst <i>line</i>\n\n2\n00:01:03,250 --> 00:01:05,000\nSecond & last\n';
  let id = '';
  beforeAll(async () => {
    const res = await put(Buffer.from(SRT), 'en', {
      release: '[Isekai Subs] Cowboy Bebop - 05 (BD 1080p)',
      episode: '5',
    });
    expect(res.status).toBe(201);
    id = res.body.id;
  });

  it('moves the cues by shift (ms), either way', async () => {
    const later = await download(id, '?format=srt&shift=2000');
    expect(later.status).toBe(200);
    expect(times(readSubtitle(await later.text(), 'srt').cues)).toEqual([
      [3000, 4500, 'First <i>line</i>'],
      [65_250, 67_000, 'Second & last'],
    ]);
    const earlier = await download(id, '?shift=-1500');
    expect(times(readSubtitle(await earlier.text(), 'srt').cues).map((c) => c.slice(0, 2))).toEqual([
      [0, 1000],
      [61_750, 63_500],
    ]);
  });

  it('converts frame rates (23.976 → 25 and back)', async () => {
    const pal = await download(id, '?fromFps=23.976&toFps=25');
    const cues = readSubtitle(await pal.text(), 'srt').cues;
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [959, 2398],
      [60_659, 62_338],
    ]);
    expect((await download(id, '?fromFps=23.976')).status).toBe(400);
  });

  it('syncs by two reference points (first and last line as heard on the video)', async () => {
    const res = await download(id, '?points=1000:1200,63250:64450');
    expect(times(readSubtitle(await res.text(), 'srt').cues).map((c) => c[0])).toEqual([1200, 64_450]);
    const mixed = await download(id, '?points=1000:1200,63250:64450&shift=5');
    expect(mixed.status).toBe(400);
    expect(((await mixed.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('/query/points');
  });

  it('adds a BOM and CRLF when asked', async () => {
    const res = await download(id, '?format=vtt&bom=true&eol=crlf');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    expect(text.startsWith('WEBVTT\r\n\r\n')).toBe(true);
    expect(text).not.toMatch(/[^\r]\n/);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
  });

  it.each([
    ['srt', 'application/x-subrip; charset=utf-8'],
    ['vtt', 'text/vtt; charset=utf-8'],
    ['ass', 'text/x-ssa; charset=utf-8'],
  ])('serves %s with its Content-Type and an RFC 6266 file name, each header once', async (format, type) => {
    const res = await download(id, `?format=${format}`);
    expect(res.headers.get('content-type')).toBe(type);
    const name = `${anime.title} - 05 [Isekai Subs].en.${format}`;
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    );
    for (const header of ['content-type', 'content-disposition', 'x-content-type-options'])
      expect(res.headers.get(header)).not.toContain(',');
  });

  it.each(['srt', 'vtt', 'ass'] as const)(
    'round trip: a %s download, shifted and fps-converted, re-uploads to the same cues',
    async (format) => {
      const query = `?format=${format}&shift=750&fromFps=25&toFps=24`;
      const res = await download(id, query);
      const text = await res.text();
      const expected = readSubtitle(text, format).cues;
      const again = await put(Buffer.from(text), 'en');
      expect(again.status).toBe(201);
      expect(again.body.format).toBe(format);
      const stored = await (await download(again.body.id)).text();
      expect(times(readSubtitle(stored, format).cues)).toEqual(times(expected));
      // …and they are the original cues moved: t × 25/24 + 750 (ASS to the centisecond).
      const round = (ms: number) => (format === 'ass' ? Math.round(ms / 10) * 10 : ms);
      expect(expected.map((c) => round(c.start))).toEqual(
        [1000 * (25 / 24) + 750, 63_250 * (25 / 24) + 750].map((t) => round(Math.round(t))),
      );
    },
  );

  it('serves an SSA upload as a real v4.00+ ASS', async () => {
    const ssa =
      '[Script Info]\nScriptType: v4.00\n\n[V4 Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding\nStyle: Default,Arial,20,16777215,65535,65535,-2147483640,-1,0,1,3,0,6,30,30,30,0,0\n\n[Events]\nFormat: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,{\\a1}SSA line\n';
    const res = await put(Buffer.from(ssa));
    expect(res.body.format).toBe('ssa');
    const ass = await (await download(res.body.id, '?format=ass')).text();
    expect(sniffFormat(ass)).toBe('ass');
    expect(ass).toContain('ScriptType: v4.00+');
    expect(ass).toContain(',0,8,30,30,30,0');
    expect(ass).toContain('Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,{\\an1}SSA line');
  });
});
