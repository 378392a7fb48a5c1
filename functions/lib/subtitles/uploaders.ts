import Type, { type Static } from 'typebox';
import { ValidationFailed } from '../errors.ts';
import type { Identity } from '../http/types.ts';
import type { SubtitleCollections } from './store.ts';

/** `PUT /subtitles/uploaders/:userId` (admins): mark an uploader trusted or not. */
export const TrustInput = Type.Object({ trusted: Type.Boolean() }, { additionalProperties: false });
export type TrustInput = Static<typeof TrustInput>;

/**
 * Whether an uploader is trusted: the `trusted-uploader` role in their token, or the flag admins set.
 */
export async function isTrusted({ uploaders }: Pick<SubtitleCollections, 'uploaders'>, identity: Identity) {
  if (identity.roles.includes('trusted-uploader')) return true;
  return (await uploaders.findOne({ _id: identity.sub }))?.trusted === true;
}

/**
 * Set an uploader's trust (admins): the flag for future uploads, and the mark on every subtitle they
 * already uploaded (so the sort follows at once). Idempotent.
 */
export async function setTrust(
  { uploaders, subtitles }: SubtitleCollections,
  admin: Identity,
  userId: string | undefined,
  input: TrustInput,
  now = new Date(),
) {
  if (!userId || userId.length > 200) {
    throw new ValidationFailed('a user id is required', {
      issues: [{ field: '/path/userId', message: 'must be a user id' }],
    });
  }
  await uploaders.updateOne(
    { _id: userId },
    { $set: { trusted: input.trusted, updatedBy: admin.sub, updatedAt: now } },
    { upsert: true },
  );
  const marked = await subtitles.updateMany({ uploaderId: userId }, { $set: { trusted: input.trusted } });
  return { userId, trusted: input.trusted, subtitles: marked.matchedCount };
}
