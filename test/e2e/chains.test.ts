import { connect, type GetMessage } from 'amqplib';
import { CloudEvent, HTTP } from 'cloudevents';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { headersOf } from '../../scripts/stack/broker/codec.ts';
import {
  clientCredentialsToken,
  createUser,
  passwordToken,
  type RealmUser,
} from '../setup/keycloak-client.ts';
import {
  type ChainStack,
  type OpenStream,
  openEventStream,
  startChainStack,
} from '../support/chain-stack.ts';
import { ownAnime } from '../support/tracking.ts';
import { staysTrue, waitFor } from './events-support.ts';

/**
 * Issue 18, item 2: the chains a user sees, end to end. Every request goes through real nginx (edge-auth,
 * Keycloak tokens of the test realm) to the real functions (test/support/real-functions.ts); producers
 * publish after commit to the broker data plane of knative/base on RabbitMQ (a vhost of this file's own),
 * whose Triggers deliver to the real notify process. Every wait is a poll with a deadline; "nobody else"
 * is a quiet period after the expected delivery, never a sleep before looking.
 */
const env = inject('env');
/** Generous on a loaded 2-core machine: a chain normally completes in well under a second. */
const DEADLINE_MS = 60_000;
/** How long an unexpected delivery has to show after the expected one arrived. */
const QUIET_MS = 3_000;
const RATED = 'dev.isekai.rating.submitted.v1';
const AIRED = 'dev.isekai.episode.aired.v1';

/** Realm users of this file's own, like the dev users viewer1, moderator1 and uploader1. */
const ROLES = { viewer: ['viewer'], moderator: ['viewer', 'moderator'], uploader: ['viewer', 'uploader'] };
type User = keyof typeof ROLES;
const users = {} as Record<User, RealmUser>;
let stack: ChainStack;
const streams: OpenStream[] = [];
let db: pg.Pool;

beforeAll(async () => {
  stack = await startChainStack(env, 'chains');
  db = new pg.Pool({ connectionString: stack.functions.databaseUrl, max: 2 });
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  for (const [user, roles] of Object.entries(ROLES))
    users[user as User] = await createUser(env, `chains-${user}-${suffix}`, roles);
}, 180_000);

afterAll(async () => {
  for (const s of streams) s.close();
  await db?.end();
  await stack?.stop();
  for (const user of Object.values(users)) await user.remove().catch(() => undefined);
});

/** A fresh access token of one of this file's users from the real Keycloak (they live 5 minutes). */
async function tokenOf(user: User): Promise<string> {
  return (await passwordToken(env, users[user].username, users[user].password)).access_token;
}

/** The token's subject: the user's id in PostgreSQL, MongoDB inboxes and events. */
function subOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sub;
}

