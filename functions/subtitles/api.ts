import { defineApi } from '../lib/http/contract.ts';
import { DownloadQuery } from './download.ts';
import { ModerationInput, ReportInput, ReportsQuery } from './moderation.ts';
import { SearchQuery } from './search.ts';

const MODERATORS = { roles: ['moderator', 'admin'] } as const;

/** subtitles' routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const SubtitlesApi = defineApi({
  searchSubtitles: {
    method: 'GET',
    path: '/subtitles',
    access: 'public',
    summary: 'Search published subtitles (anime, episode, language, format)',
    query: SearchQuery,
  },
  listReports: {
    method: 'GET',
    path: '/subtitles/reports',
    access: MODERATORS,
    summary: "The moderators' queue of reports",
    query: ReportsQuery,
  },
  getSubtitle: {
    method: 'GET',
    path: '/subtitles/:id',
    access: 'public',
    summary: 'One published subtitle',
  },
  downloadSubtitle: {
    method: 'GET',
    path: '/subtitles/:id/download',
    access: 'public',
    summary: 'Download a subtitle, converted to SRT, VTT or ASS on request',
    query: DownloadQuery,
    produces: ['application/x-subrip', 'text/vtt', 'text/x-ssa'],
  },
  reportSubtitle: {
    method: 'POST',
    path: '/subtitles/:id/reports',
    access: 'user',
    summary: 'Report a subtitle (out of sync, wrong anime or episode, spam, …)',
    body: ReportInput,
    status: 201,
    example: { reason: 'out_of_sync', details: 'Off by two seconds from episode 3 on.' },
  },
  moderateSubtitle: {
    method: 'POST',
    path: '/subtitles/:id/moderation',
    access: MODERATORS,
    summary: 'Decide on a reported subtitle: remove or keep',
    body: ModerationInput,
    example: { action: 'remove', note: 'Timing unusable.' },
  },
});
