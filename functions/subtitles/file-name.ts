import type { SubtitleDoc } from '../lib/subtitles/store.ts';

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const UNSAFE = /[\u0000-\u001f\u007f"*/:<>?\\|]+/g;

/**
 * The file name a download is saved as, as release groups name theirs:
 * `Cowboy Bebop - 05 [SubsPlease].en.srt` (group from a leading `[group]` of the release name, else the
 * uploader; title from the catalogue at upload time).
 */
export function downloadFileName(
  doc: Pick<
    SubtitleDoc,
    'animeId' | 'animeTitle' | 'episode' | 'episodeTo' | 'language' | 'release' | 'uploaderName'
  >,
  extension: string,
  /** Instead of the episode: a range (`01-12`) for a bulk download. */
  episodes?: string,
): string {
  const title = (doc.animeTitle ?? `anime ${doc.animeId}`).replace(UNSAFE, ' ').trim();
  const group = (/^\s*\[([^\]]+)\]/.exec(doc.release ?? '')?.[1] ?? doc.uploaderName)
    .replace(UNSAFE, ' ')
    .trim();
  const pad = (n: number) => String(n).padStart(2, '0');
  const episode =
    episodes ??
    (doc.episodeTo && doc.episodeTo > doc.episode
      ? `${pad(doc.episode)}-${pad(doc.episodeTo)}`
      : pad(doc.episode));
  return `${title} - ${episode}${group ? ` [${group}]` : ''}.${doc.language}.${extension}`.replace(
    /\s+/g,
    ' ',
  );
}

/**
 * An RFC 6266 `Content-Disposition: attachment` with an ASCII `filename` fallback and the exact name
 * as `filename*` (RFC 8187 UTF-8, percent-encoded).
 */
export function attachment(fileName: string): string {
  const ascii = fileName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\u0020-\u007e]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
