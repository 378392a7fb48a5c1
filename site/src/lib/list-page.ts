/**
 * "My list": one page of the viewer's entries for a status (the library's own paging), the count per
 * status for the tabs, and the inline row edit (status, progress, score).
 */
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
  options: { status: string | undefined; sort: string | undefined; page: number },
): Promise<ListView> {
  const one = (status: string | undefined, perPage: number, page = 1, sort?: string) =>
    api.json<ListPage>({ path: `/me/library${query({ status, perPage, page, sort })}`, token });
  const [page, ...totals] = await Promise.all([
    one(options.status, PER_PAGE, options.page, options.sort),
    one(undefined, 1),
    ...STATUSES.map((s) => one(s, 1)),
  ]);
  const counts: Record<string, number> = { all: totals[0]?.total ?? 0 };
  STATUSES.forEach((s, i) => {
    counts[s] = totals[i + 1]?.total ?? 0;
  });
  return { page, counts };
}

/** Apply one row's inline edit: the entry (status, progress) and, when given, the score. */
export async function applyRowEdit(
  api: Api,
  token: string,
  form: FormData,
): Promise<{ ok: boolean; message: string }> {
  const animeId = String(form.get('animeId') ?? '');
  if (!/^[1-9]\d{0,9}$/.test(animeId)) return { ok: false, message: 'Reload the page and try again.' };
  const parsed = entryForm(form);
  if (!parsed.ok) return { ok: false, message: Object.values(parsed.state.errors).join(' ') };
  const score = String(form.get('score') ?? '').trim();
  const previous = String(form.get('previousScore') ?? '').trim();
  try {
    await api.json({ method: 'PUT', path: `/me/library/${animeId}`, token, json: parsed.value });
    if (score && score !== previous) {
      const n = Number(score);
      if (!Number.isInteger(n) || n < 1 || n > 10)
        return { ok: false, message: 'Choose a score from 1 to 10.' };
      await api.json({ method: 'PUT', path: `/anime/${animeId}/rating`, token, json: { score: n } });
    }
    return { ok: true, message: `${String(form.get('title') ?? 'Entry')} updated.` };
  } catch (error) {
    const { message, errors } = describeProblem(error);
    return { ok: false, message: [message, ...Object.values(errors)].join(' ') };
  }
}
