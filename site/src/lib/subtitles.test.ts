import { describe, expect, it } from 'vitest';
import { answeredState, relayableAction } from './notifications.ts';
import { memoryStore } from './session.ts';
import { downloadQuery, subtitleFilter } from './subtitles.ts';

const q = (text: string) => downloadQuery(new URLSearchParams(text));

describe('downloadQuery: the site download form → the API download query', () => {
  it('a shift in seconds becomes milliseconds; format, frame rate and BOM pass on', () => {
    expect(q('format=vtt&shift=1.5')).toEqual({ ok: true, query: '?format=vtt&shift=1500' });
    expect(q('format=srt&shift=-0,25&toFps=25&bom=on')).toEqual({
      ok: true,
      query: '?format=srt&shift=-250&toFps=25&bom=true',
    });
    expect(q('format=ass&shift=0')).toEqual({ ok: true, query: '?format=ass' });
  });

  it('the original file takes no option; bad values are refused with a sentence', () => {
    expect(q('format=original')).toEqual({ ok: true, query: '?original=true' });
    expect(q('format=original&shift=2')).toMatchObject({ ok: false });
    expect(q('format=exe')).toEqual({ ok: false, message: 'Choose SRT, WebVTT, ASS or the original file.' });
    expect(q('shift=1e9')).toMatchObject({ ok: false });
    expect(q('shift=99999')).toMatchObject({ ok: false });
    expect(q('toFps=60')).toMatchObject({ ok: false });
  });
});

describe('subtitleFilter', () => {
  it('keeps valid values and drops the rest', () => {
    expect(
      subtitleFilter(new URLSearchParams('slang=pt-BR&sformat=ass&sepisode=4&ssort=downloads&shi=on')),
    ).toEqual({
      language: 'pt-BR',
      format: 'ass',
      episode: '4',
      sort: 'downloads',
      hearingImpaired: true,
    });
    expect(subtitleFilter(new URLSearchParams('slang=<x>&sformat=exe&sepisode=0&ssort=evil'))).toEqual({
      language: '',
      format: '',
      episode: '',
      sort: 'votes',
      hearingImpaired: false,
    });
  });
});

describe('relayableAction: notification actions the site relays', () => {
  it('API paths with a write method only', () => {
    const ok = { name: 'accept', label: 'Accept', method: 'POST', url: '/groups/7/invites/3/accept' };
    expect(relayableAction(ok)).toBe(true);
    expect(relayableAction({ ...ok, url: 'https://evil.example/x' })).toBe(false);
    expect(relayableAction({ ...ok, url: '//evil.example/x' })).toBe(false);
    expect(relayableAction({ ...ok, url: '/groups/../admin' })).toBe(false);
    expect(relayableAction({ ...ok, method: 'GET' })).toBe(false);
    expect(relayableAction({ ...ok, label: undefined })).toBe(false);
  });
});

describe('sign out everywhere: the revocation mark', () => {
  it('is kept per user until its TTL', async () => {
    let now = 1_000;
    const store = memoryStore(() => now);
    expect(await store.revokedBefore('u1')).toBe(0);
    await store.revokeBefore('u1', 900, 60);
    expect(await store.revokedBefore('u1')).toBe(900);
    expect(await store.revokedBefore('u2')).toBe(0);
    now += 61_000;
    expect(await store.revokedBefore('u1')).toBe(0);
  });
});

describe('answeredState: an answered invitation says how it ended', () => {
  it.each([
    ['accepted', 'Accepted'],
    ['declined', 'Declined'],
    ['revoked', 'Withdrawn by the group'],
  ])('%s → %s', (outcome, shown) => {
    expect(answeredState({ doneAt: '2026-01-01T00:00:00.000Z', data: { outcome } })).toBe(shown);
  });

  it('an open invitation has no state', () => {
    expect(answeredState({ doneAt: null, data: {} })).toBeUndefined();
  });
});
