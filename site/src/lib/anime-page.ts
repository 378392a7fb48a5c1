/**
 * The anime page's data and writes, apart from its markup: read the detail, the viewer's entry and rating
 * (through the edge, with the viewer's token), and apply one of the page's forms.
 */
import Value from 'typebox/value';
import { EpisodeRatingInput } from '../../../functions/lib/tracking/rating-schemas.ts';
import type { Api } from './api.ts';
import { ApiProblem } from './api.ts';
import type { AnimeDetail, Entry, EpisodeScore, RatingView, Review, WatchedEpisode } from './catalog.ts';
import { describeProblem, entryForm, type FormState, ratingForm } from './forms.ts';

export interface AnimeView {
  anime: AnimeDetail;
  entry: Entry | null;
  rating: RatingView | null;
  /** The newest public reviews (undefined when they could not be loaded: the page still renders). */
  reviews: { items: Review[]; total: number } | undefined;
  /** The viewer's watch history of this anime, newest first (empty when signed out or none). */
  history: WatchedEpisode[];
  /** Per-episode means (and the viewer's own scores); undefined when they could not be loaded. */
  episodes: EpisodeScore[] | undefined;
}

/** undefined when the anime does not exist. */
export async function loadAnime(
  api: Api,
  id: string,
  token: string | undefined,
): Promise<AnimeView | undefined> {
  const orNull = <T>(p: Promise<T>) =>
    p.catch((error: unknown) => {
      if (error instanceof ApiProblem && error.status === 404) return null;
      throw error;
    });
  const [anime, entry, rating, reviews, history, episodes] = await Promise.all([
    orNull(api.json<AnimeDetail>({ path: `/anime/${id}`, token })),
    token ? orNull(api.json<Entry>({ path: `/me/library/${id}`, token })) : null,
    token ? orNull(api.json<RatingView>({ path: `/anime/${id}/rating`, token })) : null,
    api
      .json<{ items: Review[]; total: number }>({ path: `/anime/${id}/reviews?perPage=10` })
      .catch(() => undefined),
    token
      ? api
          .json<{ items: WatchedEpisode[] }>({ path: `/me/library/${id}/history`, token })
          .then((h) => h.items)
          .catch(() => [])
      : [],
    api
      .json<{ episodes: EpisodeScore[] }>({ path: `/anime/${id}/episodes/ratings`, token })
      .then((e) => e.episodes)
      .catch(() => undefined),
  ]);
  return anime ? { anime, entry, rating, reviews, history, episodes } : undefined;
}

export type FormName = 'entry' | 'rating' | 'progress' | 'episode';

export type WriteResult =
  | { ok: true; message: string }
  | { ok: false; form: FormName; state: FormState; message: string; status: number };

/**
 * Apply the posted form (`action` = entry | progress | rating | episode | remove-entry | delete-rating |
 * delete-review | delete-episode-rating). `remove-entry` is library `DELETE /me/library/{id}` (the rating
 * stays); `delete-rating` is rate-anime `DELETE /anime/{id}/rating` (score, aspects and review together);
 * `delete-review` is `PATCH /anime/{id}/rating` with `review: null` (score and aspects stay);
 * `delete-episode-rating` is rate-anime `DELETE /anime/{id}/episodes/{episode}/rating` (that episode's score).
 */
