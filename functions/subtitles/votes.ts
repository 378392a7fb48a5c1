import { ObjectId } from 'mongodb';
import Type, { type Static } from 'typebox';
import type { Identity } from '../lib/http/types.ts';
import { isDuplicateKey, type SubtitleCollections, type VoteTally } from '../lib/subtitles/store.ts';
import { publishedSubtitle } from './search.ts';

/** `PUT /subtitles/:id/vote`: up (1) or down (-1). */
export const VoteInput = Type.Object(
  { value: Type.Union([Type.Literal(1), Type.Literal(-1)]) },
  { additionalProperties: false },
);
export type VoteInput = Static<typeof VoteInput>;

/**
 * Recount a subtitle's votes and store the tally on it. A recount rather than `$inc`: without
 * multi-document transactions, a crash between the vote and the tally is healed by the next vote.
 */
async function recount({ subtitles, votes }: SubtitleCollections, subtitleId: ObjectId): Promise<VoteTally> {
  const [up, down] = await Promise.all([
    votes.countDocuments({ subtitleId, value: 1 }),
    votes.countDocuments({ subtitleId, value: -1 }),
  ]);
  const tally = { up, down, score: up - down };
  await subtitles.updateOne({ _id: subtitleId }, { $set: { votes: tally } });
  return tally;
}

/**
 * A user's vote on a published subtitle: one per user and subtitle (a unique index), changed by voting
 * again, withdrawn with `value` null. Answers the user's vote and the new tally. Removed → 410.
 */
export async function voteSubtitle(
  collections: SubtitleCollections,
  identity: Identity,
  rawId: string | undefined,
  value: 1 | -1 | null,
  now = new Date(),
) {
  const doc = await publishedSubtitle(collections, rawId);
  const key = { subtitleId: doc._id, userId: identity.sub };
  if (value === null) await collections.votes.deleteOne(key);
  else {
    const write = () =>
      collections.votes.updateOne(
        key,
        { $set: { value, updatedAt: now }, $setOnInsert: { createdAt: now } },
        { upsert: true },
      );
    // Two first votes at once: one insert wins the unique index, the other becomes an update.
    await write().catch((error: unknown) => (isDuplicateKey(error) ? write() : Promise.reject(error)));
  }
  return { subtitleId: doc._id.toHexString(), value, votes: await recount(collections, doc._id) };
}

/** One user's vote on each of some subtitles: `1`, `-1`, or null where they have not voted (one query). */
export async function viewerVotes(
  { votes }: SubtitleCollections,
  userId: string,
  subtitleIds: readonly ObjectId[],
): Promise<Map<string, 1 | -1 | null>> {
  const found = new Map<string, 1 | -1 | null>(subtitleIds.map((id) => [id.toHexString(), null]));
  if (subtitleIds.length === 0) return found;
  const cursor = votes.find(
    { subtitleId: { $in: [...subtitleIds] }, userId },
    { projection: { subtitleId: 1, value: 1 } },
  );
  for await (const vote of cursor) found.set(vote.subtitleId.toHexString(), vote.value);
  return found;
}

/**
 * Subtitle views (`subtitleView`) with the signed-in viewer's own vote on each, `viewerVote`: 1, -1, or
 * null when they have not voted (the site shows "Withdraw vote" only where there is one).
 */
export async function withViewerVotes<T extends { readonly id: string }>(
  collections: SubtitleCollections,
  userId: string,
  views: readonly T[],
): Promise<(T & { viewerVote: 1 | -1 | null })[]> {
  const mine = await viewerVotes(
    collections,
    userId,
    views.map((v) => ObjectId.createFromHexString(v.id)),
  );
  return views.map((v) => ({ ...v, viewerVote: mine.get(v.id) ?? null }));
}
