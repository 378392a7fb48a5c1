import Type from 'typebox';
import { defineApi } from '../lib/http/contract.ts';
import { pagingQuery } from '../lib/http/paging.ts';
import { ObjectIdParam, pathParams } from '../lib/http/params.ts';
import { PREFERENCE_TYPES } from '../lib/inbox/preferences.ts';

/** `GET /notifications` */
export const InboxQuery = Type.Object(
  {
    unread: Type.Optional(Type.Boolean()),
    ...pagingQuery({ maxPerPage: 100, defaultPerPage: 20, maxPage: 1000 }),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        deprecated: true,
        description: 'Former name of `perPage`; when sent, it is used instead.',
      }),
    ),
  },
  { additionalProperties: false },
);
/** No query parameters (a token in `?access_token=` is refused: tokens travel in Authorization only). */
export const NoQuery = Type.Object({}, { additionalProperties: false });

/** Something the reader can do from a notification: send `method` to `url` (an API path) with their token. */
export const NotificationAction = Type.Object(
  {
    name: Type.String({ description: 'Stable name: accept, decline.' }),
    label: Type.String({ description: 'What the button says.' }),
    method: Type.Union([Type.Literal('POST'), Type.Literal('PUT'), Type.Literal('DELETE')]),
    url: Type.String({ pattern: '^/', description: 'A path of the API origin.' }),
  },
  { title: 'NotificationAction' },
);

/**
 * A notification (its `data` depends on `kind`: subtitle.uploaded, subtitle.next-episode, episode.aired,
 * subtitle.reported, subtitle.removed, subtitle.hidden, subtitle.restored, group.invited, group.release).
 */
const Notification = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{24}$' }),
    kind: Type.String(),
    animeId: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    message: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    inbox: Type.Union([Type.Literal('personal'), Type.Literal('moderation')]),
    actions: Type.Array(NotificationAction, { description: 'Empty when none, or once done.' }),
    doneAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    prominent: Type.Boolean({ description: 'Ranked first until read (subtitles for your next episode).' }),
  },
  { title: 'Notification' },
);

/** The inbox: the signed-in caller's notifications only (another user's notification is a 404). */
export const InboxApi = defineApi({
  listNotifications: {
    method: 'GET',
    path: '/notifications',
    access: 'user',
    summary: "The caller's notifications: unread next-episode alerts first, then newest first",
    query: InboxQuery,
    response: Type.Object({
      items: Type.Array(Notification),
      page: Type.Integer({ minimum: 1 }),
      perPage: Type.Integer({ minimum: 1 }),
      limit: Type.Integer({ minimum: 1, deprecated: true, description: 'Same as `perPage` (former name).' }),
      hasMore: Type.Boolean(),
    }),
  },
  unreadCount: {
    method: 'GET',
    path: '/notifications/unread-count',
    access: 'user',
    summary: 'How many notifications are unread, and the stream cursor that count is as of',
    query: NoQuery,
    response: Type.Object({
      unread: Type.Integer({ minimum: 0, description: 'Unread notifications at or before `cursor`.' }),
      cursor: Type.String({
        pattern: '^[0-9a-f]{24}$',
        description:
          'The newest notification id when counted (24 zeros: none yet). Open the stream with it as `Last-Event-ID`: it replays exactly what this count left out and no live signal of what it counted.',
      }),
    }),
  },
  markRead: {
    method: 'POST',
    path: '/notifications/:id/read',
    params: pathParams({ id: ObjectIdParam }),
    access: 'user',
    summary: 'Mark one notification read',
    query: NoQuery,
    status: 204,
  },
  markAllRead: {
    method: 'POST',
    path: '/notifications/read-all',
    access: 'user',
    summary: 'Mark every notification read',
    query: NoQuery,
    response: Type.Object({ marked: Type.Integer({ minimum: 0 }) }),
  },
});

