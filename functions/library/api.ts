import { defineApi } from '../lib/http/contract.ts';
import { EntryInput, ExportQuery, HistoryInput, ListQuery, ProfileInput } from './schemas.ts';

/** Largest MAL import accepted (compressed or not); nginx allows the same on the route. */
export const IMPORT_LIMIT = 16 * 1024 * 1024;

/** The caller's list, watch history and profile, and other users' public lists. */
export const LibraryListApi = defineApi({
  listMyLibrary: {
    method: 'GET',
    path: '/me/library',
    access: 'user',
    summary: "The caller's list (filters, sort, pages)",
    query: ListQuery,
  },
  listUserLibrary: {
    method: 'GET',
    path: '/users/:user/library',
    access: 'public',
    summary: "Another user's public entries (by id or username)",
    query: ListQuery,
  },
  getEntry: {
    method: 'GET',
    path: '/me/library/:animeId',
    access: 'user',
    summary: 'One entry of the caller’s list',
  },
  putEntry: {
    method: 'PUT',
    path: '/me/library/:animeId',
    access: 'user',
    summary: 'Add or change an entry (201 when added)',
    body: EntryInput,
    example: { status: 'watching', progress: 3 },
  },
  deleteEntry: {
    method: 'DELETE',
    path: '/me/library/:animeId',
    access: 'user',
    summary: 'Remove an entry',
    status: 204,
  },
  listHistory: {
    method: 'GET',
    path: '/me/library/:animeId/history',
    access: 'user',
    summary: 'The watch history of one anime',
  },
  addHistory: {
    method: 'POST',
    path: '/me/library/:animeId/history',
    access: 'user',
    summary: 'Log a watched episode',
    body: HistoryInput,
    status: 201,
    example: { episode: 4 },
  },
  getProfile: {
    method: 'GET',
    path: '/me',
    access: 'user',
    summary: "The caller's profile",
  },
  patchProfile: {
    method: 'PATCH',
    path: '/me',
    access: 'user',
    summary: 'Change the display name, subtitle languages or weekly backups',
    body: ProfileInput,
    example: { displayName: 'Viewer One', weeklyBackup: true },
  },
});

/** Export (MAL XML / JSON / CSV) and MAL XML import. */
export const LibraryTransferApi = defineApi({
  exportLibrary: {
    method: 'GET',
    path: '/me/library/export',
    access: 'user',
    summary: "Download the caller's list as MAL XML, JSON or CSV (optionally gzipped)",
    query: ExportQuery,
    produces: ['application/xml', 'application/json', 'text/csv', 'application/gzip'],
  },
  importLibrary: {
    method: 'POST',
    path: '/me/library/import',
    access: 'user',
    summary: 'Import a MAL XML export (plain or gzipped); `Accept: application/x-ndjson` streams progress',
    consumes: ['application/xml', 'application/gzip', 'application/octet-stream'],
    raw: true,
    bodyLimit: IMPORT_LIMIT,
  },
});

/** The caller's weekly backups. */
export const LibraryBackupApi = defineApi({
  listBackups: {
    method: 'GET',
    path: '/me/backups',
    access: 'user',
    summary: "The caller's backups",
  },
  runBackup: {
    method: 'POST',
    path: '/me/backups',
    access: 'user',
    summary: "Make this week's backup now",
    status: 201,
  },
  getBackup: {
    method: 'GET',
    path: '/me/backups/:date',
    access: 'user',
    summary: 'Download one backup (gzipped MAL XML, re-importable)',
    produces: ['application/gzip'],
  },
});

/** library's routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const LibraryApi = { ...LibraryTransferApi, ...LibraryListApi, ...LibraryBackupApi };