/** A JSON call to the API through the edge. */
async function api(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(`${stack.origin('api')}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function putOnList(token: string, anime: number, status: string): Promise<void> {
  const res = await api('PUT', `/me/library/${anime}`, token, { status });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

/** The caller's inbox items about `anime` (GET /notifications through the edge). */
async function inboxAbout(token: string, anime: number): Promise<Record<string, unknown>[]> {
  const res = await api('GET', '/notifications?limit=100', token);
  expect(res.status).toBe(200);
  return (res.body.items as Record<string, unknown>[]).filter((n) => n.animeId === anime);
}

/** Open `/notifications/stream` through the edge and wait for its `: connected` comment. */
async function streamOf(token: string): Promise<OpenStream> {
  const stream = await openEventStream(`${stack.origin('api')}/notifications/stream`, token);
  streams.push(stream);
  expect(stream.status).toBe(200);
  await waitFor(
    'the stream to connect',
    () => stream.frames.some((f) => f.comment === 'connected'),
    DEADLINE_MS,
  );
  return stream;
}

/** A partner's episode.aired event, encoded by the `cloudevents` SDK, POSTed to the events host. */
async function publishAired(anime: number, episode: number, id?: string): Promise<number> {
  const clientId = env.KEYCLOAK_INTEGRATIONS_CLIENT_ID ?? '';
  const { access_token } = await clientCredentialsToken(
    env,
    clientId,
    env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET ?? '',
  );
  const event = new CloudEvent({
    ...(id === undefined ? {} : { id }),
    type: AIRED,
    source: `/integrators/${clientId}`,
    subject: String(anime),
    datacontenttype: 'application/json',
    data: { animeId: anime, episode, airedAt: '2026-11-30T12:00:00Z' },
  });
  const message = HTTP.binary(event);
  const res = await fetch(`${stack.origin('events')}/`, {
    method: 'POST',
    headers: { ...(message.headers as Record<string, string>), authorization: `Bearer ${access_token}` },
    body: message.body as string,
  });
  await res.text();
  return res.status;
}

describe('the user’s chains through the edge, the broker on RabbitMQ and the real functions', () => {
  it('rating: PUT /anime/{id}/rating → outbox → broker ingress → RabbitMQ exchange carries rating.submitted with the rater and score', async () => {
    const anime = await ownAnime(stack.functions.databaseUrl, 'chains rating');
    const viewer = await tokenOf('viewer');
    // No Trigger consumes rating events (events/README.md): a queue of this test's own, bound to the
    // broker's exchange with a Trigger-style filter, is the consumer.
    const connection = await connect(stack.amqpUrl);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      const exchange = stack.broker.topologies[0]?.exchange ?? '';
      await channel.bindQueue(queue, exchange, '', { type: RATED, subject: String(anime), 'x-match': 'all' });

      const rated = await api('PUT', `/anime/${anime}/rating`, viewer, { score: 8 });
      expect(rated.status, JSON.stringify(rated.body)).toBeLessThan(300);

      const received: GetMessage[] = [];
      await waitFor(
        'the rating event on the broker exchange',
        async () => {
          const got = await channel.get(queue, { noAck: true });
          if (got) received.push(got);
          return received.length > 0;
        },
        DEADLINE_MS,
      );
      const [message] = received;
      if (!message) throw new Error('no message');
      const { properties, content } = message;
      const headers = headersOf(properties.headers);
      expect(headers).toMatchObject({
        specversion: '1.0',
        type: RATED,
        source: '/functions/rate-anime',
        subject: String(anime),
        'content-type': 'application/json',
      });
      expect(JSON.parse(content.toString('utf8'))).toMatchObject({
        animeId: anime,
        userId: subOf(viewer),
        score: 8,
        previousScore: null,
        aggregate: { count: 1, mean: 8 },
      });
      // Published from the outbox: the row of that event id, marked once the broker confirmed it.
      await waitFor(
        'the outbox row to be marked published',
        async () =>
          (await db.query('select 1 from outbox where id = $1 and published_at is not null', [headers.id]))
            .rowCount === 1,
        DEADLINE_MS,
      );
      // Exactly one event for one rating.
      await staysTrue(
        'no second rating event',
        async () => (await channel.checkQueue(queue)).messageCount === 0,
        QUIET_MS,
      );
    } finally {
      await connection.close();
    }
  });

  it('upload: multipart POST /uploads as an uploader → subtitle.uploaded → notify → inbox → Redis → the open SSE stream of the user watching that anime, and nobody else’s', async () => {
    const anime = await ownAnime(stack.functions.databaseUrl, 'chains upload');
    const other = await ownAnime(stack.functions.databaseUrl, 'chains other');
    const [viewer, moderator, uploader] = await Promise.all([
      tokenOf('viewer'),
      tokenOf('moderator'),
      tokenOf('uploader'),
    ]);
    // the viewer watches it; the moderator finished it (and watches another one); the uploader watches it too,
    // but is never told of their own upload.
    await putOnList(viewer, anime, 'watching');
    await putOnList(moderator, anime, 'completed');
    await putOnList(moderator, other, 'watching');
    await putOnList(uploader, anime, 'watching');
    const mine = await streamOf(viewer);
    const theirs = await streamOf(moderator);

    const form = new FormData();
    form.set('animeId', String(anime));
    form.set('episode', '1');
    form.set('language', 'en');
    form.set('file', new File(['1\n00:00:01,000 --> 00:00:02,000\nHello from the chain\n'], 'chain.srt'));
    const uploaded = await fetch(`${stack.origin('api')}/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${uploader}` },
      body: form,
    });
    const subtitle = (await uploaded.json()) as { id: string };
    expect(uploaded.status, JSON.stringify(subtitle)).toBe(201);

    await waitFor(
      'the viewer’s stream to carry the upload',
      () => mine.notifications().length > 0,
      DEADLINE_MS,
    );
    await staysTrue(
      'one notification on the viewer’s stream, none on the moderator’s',
      () => mine.notifications().length === 1 && theirs.notifications().length === 0,
      QUIET_MS,
    );
    // The viewer is watching with progress 0: episode 1 is their next episode, so it is the prominent alert.
    expect(mine.notifications()[0]).toMatchObject({
      kind: 'subtitle.next-episode',
      animeId: anime,
      inbox: 'personal',
      prominent: true,
      message: expect.stringMatching(/^Subtitles for your next episode: .* episode 1, English$/),
      data: { subtitleId: subtitle.id, episode: 1, language: 'en' },
    });
    // The stream delivered what the inbox holds; the uploader's inbox stays empty.
    const [stored] = await inboxAbout(viewer, anime);
    expect(stored?.id).toBe(mine.notifications()[0]?.id);
    expect(await inboxAbout(uploader, anime)).toEqual([]);
    expect(await inboxAbout(moderator, anime)).toEqual([]);

    // the moderator's stream was live all along: an event for the anime they watch reaches it (and not the viewer).
    expect(await publishAired(other, 2)).toBe(202);
    await waitFor(
      'the moderator’s stream to carry the aired episode',
      () => theirs.notifications().length > 0,
      DEADLINE_MS,
    );
    expect(theirs.notifications()[0]).toMatchObject({ kind: 'episode.aired', animeId: other });
    await staysTrue(
      'the viewer’s stream hears nothing of it',
      () => mine.notifications().length === 1,
      QUIET_MS,
    );
  }, 240_000); // four waits of up to DEADLINE_MS each (the streams, the upload, the control event)

  it('integrator: a client-credentials event on the events host → broker → notify → the inbox of the user watching that anime', async () => {
    const anime = await ownAnime(stack.functions.databaseUrl, 'chains aired');
    const [viewer, moderator] = await Promise.all([tokenOf('viewer'), tokenOf('moderator')]);
    const other = await ownAnime(stack.functions.databaseUrl, 'chains aired other');
    // Aired episodes are for those watching; the moderator only plans to (and watches another one).
    await putOnList(viewer, anime, 'watching');
    await putOnList(moderator, anime, 'plan_to_watch');
    await putOnList(moderator, other, 'watching');

    expect(await publishAired(anime, 3)).toBe(202);

    let items: Record<string, unknown>[] = [];
    await waitFor(
      'the viewer’s inbox to hold the aired episode',
      async () => {
        items = await inboxAbout(viewer, anime);
        return items.length > 0;
      },
      DEADLINE_MS,
    );
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      kind: 'episode.aired',
      animeId: anime,
      readAt: null,
      data: { episode: 3, airedAt: '2026-11-30T12:00:00Z' },
    });
    await staysTrue(
      'the moderator’s inbox stays without it',
      async () => (await inboxAbout(moderator, anime)).length === 0,
      QUIET_MS,
    );
  });
  it('groups: an invitation through the edge → group.invited → broker → notify → the invitee’s inbox with Accept/Decline → the Accept action as given → member listed, the notification done', async () => {
    const lead = await tokenOf('uploader');
    const invitee = await tokenOf('viewer');
    // The invitee is a user of the platform once they have called it (GET /me upserts them).
    expect((await api('GET', '/me', invitee)).status).toBe(200);
    const slug = `chains-${process.pid}-${Date.now().toString(36)}`;
    const created = await api('POST', '/groups', lead, { name: `Chains ${slug}`, slug, languages: ['en'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const invited = await api('POST', `/groups/${slug}/invitations`, lead, {
      userId: subOf(invitee),
      roles: ['translator'],
    });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    type Note = {
      id: string;
      doneAt: string | null;
      actions: { name: string; method: string; url: string }[];
    };
    const noteOf = async (): Promise<Note | undefined> => {
      const res = await api('GET', '/notifications?limit=100', invitee);
      expect(res.status).toBe(200);
      return (res.body.items as (Note & { data: { invitationId?: string } })[]).find(
        (n) => n.data.invitationId === invited.body.id,
      );
    };
    let note: Note | undefined;
    await waitFor(
      'the invitation in the invitee’s inbox',
      async () => {
        note = await noteOf();
        return note !== undefined;
      },
      DEADLINE_MS,
    );
    expect(note?.actions.map((a) => a.name)).toEqual(['accept', 'decline']);
    const accept = note?.actions.find((a) => a.name === 'accept');
    // The action exactly as the notification gives it, through the edge.
    const accepted = await api(accept?.method ?? '', accept?.url ?? '', invitee);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted' });
    const group = await api('GET', `/groups/${slug}`, invitee);
    expect(group.body.members).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: subOf(invitee), roles: ['translator'] })]),
    );
    await waitFor(
      'the notification marked done (group.invitation.answered → notify)',
      async () => {
        const now = await noteOf();
        return now?.doneAt != null && now.actions.length === 0;
      },
      DEADLINE_MS,
    );
  });

  it('moderation: a report and a hide through the edge → subtitle.hidden → broker → notify → the uploader’s inbox with the category, never the reporter’s words; restore → subtitle.restored', async () => {
    const anime = await ownAnime(stack.functions.databaseUrl, 'chains moderation');
    const [viewer, moderator, uploader] = await Promise.all([
      tokenOf('viewer'),
      tokenOf('moderator'),
      tokenOf('uploader'),
    ]);
    const form = new FormData();
    form.set('animeId', String(anime));
    form.set('episode', '2');
    form.set('language', 'en');
    form.set(
      'file',
      new File([`1\n00:00:01,000 --> 00:00:02,000\nTo be hidden ${Date.now()}\n`], 'hide-me.srt'),
    );
    const uploaded = await fetch(`${stack.origin('api')}/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${uploader}` },
      body: form,
    });
    const subtitle = (await uploaded.json()) as { id: string };
    expect(uploaded.status, JSON.stringify(subtitle)).toBe(201);
    const words = `my own words ${Date.now()}`;
    const reported = await api('POST', `/subtitles/${subtitle.id}/reports`, viewer, {
      reason: 'out_of_sync',
      details: words,
    });
    expect(reported.status, JSON.stringify(reported.body)).toBe(201);
    // The moderators' inbox names the category by its label, not its code.
    const modNote = async () =>
      (await inboxAbout(moderator, anime)).find((n) => n.kind === 'subtitle.reported');
    await waitFor(
      'the report in the moderation inbox',
      async () => (await modNote()) !== undefined,
      DEADLINE_MS,
    );
    expect((await modNote())?.message).toMatch(/was reported: Out of sync$/);

    const hidden = await api('POST', `/subtitles/${subtitle.id}/moderation`, moderator, {
      action: 'hide',
      note: 'Checking the timing.',
    });
    expect(hidden.status, JSON.stringify(hidden.body)).toBe(200);
    const decision = async (kind: string) => (await inboxAbout(uploader, anime)).find((n) => n.kind === kind);
    await waitFor(
      'the hide in the uploader’s inbox',
      async () => (await decision('subtitle.hidden')) !== undefined,
      DEADLINE_MS,
    );
    const note = await decision('subtitle.hidden');
    expect(note).toMatchObject({
      inbox: 'personal',
      readAt: null,
      data: { subtitleId: subtitle.id, episode: 2, reasons: ['out_of_sync'], note: 'Checking the timing.' },
    });
    expect(note?.message).toMatch(/was hidden by a moderator \(reported as: Out of sync\)/);
    expect(JSON.stringify(note)).not.toContain(words);
    // The reporter hears nothing of the decision.
    expect((await inboxAbout(viewer, anime)).filter((n) => String(n.kind).startsWith('subtitle.h'))).toEqual(
      [],
    );

    const restored = await api('POST', `/subtitles/${subtitle.id}/moderation`, moderator, {
      action: 'restore',
    });
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    await waitFor(
      'the restore in the uploader’s inbox',
      async () => (await decision('subtitle.restored')) !== undefined,
      DEADLINE_MS,
    );
    expect(await decision('subtitle.restored')).toMatchObject({
      data: { subtitleId: subtitle.id, episode: 2 },
      message: expect.stringMatching(/was restored by a moderator/),
    });
  }, 240_000);

  it('integrator: an event about an anime the catalogue does not hold is accepted (202), then refused by notify (422) and dead-lettered where the operators see it, never silently dropped', async () => {
    const id = `chains-unknown-anime-${process.pid}-${Date.now()}`;
    expect(await publishAired(999_999_999, 1, id)).toBe(202);
    let letter: { error_code: number; error_data: string; event_type: string } | undefined;
    await waitFor(
      'the event in dead_letters',
      async () => {
        const { rows } = await db.query(
          'select error_code, error_data, event_type from dead_letters where event_id = $1',
          [id],
        );
        letter = rows[0];
        return letter !== undefined;
      },
      DEADLINE_MS,
    );
    expect(letter).toMatchObject({ error_code: 422, event_type: AIRED });
    expect(letter?.error_data).toContain('anime 999999999 is not in the catalogue');
    // Not recorded as processed: a replay once the anime exists is applied.
    const processed = await db.query('select 1 from processed_events where event_id = $1', [id]);
    expect(processed.rowCount).toBe(0);
  });
});
