/**
 * Subtitles on the site: the anime page's list (subtitles `GET /subtitles`), the download relay's options
 * (subtitles `GET /subtitles/{id}/download`), votes, reports, and the upload relay (upload-subtitle
 * `POST /uploads`). Types come from the functions' own modules.
 */
import { REPORT_REASON_LABELS } from '../../../functions/lib/subtitles/report-reasons.ts';
import type { subtitleView } from '../../../functions/lib/subtitles/store.ts';
import { type Api, ApiProblem, problemOf, query } from './api.ts';
import { fieldErrors, sentence } from './field-messages.ts';
import { describeProblem } from './forms.ts';

/**
 * One published subtitle as the API shows it (functions/lib/subtitles/store.ts `subtitleView`); asked with
 * the viewer's token, also their own vote (`viewerVote`: 1, -1, or null when they have not voted).
 */
export type Subtitle = ReturnType<typeof subtitleView> & { viewerVote?: 1 | -1 | null };

/** The report reasons the API accepts (events/schemas/subtitle-reported.ts `ReportReason`), with labels. */
export const REPORT_REASONS = REPORT_REASON_LABELS;

/** The frame rates the API converts between (functions/lib/subtitles/formats/frame-rate.ts `FrameRateSchema`). */
export const FRAME_RATES = ['23.976', '24', '25', '29.97', '30'] as const;
export const TARGET_FORMATS = ['srt', 'vtt', 'ass'] as const;
export const SORTS = { votes: 'Best voted', downloads: 'Most downloaded', newest: 'Newest' } as const;

/** The anime page's filter (its own `s*` query parameters, so they never meet the page's other ones). */
export interface SubtitleFilter {
  language: string;
  format: string;
  episode: string;
  sort: keyof typeof SORTS;
  hearingImpaired: boolean;
}

export function subtitleFilter(params: URLSearchParams): SubtitleFilter {
  const sort = params.get('ssort') ?? '';
  const language = params.get('slang') ?? '';
  const format = params.get('sformat') ?? '';
  const episode = params.get('sepisode') ?? '';
  return {
    language: /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(language) ? language : '',
    format: ['srt', 'vtt', 'ass', 'ssa'].includes(format) ? format : '',
    episode: /^[1-9]\d{0,3}$/.test(episode) ? episode : '',
    sort: sort in SORTS ? (sort as keyof typeof SORTS) : 'votes',
    hearingImpaired: params.get('shi') === 'on',
  };
}

export interface SubtitleGroup {
  /** "Episode 3" or "Episodes 3–4". */
  readonly label: string;
  readonly episode: number;
  readonly language: string;
  readonly items: Subtitle[];
}

/**
 * An anime's published subtitles (up to 100, the API's page size) grouped by episode, then language; with
 * the viewer's token each carries their own vote.
 */
export async function loadSubtitles(
  api: Api,
  animeId: string,
  filter: SubtitleFilter,
  token?: string | undefined,
): Promise<{ groups: SubtitleGroup[]; total: number; languages: string[] }> {
  const page = await api.json<{ items: Subtitle[]; total: number }>({
    token,
    path: `/subtitles${query({
      anime: animeId,
      language: filter.language,
      format: filter.format,
      episode: filter.episode,
      sort: filter.sort,
      hearingImpaired: filter.hearingImpaired ? true : undefined,
      perPage: 100,
    })}`,
  });
  const groups = new Map<string, SubtitleGroup>();
  for (const s of page.items) {
    const label = s.episodeTo ? `Episodes ${s.episode}–${s.episodeTo}` : `Episode ${s.episode}`;
    const key = `${s.episode}|${s.episodeTo ?? ''}|${s.language}`;
    let group = groups.get(key);
    if (!group) {
      group = { label, episode: s.episode, language: s.language, items: [] };
      groups.set(key, group);
    }
    group.items.push(s);
  }
  // Episodes in order, languages alphabetically; inside a group the API's order (the chosen sort) stays.
  const sorted = [...groups.values()].sort(
    (a, b) => a.episode - b.episode || a.label.localeCompare(b.label) || a.language.localeCompare(b.language),
  );
  return { groups: sorted, total: page.total, languages: [...new Set(page.items.map((s) => s.language))] };
}

