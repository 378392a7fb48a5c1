import Type from 'typebox';
import { defineApi } from '../lib/http/contract.ts';

/** `GET /notifications` */
export const InboxQuery = Type.Object(
  {
    unread: Type.Optional(Type.Boolean()),
    page: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
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
 * subtitle.reported, subtitle.removed, group.invited, group.release).
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
      limit: Type.Integer({ minimum: 1 }),
      hasMore: Type.Boolean(),
    }),
  },
  unreadCount: {
    method: 'GET',
    path: '/notifications/unread-count',
    access: 'user',
    summary: 'How many notifications are unread',
    query: NoQuery,
    response: Type.Object({ unread: Type.Integer({ minimum: 0 }) }),
  },
  markRead: {
    method: 'POST',
    path: '/notifications/:id/read',
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
    summary: 'Server-Sent Events of new notifications (resumes after `Last-Event-ID`)',
    query: NoQuery,
    produces: ['text/event-stream'],
    stream: true,
  },
});

/** notifications' routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const NotificationsApi = { ...StreamApi, ...InboxApi };
