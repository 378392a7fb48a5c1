import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readSubtitle, retimeCues } from '../../functions/lib/subtitles/formats/convert.ts';
import { osHashOfBytes } from '../../functions/subtitles/oshash.ts';
import { readZip } from '../../functions/upload-subtitle/zip.ts';
import { ensureRealmRole } from '../setup/keycloak-client.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { roleCaller, scratchBucket, serveSubtitleFunctions, srtOf, uploader } from '../support/subtitles.ts';
import { animeIdByMal, prepareDatabase } from '../support/tracking.ts';
import { makeZip } from '../support/zip.ts';

/**
 * Votes, download counts, release metadata (fps, flags) and lookup by video hash, over HTTP on the lean
 * host: real Ceph RGW, PostgreSQL, and mongo-java-server (the MongoDB wire-compatible substitute).
 */
const env = inject('env');
const database = `isekai_${env.TEST_RUN_ID}_subtitle_metadata`;
let bucket: Awaited<ReturnType<typeof scratchBucket>>;
let tokens: KeycloakTokens;
let upload: ReturnType<typeof uploader>;
let call: ReturnType<typeof roleCaller>;
let uploads = '';
let subs = '';
let animeId = 0;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  animeId = await animeIdByMal(env.DATABASE_URL as string, 6);
  bucket = await scratchBucket(env, 'metadata');
  tokens = await keycloakTokens(env, 'subtitles-metadata');
  upload = uploader(tokens);
  call = roleCaller(tokens);
  const served = await serveSubtitleFunctions(env, { database, bucket: bucket.bucket });
  ({ uploads, subs } = served);
  closers.push(served.close);
});
afterAll(async () => {
  for (const close of closers) await close();
  await bucket?.drop();
  await tokens?.close();
});

const put = (tag: string, fields: Record<string, string> = {}) =>
  upload(
    uploads,
    'up-meta',
    { animeId: String(animeId), episode: '2', language: 'en', ...fields },
    Buffer.from(srtOf(tag)),
  );
const ids = (body: { items: { id: string }[] }) => body.items.map((s) => s.id);