/** A language tag's English name ("pt-BR" → "Portuguese (Brazil)"), the tag itself when unknown. */
export function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/**
 * The download form (site query) → the API's download query: `format`, `shift` in seconds (decimal, as a
 * viewer types it) → milliseconds, `fromFps`/`toFps`, `bom`. A bad value → a message, nothing sent.
 */
export function downloadQuery(
  params: URLSearchParams,
): { ok: true; query: string } | { ok: false; message: string } {
  const format = params.get('format') ?? '';
  if (format && !(TARGET_FORMATS as readonly string[]).includes(format) && format !== 'original')
    return { ok: false, message: 'Choose SRT, WebVTT, ASS or the original file.' };
  const shiftText = (params.get('shift') ?? '').trim().replace(',', '.');
  let shift: number | undefined;
  if (shiftText) {
    const seconds = Number(shiftText);
    if (!/^-?\d{1,5}(\.\d{1,3})?$/.test(shiftText) || !Number.isFinite(seconds) || Math.abs(seconds) > 36_000)
      return { ok: false, message: 'The shift is a number of seconds, e.g. 1.5 or -0.25.' };
    shift = Math.round(seconds * 1000) || undefined;
  }
  const fromFps = params.get('fromFps') ?? '';
  const toFps = params.get('toFps') ?? '';
  for (const fps of [fromFps, toFps])
    if (fps && !(FRAME_RATES as readonly string[]).includes(fps))
      return { ok: false, message: `Choose a frame rate among ${FRAME_RATES.join(', ')}.` };
  if (format === 'original')
    return shift || toFps || params.get('bom') === 'on'
      ? { ok: false, message: 'The original file is sent as uploaded: no shift, frame rate or BOM.' }
      : { ok: true, query: '?original=true' };
  return {
    ok: true,
    query: query({
      format,
      shift,
      // A frame-rate conversion needs the target; the source defaults to the upload's own rate.
      fromFps: toFps ? fromFps : undefined,
      toFps,
      bom: params.get('bom') === 'on' ? true : undefined,
    }),
  };
}

/** Vote or report from a form on the anime or subtitle page; the sentence for the flash message. */
export async function applySubtitleForm(
  api: Api,
  id: string,
  token: string,
  form: FormData,
): Promise<{ ok: boolean; message: string; status?: number }> {
  try {
    const action = form.get('action');
    if (action === 'vote') {
      const value = Number(form.get('value'));
      if (value === 0) {
        await api.json({ method: 'DELETE', path: `/subtitles/${id}/vote`, token });
        return { ok: true, message: 'Your vote is withdrawn.' };
      }
      if (value !== 1 && value !== -1) return { ok: false, message: 'Vote up or down.' };
      await api.json({ method: 'PUT', path: `/subtitles/${id}/vote`, token, json: { value } });
      return { ok: true, message: value === 1 ? 'You voted it up.' : 'You voted it down.' };
    }
    if (action === 'report') {
      const reason = String(form.get('reason') ?? '');
      if (!(reason in REPORT_REASONS)) return { ok: false, message: 'Choose a reason for the report.' };
      const details = String(form.get('details') ?? '').trim();
      await api.json({
        method: 'POST',
        path: `/subtitles/${id}/reports`,
        token,
        json: details ? { reason, details } : { reason },
      });
      return { ok: true, message: 'Thank you: your report is sent to the moderators.' };
    }
    return { ok: false, message: 'Unknown action.' };
  } catch (error) {
    if (error instanceof ApiProblem && error.code === 'conflict' && form.get('action') === 'report')
      return { ok: false, message: 'You already reported this subtitle; the moderators have it.' };
    if (error instanceof ApiProblem && error.status === 410)
      return { ok: false, message: 'This subtitle was removed or hidden by moderation.' };
    return {
      ok: false,
      message: describeProblem(error).message,
      ...(error instanceof ApiProblem ? { status: error.status } : {}),
    };
  }
}