/** The live stream. */
export const StreamApi = defineApi({
  streamNotifications: {
    method: 'GET',
    path: '/notifications/stream',
    access: 'user',
    summary:
      'Server-Sent Events of new notifications (resumes after `Last-Event-ID`; sends its resume `id:` on open)',
    query: NoQuery,
    produces: ['text/event-stream'],
    stream: true,
  },
});

const EmailMode = Type.Union([Type.Literal('off'), Type.Literal('immediate'), Type.Literal('daily-digest')], {
  description: 'E-mail: none, one per notification, or one daily digest.',
});
const TypeChannels = Type.Object(
  {
    inbox: Type.Boolean({ description: 'Stored in the inbox (GET /notifications).' }),
    live: Type.Boolean({ description: 'Pushed on the live stream (GET /notifications/stream).' }),
    email: EmailMode,
  },
  { title: 'NotificationChannels' },
);
const PartialChannels = Type.Object({
  inbox: Type.Optional(Type.Boolean()),
  live: Type.Optional(Type.Boolean()),
  email: Type.Optional(EmailMode),
});
/** Every type with its channels (the effective preferences, defaults filled in). */
export const NotificationPreferences = Type.Object(
  Object.fromEntries(PREFERENCE_TYPES.map((t) => [t, TypeChannels])) as Record<
    (typeof PREFERENCE_TYPES)[number],
    typeof TypeChannels
  >,
  { title: 'NotificationPreferences' },
);
/**
 * A change: some types, some channels each. Unknown types or channels are not rejected by the schema
 * but by the handler, whose 400 lists the allowed ones (`issues[].allowed`).
 */
const PreferencesChange = Type.Object(
  Object.fromEntries(PREFERENCE_TYPES.map((t) => [t, Type.Optional(PartialChannels)])) as Record<
    (typeof PREFERENCE_TYPES)[number],
    ReturnType<typeof Type.Optional<typeof PartialChannels>>
  >,
  { title: 'NotificationPreferencesChange' },
);

/**
 * The caller's notification preferences: per type (subtitle.uploaded, subtitle.next-episode,
 * episode.aired, subtitle.removed = moderation decisions (removed, hidden, restored), group.invited,
 * group.release) the channels
 * inbox, live (booleans) and email (off | immediate | daily-digest). Defaults: inbox and live on; e-mail
 * immediate for group.invited and subtitle.removed, off for the rest.
 */
export const PreferencesApi = defineApi({
  getNotificationPreferences: {
    method: 'GET',
    path: '/me/notification-preferences',
    access: 'user',
    summary: "The caller's notification preferences per type and channel (defaults filled in)",
    query: NoQuery,
    response: NotificationPreferences,
  },
  replaceNotificationPreferences: {
    method: 'PUT',
    path: '/me/notification-preferences',
    access: 'user',
    summary: 'Replace the preferences (types left out go back to their defaults)',
    query: NoQuery,
    body: PreferencesChange,
    example: {
      'group.invited': { inbox: true, live: true, email: 'immediate' },
      'episode.aired': { live: false },
    },
    response: NotificationPreferences,
  },
  updateNotificationPreferences: {
    method: 'PATCH',
    path: '/me/notification-preferences',
    access: 'user',
    summary: 'Change some channels of some types (the rest is kept)',
    query: NoQuery,
    body: PreferencesChange,
    example: { 'subtitle.uploaded': { email: 'daily-digest' } },
    response: NotificationPreferences,
  },
  unsubscribe: {
    method: 'GET',
    path: '/unsubscribe',
    access: 'public',
    summary:
      "Turn one type's e-mail off from the signed link in an e-mail (no login; a tampered grant is a 400)",
    query: Type.Object(
      {
        grant: Type.String({
          minLength: 1,
          maxLength: 2000,
          description:
            'The signed grant of the link (not called token: the edge refuses credential-like parameter names).',
        }),
      },
      { additionalProperties: false },
    ),
    response: Type.Object({
      type: Type.String({ description: 'The notification type whose e-mail is now off.' }),
      email: Type.Literal('off'),
    }),
  },
});

/** notifications' routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const NotificationsApi = { ...StreamApi, ...InboxApi, ...PreferencesApi };
