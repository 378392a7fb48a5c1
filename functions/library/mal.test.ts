import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { type ExportEntry, toCsv, toMalXml } from '../lib/tracking/export.ts';
import { decodeUpload, escapeBareAmpersands } from './mal-decode.ts';
import { malStatus, parseMalXml } from './mal-rows.ts';

describe('MAL statuses', () => {
  it.each([
    ['1', 'watching'],
    ['2', 'completed'],
    ['3', 'on_hold'],
    ['4', 'dropped'],
    ['6', 'plan_to_watch'],
    ['Watching', 'watching'],
    ['On-Hold', 'on_hold'],
    ['onhold', 'on_hold'],
    ['Plan to Watch', 'plan_to_watch'],
    ['plantowatch', 'plan_to_watch'],
    [' Completed ', 'completed'],
    ['5', null],
    ['Binging', null],
  ])('%s → %s', (raw, expected) => {
    expect(malStatus(raw)).toBe(expected);
  });
});

describe('dirty input', () => {
  it('escapes bare ampersands outside CDATA only', () => {
    expect(escapeBareAmpersands('<t>Tom & Jerry &amp; &#38; &#x26;</t><c><![CDATA[a & b]]></c>')).toBe(
      '<t>Tom &amp; Jerry &amp; &#38; &#x26;</t><c><![CDATA[a & b]]></c>',
    );
  });

  it.each([
    ['UTF-8', Buffer.from('<a>Très</a>'), 'utf8'],
    ['UTF-8 with BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a>Très</a>')]), 'utf8'],
    [
      'UTF-16LE with BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode('<a>Très</a>', 'utf16le')]),
      'utf16le',
    ],
    ['Latin-1 without declaration', iconv.encode('<a>Très bien, à côté</a>', 'latin1'), undefined],
  ])('decodes %s', (_name, bytes, encoding) => {
    const decoded = decodeUpload(bytes);
    expect(decoded.text).toMatch(/^<a>Très/);
    if (encoding) expect(decoded.encoding).toBe(encoding);
  });

  it('gunzips and scrubs characters XML forbids', () => {
    const decoded = decodeUpload(gzipSync(Buffer.from('<a>x\u0001y</a>')));
    expect(decoded).toMatchObject({ text: '<a>xy</a>', gzipped: true });
  });

  it('reads rows: 0000-00-00 dates, score 0, rewatching flag, priorities', () => {
    const { rows } = parseMalXml(
      '<myanimelist><anime><series_animedb_id>5</series_animedb_id><my_status>Completed</my_status><my_rewatching>1</my_rewatching><my_start_date>0000-00-00</my_start_date><my_score>0</my_score><my_priority>Medium</my_priority><update_on_import>0</update_on_import></anime></myanimelist>',
    );
    expect(rows[0]).toMatchObject({
      malId: 5,
      status: 'rewatching',
      startedOn: null,
      score: null,
      priority: 1,
      updateOnImport: false,
    });
  });
});

const sample: ExportEntry = {
  animeId: 1,
  malId: 1,
  title: '=HYPERLINK("x") ]]> "q"',
  type: 'tv',
  episodes: 26,
  score: 9,
  status: 'rewatching',
  progress: 3,
  rewatchCount: 1,
  startedOn: '2020-01-01',
  finishedOn: null,
  notes: 'a,b\nc',
  tags: ['x'],
  priority: 2,
  private: false,
  favourite: true,
  createdAt: '',
  updatedAt: '',
};

describe('exports', () => {
  it('names every value it cannot take as given (never drops one silently)', () => {
    const xml = `<myanimelist><anime><series_animedb_id>1</series_animedb_id><series_title>X</series_title>
<my_status>Completed</my_status><my_watched_episodes>twelve</my_watched_episodes><my_score>11</my_score>
<my_start_date>2020-02-30</my_start_date><my_finish_date>0000-00-00</my_finish_date><my_times_watched>5000</my_times_watched>
<my_priority>URGENT</my_priority></anime>
<anime><series_animedb_id>2</series_animedb_id><my_status>2</my_status><my_start_date>2020-05-01</my_start_date>
<my_finish_date>2020-04-01</my_finish_date><my_score>0</my_score></anime></myanimelist>`;
    const [odd, backwards] = parseMalXml(xml).rows;
    expect(odd?.warnings).toEqual([
      'my_start_date "2020-02-30" is not a real date; left empty',
      'my_score 11 is over 10; not rated',
      'my_watched_episodes "twelve" is not a count; taken as 0',
      'my_times_watched is over 1000; taken as 1000',
      'my_priority "URGENT" is unknown; taken as low',
    ]);
    expect(backwards?.warnings).toEqual([
      'my_finish_date 2020-04-01 is before my_start_date 2020-05-01; left empty',
    ]);
  });

  it('MAL XML parses back to the same row', () => {
    const { rows } = parseMalXml(toMalXml([sample], { id: 'u', name: 'u&me' }));
    expect(rows[0]).toMatchObject({
      malId: 1,
      title: sample.title,
      status: 'rewatching',
      progress: 3,
      score: 9,
      rewatchCount: 1,
      notes: 'a,b\nc',
      priority: 2,
      finishedOn: null,
    });
  });

  it('CSV quotes per RFC 4180 and defuses formulas', () => {
    const [, line] = toCsv([sample]).split('\r\n');
    expect(line).toContain(`"'=HYPERLINK(""x"") ]]> ""q"""`);
    expect(toCsv([sample])).toContain('"a,b\nc"\r\n');
  });
});
