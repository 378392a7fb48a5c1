import type { ObjectId } from 'mongodb';
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