describe('votes and download counts', () => {
  let a = '';
  let b = '';
  beforeAll(async () => {
    a = (await put('vote-a')).body.id;
    b = (await put('vote-b')).body.id;
  });

  it('one vote per user, changeable and withdrawable; the tally is on the subtitle', async () => {
    const vote = (user: string, value: number) =>
      call('PUT', `${subs}/subtitles/${a}/vote`, user, undefined, { value });
    expect((await vote('v-ann', 1)).body).toEqual({
      subtitleId: a,
      value: 1,
      votes: { up: 1, down: 0, score: 1 },
    });
    expect((await vote('v-ann', 1)).body.votes).toEqual({ up: 1, down: 0, score: 1 }); // the same vote again
    expect((await vote('v-ben', 1)).body.votes).toEqual({ up: 2, down: 0, score: 2 });
    expect((await vote('v-ann', -1)).body.votes).toEqual({ up: 1, down: 1, score: 0 }); // changed
    const withdrawn = await call('DELETE', `${subs}/subtitles/${a}/vote`, 'v-ann');
    expect(withdrawn.body).toEqual({ subtitleId: a, value: null, votes: { up: 1, down: 0, score: 1 } });
    expect((await call('GET', `${subs}/subtitles/${a}`)).body.votes).toEqual({ up: 1, down: 0, score: 1 });
  });

  it('refuses a vote without a token (401), with a bad value (400), on an unknown subtitle (404)', async () => {
    expect(
      (await call('PUT', `${subs}/subtitles/${a}/vote`, undefined, undefined, { value: 1 })).status,
    ).toBe(401);
    const bad = await call('PUT', `${subs}/subtitles/${a}/vote`, 'v-cat', undefined, { value: 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toMatch(/^\/body/);
    expect(
      (await call('PUT', `${subs}/subtitles/${'0'.repeat(24)}/vote`, 'v-cat', undefined, { value: 1 }))
        .status,
    ).toBe(404);
  });

  it('sorts by votes, and by downloads as they are counted', async () => {
    await call('PUT', `${subs}/subtitles/${b}/vote`, 'v-ann', undefined, { value: 1 });
    await call('PUT', `${subs}/subtitles/${b}/vote`, 'v-cat', undefined, { value: 1 });
    const byVotes = await call('GET', `${subs}/subtitles?anime=${animeId}&episode=2&sort=votes`);
    expect(ids(byVotes.body).slice(0, 2)).toEqual([b, a]);
    for (let i = 0; i < 3; i++) expect((await fetch(`${subs}/subtitles/${a}/download`)).status).toBe(200);
    const byDownloads = await call('GET', `${subs}/subtitles?anime=${animeId}&episode=2&sort=downloads`);
    expect(ids(byDownloads.body).slice(0, 2)).toEqual([a, b]);
    expect(byDownloads.body.items[0].downloads).toBe(3);
  });

  it("the detail and the search carry the caller's own vote (viewerVote), never cached; no token, no field", async () => {
    // By now: a has v-ben's up vote (v-ann withdrew hers); b has v-ann's and v-cat's up votes.
    const viewerVotes = async (user: string) =>
      Object.fromEntries(
        (await call('GET', `${subs}/subtitles?anime=${animeId}&episode=2`, user)).body.items.map(
          (s: { id: string; viewerVote: unknown }) => [s.id, s.viewerVote],
        ),
      );
    expect((await call('GET', `${subs}/subtitles/${a}`, 'v-ben')).body.viewerVote).toBe(1);
    expect((await call('GET', `${subs}/subtitles/${a}`, 'v-ann')).body.viewerVote).toBeNull();
    expect(await viewerVotes('v-ann')).toMatchObject({ [a]: null, [b]: 1 });
    await call('PUT', `${subs}/subtitles/${a}/vote`, 'v-ann', undefined, { value: -1 });
    expect(await viewerVotes('v-ann')).toMatchObject({ [a]: -1, [b]: 1 });
    expect((await call('GET', `${subs}/subtitles/${a}`, 'v-ann')).body.viewerVote).toBe(-1);

    const signed = { authorization: `Bearer ${await tokens.sign('v-ann', { roles: ['viewer'] })}` };
    for (const path of [`/subtitles/${a}`, `/subtitles?anime=${animeId}&episode=2`]) {
      const mine = await fetch(`${subs}${path}`, { headers: signed });
      expect(mine.headers.get('cache-control'), path).toBe('private, no-store');
      const anyone = await fetch(`${subs}${path}`);
      expect(anyone.headers.get('cache-control') ?? '', path).not.toContain('private');
      expect(JSON.stringify(await anyone.json()), path).not.toContain('viewerVote');
    }
  });
});

describe('release metadata and video hash', () => {
  const video = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 31) & 0xff);
  const hash = osHashOfBytes(video);
  let id = '';

  it('stores release name, fps, flags and the video hash given at upload', async () => {
    const res = await put('meta', {
      release: '[Isekai] Trigun - 02 (BD 1080p)',
      fps: '23.976',
      hearingImpaired: 'true',
      foreignPartsOnly: 'false',
      machineTranslated: 'true',
      videoHash: hash.toUpperCase(),
      videoSize: String(video.length),
    });
    expect(res.status).toBe(201);
    id = res.body.id;
    expect(res.body).toMatchObject({
      release: '[Isekai] Trigun - 02 (BD 1080p)',
      fps: '23.976',
      flags: { hearingImpaired: true, foreignPartsOnly: false, machineTranslated: true },
      video: { hash, size: video.length },
    });
  });

  it.each([
    ['a frame rate we do not know', { fps: '12' }, '/body/fps'],
    ['a video hash that is not 16 hex digits', { videoHash: 'xyz' }, '/body/videoHash'],
  ])('refuses %s (400 naming the field)', async (_name, fields, field) => {
    const res = await put(`bad-${field}`, fields);
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('finds it by the video hash a player computed, and by release text and flags', async () => {
    expect(ids((await call('GET', `${subs}/subtitles?videoHash=${hash}`)).body)).toEqual([id]);
    expect((await call('GET', `${subs}/subtitles?videoHash=${'0'.repeat(16)}`)).body.total).toBe(0);
    expect(ids((await call('GET', `${subs}/subtitles?anime=${animeId}&release=bd%201080P`)).body)).toEqual([
      id,
    ]);
    expect(ids((await call('GET', `${subs}/subtitles?anime=${animeId}&hearingImpaired=true`)).body)).toEqual([
      id,
    ]);
    expect(
      ids((await call('GET', `${subs}/subtitles?anime=${animeId}&machineTranslated=false`)).body),
    ).not.toContain(id);
  });

  it('converts from the uploaded frame rate when only the video’s is given', async () => {
    const res = await fetch(`${subs}/subtitles/${id}/download?toFps=25`);
    const cues = readSubtitle(await res.text(), 'srt').cues;
    expect(cues[0]?.start).toBe(Math.round(1000 * (24000 / 1001 / 25)));
  });
});

describe('zip uploads', () => {
  const zipUpload = (zip: Buffer, fields: Record<string, string> = {}) =>
    upload(uploads, 'up-zip', { animeId: String(animeId), language: 'en', ...fields }, zip, {
      fileName: 'batch.zip',
    });

  it('stores each file with its own verdict (207), the episode from each file name', async () => {
    const before = await bucket.keys(`subtitles/${animeId}/`);
    const zip = makeZip([
      { name: 'Trigun/[Isekai] Trigun - 03 (BD).srt', data: srtOf('zip three'), deflate: true },
      { name: 'Trigun/Trigun S01E04.en.vtt', data: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nzip four\n' },
      { name: '../../evil - 05.srt', data: srtOf('zip evil') },
      { name: 'Trigun/notes.srt', data: srtOf('zip no episode') },
      { name: 'Trigun/bomb - 06.srt', data: new Uint8Array(4 * 1024 * 1024), deflate: true },
    ]);
    const res = await zipUpload(zip);
    expect(res.status).toBe(207);
    expect(res.body.stored).toBe(2);
    expect(res.body.files.map((f: { name: string; status: number }) => [f.name, f.status])).toEqual([
      ['Trigun/[Isekai] Trigun - 03 (BD).srt', 201],
      ['Trigun/Trigun S01E04.en.vtt', 201],
      ['../../evil - 05.srt', 400],
      ['Trigun/notes.srt', 400],
      ['Trigun/bomb - 06.srt', 400],
    ]);
    const [three, four] = res.body.files;
    expect(three.subtitle).toMatchObject({
      episode: 3,
      format: 'srt',
      fileName: '[Isekai] Trigun - 03 (BD).srt',
    });
    expect(four.subtitle).toMatchObject({ episode: 4, format: 'vtt' });
    expect(res.body.files[3].problem.errors[0].field).toBe('/body/episode');
    const after = await bucket.keys(`subtitles/${animeId}/`);
    expect(after.filter((k) => !before.includes(k)).sort()).toEqual(
      [
        `subtitles/${animeId}/${three.subtitle.id}.srt`,
        `subtitles/${animeId}/${four.subtitle.id}.vtt`,
      ].sort(),
    );
  });

  it('takes the episode from the form for every file, and reports duplicates of stored files per file', async () => {
    const zip = makeZip([
      { name: 'a.srt', data: srtOf('zip three') }, // stored above: 409
      { name: 'b.srt', data: srtOf('zip ten') },
    ]);
    const res = await zipUpload(zip, { episode: '10' });
    expect(res.body.files.map((f: { status: number }) => f.status)).toEqual([409, 201]);
    expect(res.body.files[1].subtitle.episode).toBe(10);
  });

  it('refuses a zip whose entries share their data (422) and stores nothing', async () => {
    const before = await bucket.keys(`subtitles/${animeId}/`);
    const zip = makeZip([
      { name: 'x - 11.srt', data: srtOf('overlap'), deflate: true },
      { name: 'y - 12.srt', data: srtOf('overlap'), deflate: true, sameDataAs: 0 },
    ]);
    const res = await zipUpload(zip);
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('/body/file');
    expect(await bucket.keys(`subtitles/${animeId}/`)).toEqual(before);
  });
});

describe('round trip', () => {
  it('zip upload → search → hash lookup → download (each format, shifted, fps-converted) → re-upload: the same cues', async () => {
    const video = Uint8Array.from({ length: 150_000 }, (_, i) => (i * 131) & 0xff);
    const videoHash = osHashOfBytes(video);
    const ass =
      '[Script Info]\nScriptType: v4.00+\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\an8}Round {\\i1}trip{\\i0}\\Nsecond line\nDialogue: 0,0:01:03.25,0:01:05.00,Default,,0,0,0,,a < b & c\n';
    const zip = makeZip([
      { name: 'Trigun - 20.ass', data: ass, deflate: true },
      { name: 'Trigun - 21.srt', data: srtOf('round trip 21'), deflate: true },
    ]);
    const up = await upload(
      uploads,
      'up-round',
      { animeId: String(animeId), language: 'en', fps: '23.976', videoHash, videoSize: String(video.length) },
      zip,
      { fileName: 'round.zip' },
    );
    expect(up.body.files.map((f: { status: number }) => f.status)).toEqual([201, 201]);
    const found = await call('GET', `${subs}/subtitles?anime=${animeId}&episode=20&format=ass`);
    const id = found.body.items[0].id;
    expect(ids((await call('GET', `${subs}/subtitles?videoHash=${videoHash}`)).body).sort()).toEqual(
      up.body.files.map((f: { subtitle: { id: string } }) => f.subtitle.id).sort(),
    );
    const original = readSubtitle(ass, 'ass').cues;
    const timing = { shiftMs: -400, ratio: 24000 / 1001 / 25 };
    const expected = retimeCues(original, timing).map((c) => [
      Math.round(c.start / 10),
      Math.round(c.end / 10),
      c.text,
    ]);
    for (const format of ['srt', 'vtt', 'ass'] as const) {
      const res = await fetch(`${subs}/subtitles/${id}/download?format=${format}&shift=-400&toFps=25`);
      expect(res.status).toBe(200);
      const text = await res.text();
      const again = await upload(
        uploads,
        'up-round',
        { animeId: String(animeId), episode: '22', language: 'en' },
        Buffer.from(text),
        { fileName: `again.${format}` },
      );
      expect(again.status).toBe(201);
      const stored = await (await fetch(`${subs}/subtitles/${again.body.id}/download`)).text();
      // Times to the centisecond (ASS keeps no more), text with its formatting and literal <, &.
      expect(
        readSubtitle(stored, format).cues.map((c) => [
          Math.round(c.start / 10),
          Math.round(c.end / 10),
          c.text,
        ]),
      ).toEqual(expected);
    }
  });
});

describe('trusted uploaders', () => {
  const putAs = (user: string, tag: string, roles?: string[]) =>
    upload(
      uploads,
      user,
      { animeId: String(animeId), episode: '23', language: 'en' },
      Buffer.from(srtOf(tag)),
      roles ? { roles } : {},
    );

  it('admins mark an uploader trusted: their uploads, old and new, are marked and sort first', async () => {
    const before = (await putAs('up-trust', 'trust old')).body.id;
    const other = (await putAs('up-plain', 'plain')).body.id;
    expect((await call('GET', `${subs}/subtitles/${before}`)).body.uploader.trusted).toBe(false);
    const denied = await call(
      'PUT',
      `${subs}/subtitles/uploaders/${tokens.subOf('up-trust')}`,
      'mod-x',
      ['moderator'],
      {
        trusted: true,
      },
    );
    expect(denied.status).toBe(403);
    const set = await call(
      'PUT',
      `${subs}/subtitles/uploaders/${tokens.subOf('up-trust')}`,
      'admin-x',
      ['admin'],
      {
        trusted: true,
      },
    );
    expect(set.body).toEqual({ userId: tokens.subOf('up-trust'), trusted: true, subtitles: 1 });
    const after = (await putAs('up-trust', 'trust new')).body;
    expect(after.uploader.trusted).toBe(true);
    const newest = ids((await call('GET', `${subs}/subtitles?anime=${animeId}&episode=23`)).body);
    expect(newest.slice(0, 2).sort()).toEqual([before, after.id].sort());
    expect(newest[2]).toBe(other);
    await call('PUT', `${subs}/subtitles/uploaders/${tokens.subOf('up-trust')}`, 'admin-x', ['admin'], {
      trusted: false,
    });
    expect((await call('GET', `${subs}/subtitles/${before}`)).body.uploader.trusted).toBe(false);
  });

  it('the trusted-uploader role marks uploads too', async () => {
    // The realm export declares the role (knative/base/keycloak/realm-isekai.json); a shared Keycloak started
    // from an older export may lack it, so it is ensured here (a no-op on a fresh import).
    await ensureRealmRole(env, 'trusted-uploader');
    const res = await putAs('up-role', 'role trusted', ['uploader', 'trusted-uploader']);
    expect(res.body.uploader.trusted).toBe(true);
  });
});

describe('moderation: hide, restore, audit log', () => {
  const MOD = ['moderator'];
  const moderate = (id: string, action: string, note?: string) =>
    call('POST', `${subs}/subtitles/${id}/moderation`, 'mod-audit', MOD, {
      action,
      ...(note ? { note } : {}),
    });

  it('hides (410, out of search) and restores; every action is in the audit log; the uploader sees the decision', async () => {
    const id = (
      await upload(
        uploads,
        'up-audit',
        { animeId: String(animeId), episode: '24', language: 'en' },
        Buffer.from(srtOf('audit')),
      )
    ).body.id;
    await call('POST', `${subs}/subtitles/${id}/reports`, 'rep-audit', undefined, { reason: 'spam' });
    expect((await moderate(id, 'hide', 'looks like spam, checking')).body).toEqual({
      subtitleId: id,
      action: 'hide',
      status: 'hidden',
      resolvedReports: 1,
    });
    expect((await fetch(`${subs}/subtitles/${id}/download`)).status).toBe(410);
    expect((await call('GET', `${subs}/subtitles/${id}`)).status).toBe(410);
    expect((await call('GET', `${subs}/subtitles?anime=${animeId}&episode=24`)).body.total).toBe(0);
    expect((await moderate(id, 'hide')).status).toBe(409);
    const mine = await call('GET', `${subs}/subtitles/mine`, 'up-audit');
    expect(mine.body.items).toEqual([
      expect.objectContaining({
        id,
        status: 'hidden',
        moderation: { action: 'hide', note: 'looks like spam, checking', at: expect.any(String) },
      }),
    ]);
    expect((await moderate(id, 'restore', 'false alarm')).body.status).toBe('published');
    expect((await fetch(`${subs}/subtitles/${id}/download`)).status).toBe(200);
    expect((await moderate(id, 'restore')).status).toBe(409);
    expect((await call('GET', `${subs}/subtitles/${id}/audit`, 'rep-audit')).status).toBe(403);
    const log = await call('GET', `${subs}/subtitles/${id}/audit`, 'mod-audit', MOD);
    expect(
      log.body.items.map((a: { action: string; note: string; from: string; to: string }) => [
        a.action,
        a.note,
        a.from,
        a.to,
      ]),
    ).toEqual([
      ['restore', 'false alarm', 'hidden', 'published'],
      ['hide', 'looks like spam, checking', 'published', 'hidden'],
    ]);
    expect(log.body.items[1]).toMatchObject({
      moderatorId: tokens.subOf('mod-audit'),
      moderatorName: tokens.usernameOf('mod-audit'),
      resolvedReports: 1,
    });
    expect((await moderate(id, 'remove', 'confirmed spam')).body.status).toBe('removed');
    expect((await moderate(id, 'restore')).status).toBe(410);
  });
});

describe('bulk download', () => {
  it('streams a zip of the best subtitle of each episode in a range, converted on request', async () => {
    for (const episode of [13, 14, 15]) {
      const res = await upload(
        uploads,
        'up-bulk',
        { animeId: String(animeId), episode: String(episode), language: 'de' },
        Buffer.from(srtOf(`bulk ${episode}`)),
      );
      expect(res.status).toBe(201);
    }
    const res = await fetch(`${subs}/subtitles/bulk?anime=${animeId}&language=de&from=13&to=14&format=vtt`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/ - 13-14\.de\.zip"/);
    const members = await readZip(Buffer.from(await res.arrayBuffer()));
    expect(members.map((m) => m.name)).toEqual([
      expect.stringMatching(/ - 13 \[Name up-bulk\]\.de\.vtt$/),
      expect.stringMatching(/ - 14 \[Name up-bulk\]\.de\.vtt$/),
    ]);
    const first = members[0] as { bytes: Buffer };
    expect(readSubtitle(first.bytes.toString(), 'vtt').cues[0]?.text).toBe('bulk 13 line 1');
    expect((await fetch(`${subs}/subtitles/bulk?anime=${animeId}&language=fr`)).status).toBe(404);
    expect((await fetch(`${subs}/subtitles/bulk?anime=${animeId}&language=de&from=5&to=2`)).status).toBe(400);
  });
});

describe('a file covering several episodes', () => {
  it('is found by each episode of its range and named by the range; a range past the count or backwards is 400', async () => {
    const res = await upload(
      uploads,
      'up-range',
      { animeId: String(animeId), episode: '25', episodeTo: '26', language: 'it' },
      Buffer.from(srtOf('double episode')),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ episode: 25, episodeTo: 26 });
    for (const episode of [25, 26])
      expect(
        ids((await call('GET', `${subs}/subtitles?anime=${animeId}&episode=${episode}&language=it`)).body),
      ).toEqual([res.body.id]);
    expect((await call('GET', `${subs}/subtitles?anime=${animeId}&episode=24&language=it`)).body.total).toBe(
      0,
    );
    const file = await fetch(`${subs}/subtitles/${res.body.id}/download`);
    expect(file.headers.get('content-disposition')).toContain(' - 25-26 [Name up-range].it.srt');
    const backwards = await upload(
      uploads,
      'up-range',
      { animeId: String(animeId), episode: '5', episodeTo: '4', language: 'it' },
      Buffer.from(srtOf('backwards')),
    );
    expect(backwards.body.errors[0].field).toBe('/body/episodeTo');
    const past = await upload(
      uploads,
      'up-range',
      { animeId: String(animeId), episode: '5', episodeTo: '999', language: 'it' },
      Buffer.from(srtOf('past')),
    );
    expect(past.status).toBe(400);
    expect(past.body.errors[0].field).toBe('/body/episodeTo');
  });
});