/** One file's verdict after an upload (a single file or each file of a zip). */
export interface UploadVerdict {
  readonly name: string;
  readonly outcome: 'imported' | 'duplicate' | 'refused';
  readonly subtitle?: Subtitle;
  readonly reason?: string;
  readonly warnings?: readonly string[];
}

/** The text fields the upload form relays (upload-subtitle `UploadFields`), in the form's names. */
export const UPLOAD_FIELDS = [
  'animeId',
  'episode',
  'episodeTo',
  'language',
  'release',
  'notes',
  'fps',
  'hearingImpaired',
  'foreignPartsOnly',
  'machineTranslated',
] as const;

/**
 * Relay the upload form to `POST /uploads` (multipart, rebuilt server-side with the token) and turn the
 * answer into verdicts: 201 → imported; 207 → each file of the zip; 409 → duplicate; else refused with the
 * API's reason (field errors named).
 */
export async function relayUpload(api: Api, token: string, form: FormData): Promise<UploadVerdict[]> {
  const file = form.get('file');
  if (!(file instanceof File) || file.size === 0)
    return [{ name: '(no file)', outcome: 'refused', reason: 'Choose a subtitle file or a zip first.' }];
  const out = new FormData();
  for (const name of UPLOAD_FIELDS) {
    const value = form.get(name);
    if (name === 'hearingImpaired' || name === 'foreignPartsOnly' || name === 'machineTranslated')
      out.set(name, value === 'on' ? 'true' : 'false');
    else if (typeof value === 'string' && value.trim() !== '') out.set(name, value.trim());
  }
  out.set('file', file, file.name);
  // The multipart body and its boundary, as the platform's Request encodes a FormData.
  const encoded = new Request('http://local/', { method: 'POST', body: out });
  const res = await api.send({
    method: 'POST',
    path: '/uploads',
    token,
    body: Buffer.from(await encoded.arrayBuffer()),
    contentType: encoded.headers.get('content-type') ?? 'multipart/form-data',
  });
  const body =
    res.body.length && /json/.test(String(res.headers['content-type']))
      ? JSON.parse(res.body.toString('utf8'))
      : {};
  if (res.status === 201)
    return [{ name: file.name, outcome: 'imported', subtitle: body as Subtitle, warnings: warningsOf(body) }];
  if (res.status === 207) {
    const files = (body as { files?: Record<string, unknown>[] }).files ?? [];
    return files.map((f) =>
      f.status === 201
        ? {
            name: String(f.name),
            outcome: 'imported',
            subtitle: f.subtitle as Subtitle,
            warnings: warningsOf(f.subtitle),
          }
        : verdictOfProblem(String(f.name), Number(f.status), f.problem as Record<string, unknown>),
    );
  }
  return [verdictOfProblem(file.name, res.status, body, res.status >= 400 ? problemOf(res) : undefined)];
}

function warningsOf(body: unknown): string[] {
  const w = (body as { warnings?: unknown })?.warnings;
  return Array.isArray(w) ? w.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : [];
}

function verdictOfProblem(
  name: string,
  status: number,
  problem: Record<string, unknown> | undefined,
  apiProblem?: ApiProblem,
): UploadVerdict {
  const p = problem ?? {};
  if (status === 409) return { name, outcome: 'duplicate', reason: String(p.detail ?? 'Already uploaded.') };
  // Field errors in plain words (field-messages.ts), never the schema's own: they replace the detail
  // (which repeats them as JSON pointers and patterns).
  const errors = Object.values(
    fieldErrors(Array.isArray(p.errors) ? (p.errors as { field: string; message: string }[]) : []),
  );
  const detail =
    errors.length > 0
      ? undefined
      : typeof p.detail === 'string'
        ? sentence(p.detail)
        : apiProblem
          ? describeProblem(apiProblem).message
          : `The API answered ${status}.`;
  return { name, outcome: 'refused', reason: (detail ? [detail] : errors).join(' ') };
}