export async function applyAnimeForm(
  api: Api,
  id: string,
  token: string,
  form: FormData,
): Promise<WriteResult> {
  const action = form.get('action');
  const fail = (name: FormName, state: FormState, error: unknown): WriteResult => {
    const { message, errors } = describeProblem(error);
    return {
      ok: false,
      form: name,
      state: { values: state.values, errors: { ...state.errors, ...errors } },
      message,
      status: error instanceof ApiProblem ? error.status : 502,
    };
  };
  if (action === 'remove-entry' || action === 'delete-rating') {
    const [path, done, name]: [string, string, FormName] =
      action === 'remove-entry'
        ? [`/me/library/${id}`, 'Removed from your list.', 'entry']
        : [`/anime/${id}/rating`, 'Your rating and review are deleted.', 'rating'];
    try {
      await api.json({ method: 'DELETE', path, token });
      return { ok: true, message: done };
    } catch (error) {
      return fail(name, { values: {}, errors: {} }, error);
    }
  }
  if (action === 'delete-review') {
    try {
      await api.json({ method: 'PATCH', path: `/anime/${id}/rating`, token, json: { review: null } });
      return { ok: true, message: 'Your review is deleted; your score stays.' };
    } catch (error) {
      return fail('rating', { values: {}, errors: {} }, error);
    }
  }
  if (action === 'delete-episode-rating') {
    const episode = String(form.get('episode') ?? '');
    const state = { values: {}, errors: {} };
    if (!/^[1-9]\d{0,4}$/.test(episode))
      return { ok: false, form: 'episode', state, message: 'Reload the page and try again.', status: 400 };
    try {
      await api.json({ method: 'DELETE', path: `/anime/${id}/episodes/${episode}/rating`, token });
      return { ok: true, message: `Your score of episode ${episode} is deleted.` };
    } catch (error) {
      return fail('episode', state, error);
    }
  }
  if (action === 'progress') {
    const next = Number(form.get('next'));
    const state = { values: {}, errors: {} };
    if (!Number.isInteger(next) || next < 1)
      return { ok: false, form: 'progress', state, message: 'Reload the page and try again.', status: 400 };
    const body = form.get('add') === '1' ? { status: 'watching', progress: next } : { progress: next };
    try {
      await api.json({ method: 'PUT', path: `/me/library/${id}`, token, json: body });
      return { ok: true, message: `Episode ${next} marked as watched.` };
    } catch (error) {
      return fail('progress', state, error);
    }
  }
  if (action === 'episode') {
    const values = {
      episode: String(form.get('episode') ?? ''),
      episodeScore: String(form.get('episodeScore') ?? ''),
    };
    const episode = Number(values.episode);
    const score = Number(values.episodeScore);
    const errors: Record<string, string> = {};
    if (!/^[1-9]\d{0,4}$/.test(values.episode)) errors.episode = 'Choose an episode number from 1.';
    if (!Value.Check(EpisodeRatingInput, { score })) errors.episodeScore = 'Choose a score from 1 to 10.';
    const state = { values, errors };
    if (Object.keys(errors).length > 0)
      return {
        ok: false,
        form: 'episode',
        state,
        message: 'Please check the highlighted fields.',
        status: 400,
      };
    try {
      await api.json({
        method: 'PUT',
        path: `/anime/${id}/episodes/${episode}/rating`,
        token,
        json: { score },
      });
      return { ok: true, message: `Episode ${episode}: your score ${score}/10 is saved.` };
    } catch (error) {
      const failed = fail('episode', state, error);
      // The API names the path's episode when it is past the episode count.
      if (!failed.ok && failed.status === 400 && !failed.state.errors.episodeScore)
        failed.state.errors.episode ??= 'This anime has no such episode.';
      return failed;
    }
  }
  if (action === 'rating') {
    const parsed = ratingForm(form);
    if (!parsed.ok)
      return {
        ok: false,
        form: 'rating',
        state: parsed.state,
        message: 'Please check the highlighted fields.',
        status: 400,
      };
    try {
      await api.json({ method: 'PUT', path: `/anime/${id}/rating`, token, json: parsed.value });
      return { ok: true, message: `Your rating (${parsed.value.score}/10) is saved.` };
    } catch (error) {
      return fail('rating', parsed.state, error);
    }
  }
  const parsed = entryForm(form);
  if (!parsed.ok)
    return {
      ok: false,
      form: 'entry',
      state: parsed.state,
      message: 'Please check the highlighted fields.',
      status: 400,
    };
  try {
    await api.json({ method: 'PUT', path: `/me/library/${id}`, token, json: parsed.value });
    return { ok: true, message: 'Your list entry is saved.' };
  } catch (error) {
    return fail('entry', parsed.state, error);
  }
}
