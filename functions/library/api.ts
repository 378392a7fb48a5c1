import Type from 'typebox';
import { defineApi } from '../lib/http/contract.ts';
import { AnimeIdParam, DateParam, NameParam, pathParams } from '../lib/http/params.ts';
import { EntrySchema } from '../lib/tracking/entry.ts';
import { EntryInput, ExportQuery, HistoryInput, ListQuery, ProfileInput } from './schemas.ts';

/** Largest MAL import accepted (compressed or not); nginx allows the same on the route. */
export const IMPORT_LIMIT = 16 * 1024 * 1024;

const EntryPath = pathParams({ animeId: AnimeIdParam });

const Timestamp = Type.String({ format: 'date-time' });

/** One list entry as the library answers it (the shape shared with the catalog's `me.entry`). */
export const Entry = EntrySchema;

const ItemExtras = {
  anime: Type.Object({ title: Type.String(), episodes: Type.Union([Type.Integer(), Type.Null()]) }),
  score: Type.Union([Type.Integer({ minimum: 1, maximum: 10 }), Type.Null()], {
    description: "The owner's rating of the anime (null: not rated).",
  }),
};

/** One entry of the caller's list as `GET /me/library/{animeId}` answers it: a list item, notes and privacy included. */
const LibraryItem = Type.Object({ ...Entry.properties, ...ItemExtras }, { title: 'LibraryItem' });

/** A page of a list (the caller's, or another user's public entries with `user`). */
const ListPage = Type.Object(
  {
    // Entries (without notes and privacy on someone else's list) with their anime and the owner's score.
    items: Type.Array(Type.Object({ ...Type.Omit(Entry, ['notes', 'private']).properties, ...ItemExtras })),
    page: Type.Integer({ minimum: 1 }),
    perPage: Type.Integer({ minimum: 1 }),
    total: Type.Integer({ minimum: 0 }),
  },
  { title: 'LibraryPage' },
);

const HistoryItem = Type.Object(
  {
    id: Type.String(),
    episode: Type.Integer({ minimum: 1 }),
    pass: Type.Integer({ minimum: 0 }),
    watchedAt: Timestamp,
    origin: Type.String(),
  },
  { title: 'HistoryItem' },
);

const Profile = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    displayName: Type.Union([Type.String(), Type.Null()]),
    preferredSubtitleLanguages: Type.Array(Type.String()),
    weeklyBackup: Type.Boolean(),
    lastBackupAt: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  },
  { title: 'Profile' },
);

const Backup = Type.Object(
  {
    date: Type.String({ format: 'date' }),
    sizeBytes: Type.Integer({ minimum: 0 }),
    entries: Type.Integer({ minimum: 0 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    createdAt: Timestamp,
  },
  { title: 'Backup' },
);

/** The caller's list, watch history and profile, and other users' public lists. */
export const LibraryListApi = defineApi({
  listMyLibrary: {
    method: 'GET',
    path: '/me/library',
    access: 'user',
    summary: "The caller's list (filters, sort, pages)",
    query: ListQuery,
    response: ListPage,
  },
  listUserLibrary: {
    method: 'GET',
    path: '/users/:user/library',
    params: pathParams({ user: NameParam }),
    access: 'public',
    summary: "Another user's public entries (by id or username)",
    query: ListQuery,
    response: Type.Object({
      user: Type.Object({
        id: Type.String(),
        username: Type.String(),
        displayName: Type.Union([Type.String(), Type.Null()]),
      }),
      ...ListPage.properties,
    }),
  },
  getEntry: {
    method: 'GET',
    path: '/me/library/:animeId',
    params: EntryPath,
    access: 'user',
    summary: 'One entry of the caller’s list, with its anime and the caller’s score (as in the list)',
    response: LibraryItem,
  },
  putEntry: {
    method: 'PUT',
    path: '/me/library/:animeId',
    params: EntryPath,
    access: 'user',
    alsoAnswers: [201],
    summary: 'Add or change an entry (201 when added; 200 and nothing written when it changes nothing)',
    body: EntryInput,
    example: { status: 'watching', progress: 3 },
    response: Entry,
  },
  deleteEntry: {
    method: 'DELETE',
    path: '/me/library/:animeId',
    params: EntryPath,
    access: 'user',
    summary: 'Remove an entry',
    status: 204,
  },
  listHistory: {
    method: 'GET',
    path: '/me/library/:animeId/history',
    params: EntryPath,
    access: 'user',
    summary: 'The watch history of one anime',
    response: Type.Object({ items: Type.Array(HistoryItem) }),
  },
  addHistory: {
    method: 'POST',
    path: '/me/library/:animeId/history',
    params: EntryPath,
    access: 'user',
    alsoAnswers: [200],
    summary: 'Log a watched episode (201; an episode already logged in this pass answers 200 with its row)',
    body: HistoryInput,
    status: 201,
    example: { episode: 4 },
    response: HistoryItem,
  },
  getProfile: {
    method: 'GET',
    path: '/me',
    access: 'user',
    summary: "The caller's profile",
    response: Profile,
  },
  patchProfile: {
    method: 'PATCH',
    path: '/me',
    access: 'user',
    summary: 'Change the display name, subtitle languages or weekly backups',
    body: ProfileInput,
    example: { displayName: 'Viewer One', preferredSubtitleLanguages: ['en', 'ja'] },
    response: Profile,
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
    response: Type.Object({ items: Type.Array(Backup) }),
  },
  runBackup: {
    method: 'POST',
    path: '/me/backups',
    access: 'user',
    summary: "Make this week's backup now",
    status: 201,
    response: Backup,
  },
  getBackup: {
    method: 'GET',
    path: '/me/backups/:date',
    params: pathParams({ date: DateParam }),
    access: 'user',
    summary: 'Download one backup (gzipped MAL XML, re-importable)',
    produces: ['application/gzip'],
  },
});

/** library's routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const LibraryApi = { ...LibraryTransferApi, ...LibraryListApi, ...LibraryBackupApi };
