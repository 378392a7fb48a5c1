/**
 * "My list": one page of the viewer's entries for a status and/or favourites (the library's own paging
 * and sorts), the count per status for the tabs, the inline row edit (status, progress, score), and for
 * each anime being watched whether subtitles exist for the viewer's next episode in their languages.
 */
import type { subtitleView } from '../../../functions/lib/subtitles/store.ts';
import type { Api } from './api.ts';
import { query } from './api.ts';
import { type ListPage, STATUSES } from './catalog.ts';
import { describeProblem, entryForm } from './forms.ts';

export const LIST_SORTS = ['updated', 'title', 'score', 'progress', 'started'] as const;
export const PER_PAGE = 50;

export interface ListView {
  page: ListPage;
  counts: Record<string, number>;
}

export async function loadList(
  api: Api,
  token: string,
  options: { status: string | undefined; sort: string | undefined; page: number; favourite?: boolean },
): Promise<ListView> {
  const one = (status: string | undefined, perPage: number, page = 1, sort?: string, favourite?: boolean) =>
    api.json<ListPage>({ path: `/me/library${query({ status, favourite, perPage, page, sort })}`, token });
  const [page, ...totals] = await Promise.all([
    one(options.status, PER_PAGE, options.page, options.sort, options.favourite || undefined),
    one(undefined, 1),
    ...STATUSES.map((s) => one(s, 1)),
  ]);
  const counts: Record<string, number> = { all: totals[0]?.total ?? 0 };
  STATUSES.forEach((s, i) => {
    counts[s] = totals[i + 1]?.total ?? 0;
  });
  return { page, counts };
}

/**
 * Apply one row's form. `action=remove` takes the anime off the list (library `DELETE /me/library/{id}`;
 * the rating stays). Otherwise the inline edit: the entry (status, progress), then the score when it changed
 * — a new score is saved (`PUT /anime/{id}/rating`), a cleared one ("—" where a score was) removes the
 * rating and its review (`DELETE /anime/{id}/rating`), and the message says so.
 */
export async function applyRowEdit(
  api: Api,
  token: string,
  form: FormData,
): Promise<{ ok: boolean; message: string }> {
  const animeId = String(form.get('animeId') ?? '');
  if (!/^[1-9]\d{0,9}$/.test(animeId)) return { ok: false, message: 'Reload the page and try again.' };
  const title = String(form.get('title') ?? 'Entry');
  if (form.get('action') === 'remove') {
    try {
      await api.json({ method: 'DELETE', path: `/me/library/${animeId}`, token });
      return { ok: true, message: `${title} removed from your list.` };
    } catch (error) {
      return { ok: false, message: describeProblem(error).message };
    }
  }
  const parsed = entryForm(form);
  if (!parsed.ok) return { ok: false, message: Object.values(parsed.state.errors).join(' ') };
  const score = String(form.get('score') ?? '').trim();
  const previous = String(form.get('previousScore') ?? '').trim();
  const n = Number(score);
  if (score && (!Number.isInteger(n) || n < 1 || n > 10))
    return { ok: false, message: 'Choose a score from 1 to 10.' };
  try {
    await api.json({ method: 'PUT', path: `/me/library/${animeId}`, token, json: parsed.value });
    if (score && score !== previous) {
      await api.json({ method: 'PUT', path: `/anime/${animeId}/rating`, token, json: { score: n } });
    } else if (!score && previous) {
      await api.json({ method: 'DELETE', path: `/anime/${animeId}/rating`, token });
      return { ok: true, message: `${title} updated; your rating (and review) removed.` };
    }
    return { ok: true, message: `${title} updated.` };
  } catch (error) {
    const { message, errors } = describeProblem(error);
    return { ok: false, message: [message, ...Object.values(errors)].join(' ') };
  }
}

type Subtitle = ReturnType<typeof subtitleView>;

/** Where the viewer's subtitle languages came from (shown on the page). */
export type LanguageSource = 'settings' | 'browser' | 'default';

/**
 * The viewer's subtitle languages: `preferredSubtitleLanguages` of the library's `GET /me` when set, else
 * the primary tags of the browser's `Accept-Language` (RFC 9110 §12.5.4, by q-value, at most 5), else `en`.
 */
export async function subtitleLanguages(
  api: Api,
  token: string,
  acceptLanguage: string | null,
): Promise<{ languages: string[]; source: LanguageSource }> {
  const me = await api
    .json<{ preferredSubtitleLanguages?: string[] }>({ path: '/me', token })
    .catch(() => undefined);
  if (me?.preferredSubtitleLanguages?.length)
    return { languages: me.preferredSubtitleLanguages, source: 'settings' };
  const browser = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag.trim().toLowerCase().split('-')[0] ?? '', q: q === undefined ? 1 : Number(q) };
    })
    .filter((l) => /^[a-z]{2,3}$/.test(l.tag) && l.q > 0)
    .sort((a, b) => b.q - a.q)
    .map((l) => l.tag);
  const unique = [...new Set(browser)].slice(0, 5);
  return unique.length ? { languages: unique, source: 'browser' } : { languages: ['en'], source: 'default' };
}

/** Subtitles for one anime's next episode, best per language (in the viewer's order). */
export interface NextEpisodeSubtitles {
  episode: number;
  found: { language: string; id: string; release: string | null }[];
}

const WATCHING = new Set(['watching', 'rewatching']);

/**
 * For each entry being watched (watching, rewatching) whose next episode (progress + 1) exists: the
 * subtitles search of the API (`GET /subtitles?anime&episode`, public, best voted first) narrowed to the
 * viewer's languages (a subtitle's language matches by exact tag or primary subtag). At most 6 searches
 * run at once; a failed search leaves that row without a ★ (never the page).
 */
export async function nextEpisodeSubtitles(
  api: Api,
  items: readonly ListPage['items'][number][],
  languages: readonly string[],
): Promise<Map<number, NextEpisodeSubtitles>> {
  const wanted = items.filter(
    (e) => WATCHING.has(e.status) && (e.anime.episodes === null || e.progress < e.anime.episodes),
  );
  const out = new Map<number, NextEpisodeSubtitles>();
  const primary = (tag: string) => tag.toLowerCase().split('-')[0] ?? '';
  let next = 0;
  const worker = async () => {
    while (next < wanted.length) {
      const e = wanted[next++];
      if (!e) break;
      const episode = e.progress + 1;
      const page = await api
        .json<{ items: Subtitle[] }>({
          path: `/subtitles${query({ anime: e.animeId, episode, sort: 'votes', perPage: 100 })}`,
        })
        .catch(() => undefined);
      if (!page) continue;
      const found = languages.flatMap((lang) => {
        const best =
          page.items.find((s) => s.language.toLowerCase() === lang.toLowerCase()) ??
          page.items.find((s) => primary(s.language) === primary(lang));
        return best ? [{ language: best.language, id: best.id, release: best.release }] : [];
      });
      out.set(e.animeId, { episode, found });
    }
  };
  await Promise.all(Array.from({ length: Math.min(6, wanted.length) }, worker));
  return out;
}
