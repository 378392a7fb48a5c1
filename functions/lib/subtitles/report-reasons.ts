import type { SubtitleReportedV1 } from '../../../events/schemas/subtitle-reported.ts';

type ReportReason = SubtitleReportedV1['reason'];

/**
 * The report categories (events/schemas/subtitle-reported.ts `ReportReason`) as people read them: the
 * site's report form, the moderators' inbox, the uploader's notification of a decision.
 * @example REPORT_REASON_LABELS.out_of_sync === 'Out of sync'
 */
export const REPORT_REASON_LABELS: Readonly<Record<ReportReason, string>> = {
  out_of_sync: 'Out of sync',
  wrong_episode: 'Wrong episode',
  wrong_anime: 'Wrong anime',
  bad_quality: 'Bad quality (machine translation, typos)',
  spam: 'Spam or not a subtitle',
  copyright: 'Copyright',
  other: 'Something else',
};

/** A category's label; an unknown value (an older or newer producer's) as it came. */
export const reportReasonLabel = (reason: string): string =>
  (REPORT_REASON_LABELS as Record<string, string>)[reason] ?? reason;
