import { defineApi } from '../lib/http/contract.ts';
import { NameParam, ObjectIdParam, pathParams } from '../lib/http/params.ts';
import { TrustInput } from '../lib/subtitles/uploaders.ts';
import { BulkQuery } from './bulk.ts';
import { DownloadQuery } from './download.ts';
import { MineQuery, ModerationInput, ReportInput, ReportsQuery } from './moderation.ts';
import { SearchQuery } from './search.ts';
import { VoteInput } from './votes.ts';

const SubtitlePath = pathParams({ id: ObjectIdParam });

const MODERATORS = { roles: ['moderator', 'admin'] } as const;

/** What a token adds to the detail and the search (both `optional`). */
const VIEWER_VOTE =
  "Without a token: anyone's view (cacheable). With a person's token, each subtitle also carries " +
  "`viewerVote`: the caller's own vote, `1` (up), `-1` (down) or `null` (none), and the answer is " +
  '`private, no-store`.';

/** subtitles' routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const SubtitlesApi = defineApi({
  searchSubtitles: {
    method: 'GET',
    path: '/subtitles',
    access: 'optional',
    summary:
      "Search published subtitles (anime, episode, language, format, video hash, release, flags, uploader), newest, most downloaded or best voted first; with a token, also the caller's own vote on each",
    description: VIEWER_VOTE,
    query: SearchQuery,
  },
  listReports: {
    method: 'GET',
    path: '/subtitles/reports',
    access: MODERATORS,
    summary: "The moderators' queue of reports",
    query: ReportsQuery,
  },
  bulkDownload: {
    method: 'GET',
    path: '/subtitles/bulk',
    access: 'public',
    alsoAnswers: [404, 413],
    summary:
      'A zip of the best subtitle of each episode in a range, for one anime and language (streamed); nothing to bundle is 404, over 64 MiB stored 413',
    query: BulkQuery,
    produces: ['application/zip'],
  },
  mySubtitles: {
    method: 'GET',
    path: '/subtitles/mine',
    access: 'user',
    summary: "The caller's uploads in every status, with the last moderator decision on each",
    query: MineQuery,
  },
  setUploaderTrust: {
    method: 'PUT',
    path: '/subtitles/uploaders/:userId',
    params: pathParams({ userId: NameParam }),
    access: { roles: ['admin'] },
    summary: 'Mark an uploader trusted or not (their subtitles are marked and sort first)',
    body: TrustInput,
    example: { trusted: true },
  },
  getSubtitle: {
    method: 'GET',
    path: '/subtitles/:id',
    params: SubtitlePath,
    access: 'optional',
    alsoAnswers: [410],
    summary: "One published subtitle; with a token, also the caller's own vote (`viewerVote`)",
    description: VIEWER_VOTE,
  },
  downloadSubtitle: {
    method: 'GET',
    path: '/subtitles/:id/download',
    params: SubtitlePath,
    access: 'public',
    alsoAnswers: [410],
    summary:
      'Download a subtitle: as stored, as uploaded, or converted to SRT, VTT or ASS, shifted, frame-rate converted or synced by two points',
    query: DownloadQuery,
    produces: ['application/x-subrip', 'text/vtt', 'text/x-ssa'],
  },
  voteSubtitle: {
    method: 'PUT',
    path: '/subtitles/:id/vote',
    params: SubtitlePath,
    access: 'user',
    alsoAnswers: [410],
    summary: 'Vote a subtitle up (1) or down (-1); voting again changes the vote',
    body: VoteInput,
    example: { value: 1 },
  },
  withdrawVote: {
    method: 'DELETE',
    path: '/subtitles/:id/vote',
    params: SubtitlePath,
    access: 'user',
    alsoAnswers: [410],
    summary: "Withdraw the caller's vote",
  },
  auditLog: {
    method: 'GET',
    path: '/subtitles/:id/audit',
    params: SubtitlePath,
    access: MODERATORS,
    summary: "A subtitle's audit log: every moderator action, who, when, why",
  },
  reportSubtitle: {
    method: 'POST',
    path: '/subtitles/:id/reports',
    params: SubtitlePath,
    access: 'user',
    alsoAnswers: [409, 410],
    summary: 'Report a subtitle (out of sync, wrong anime or episode, spam, …)',
    body: ReportInput,
    status: 201,
    example: { reason: 'out_of_sync', details: 'Off by two seconds from episode 3 on.' },
  },
  moderateSubtitle: {
    method: 'POST',
    path: '/subtitles/:id/moderation',
    params: SubtitlePath,
    access: MODERATORS,
    alsoAnswers: [409, 410],
    summary: 'Decide on a subtitle: remove (final), hide, restore or keep',
    body: ModerationInput,
    example: { action: 'remove', note: 'Timing unusable.' },
  },
});
