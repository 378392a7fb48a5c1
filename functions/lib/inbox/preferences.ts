import type { Db } from 'mongodb';
import { DependencyUnavailable, ValidationFailed } from '../errors.ts';

/**
 * Notification types a user can tune: the kinds notify writes to a personal inbox. `subtitle.reported`
 * goes to the moderators' shared inbox, which no single user's preferences govern, so it is not here.
 * `subtitle.removed` is the moderation decision the uploader receives: it governs the other decisions
 * (`subtitle.hidden`, `subtitle.restored`) too (`preferenceOf`).
 */
export const PREFERENCE_TYPES = [
  'subtitle.uploaded',
  'subtitle.next-episode',
  'episode.aired',
  'subtitle.removed',
  'group.invited',
  'group.release',
] as const;
export type PreferenceType = (typeof PREFERENCE_TYPES)[number];

/** Channels of one type: the inbox, live push (SSE), e-mail. */
export const CHANNELS = ['inbox', 'live', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];
/** E-mail: none, one mail per notification, or one daily digest. */
export const EMAIL_MODES = ['off', 'immediate', 'daily-digest'] as const;
export type EmailMode = (typeof EMAIL_MODES)[number];

export interface ChannelPreferences {
  readonly inbox: boolean;
  readonly live: boolean;
  readonly email: EmailMode;
}
export type Preferences = Readonly<Record<PreferenceType, ChannelPreferences>>;
/** A partial change: some types, some channels each. */
export type PreferencesPatch = Partial<Record<PreferenceType, Partial<ChannelPreferences>>>;

/**
 * Defaults: every type in the inbox and live; e-mail immediately only for what needs the user's answer
 * or concerns their own work (group invitations, moderation decisions), off otherwise.
 */
export function defaultPreferences(): Preferences {
  const immediate: readonly PreferenceType[] = ['group.invited', 'subtitle.removed'];
  return Object.fromEntries(
    PREFERENCE_TYPES.map((type) => [
      type,
      { inbox: true, live: true, email: immediate.includes(type) ? 'immediate' : 'off' },
    ]),
  ) as unknown as Preferences;
}

export const isPreferenceType = (value: string): value is PreferenceType =>
  (PREFERENCE_TYPES as readonly string[]).includes(value);

/** Notification kinds a preference type of another name governs: every moderation decision on an upload. */
const GOVERNED_BY: Readonly<Record<string, PreferenceType>> = {
  'subtitle.hidden': 'subtitle.removed',
  'subtitle.restored': 'subtitle.removed',
};

/**
 * The preference type that governs a notification kind (its own name, or the decision type for hidden
 * and restored subtitles); undefined for kinds no user tunes (the moderators' shared inbox).
 * @example preferenceOf('subtitle.hidden') === 'subtitle.removed'; preferenceOf('subtitle.reported') === undefined
 */
export function preferenceOf(kind: string): PreferenceType | undefined {
  return isPreferenceType(kind) ? kind : GOVERNED_BY[kind];
}

/**
 * Check a request body against the types and channels; ValidationFailed (400) naming each unknown type
 * or channel with `allowed` listing the known ones, or a wrong value with what it may be.
 */
export function parsePatch(body: unknown): PreferencesPatch {
  const issues: { field: string; message: string; allowed?: readonly unknown[] }[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ValidationFailed('the body must be an object of notification types', {
      issues: [{ field: '/body', message: 'must be an object', allowed: PREFERENCE_TYPES }],
    });
  const patch: Record<string, Record<string, unknown>> = {};
  for (const [type, channels] of Object.entries(body)) {
    if (!isPreferenceType(type)) {
      issues.push({
        field: `/body/${type}`,
        message: 'is not a notification type',
        allowed: PREFERENCE_TYPES,
      });
      continue;
    }
    if (typeof channels !== 'object' || channels === null || Array.isArray(channels)) {
      issues.push({ field: `/body/${type}`, message: 'must be an object of channels', allowed: CHANNELS });
      continue;
    }
    const out: Record<string, unknown> = {};
    for (const [channel, value] of Object.entries(channels)) {
      const field = `/body/${type}/${channel}`;
      if (channel === 'inbox' || channel === 'live') {
        if (typeof value === 'boolean') out[channel] = value;
        else issues.push({ field, message: 'must be true or false', allowed: [true, false] });
      } else if (channel === 'email') {
        if ((EMAIL_MODES as readonly unknown[]).includes(value)) out[channel] = value;
        else
          issues.push({ field, message: `must be one of: ${EMAIL_MODES.join(', ')}`, allowed: EMAIL_MODES });
      } else issues.push({ field, message: 'is not a channel', allowed: CHANNELS });
    }
    patch[type] = out;
  }
  if (issues.length > 0)
    throw new ValidationFailed(
      `invalid notification preferences: types are ${PREFERENCE_TYPES.join(', ')}; channels are ${CHANNELS.join(', ')}`,
      { issues },
    );
  return patch as PreferencesPatch;
}

/** `base` with `patch` applied (a channel left out keeps its value). */
export function applyPatch(base: Preferences, patch: PreferencesPatch): Preferences {
  const out = { ...base } as Record<PreferenceType, ChannelPreferences>;
  for (const type of PREFERENCE_TYPES) {
    const change = patch[type];
    if (change) out[type] = { ...base[type], ...change };
  }
  return out;
}

/**
 * One user's stored document. Keys of `types` are the type names with `.` replaced by `_` (a dot in a
 * MongoDB field name would be read as a path); types or channels it lacks take the defaults.
 */
interface PreferencesDoc {
  _id: string;
  types: Record<string, Partial<ChannelPreferences>>;
  updatedAt: Date;
}
const keyOf = (type: string): string => type.replaceAll('.', '_');

/** The MongoDB collection (inbox database) holding each user's preferences, `_id` = user id (`sub`). */
export const PREFERENCES_COLLECTION = 'notification_preferences';

export interface PreferencesStore {
  /** The user's effective preferences (defaults for what they never set). */
  get(userId: string): Promise<Preferences>;
  /** Several users' at once (notify: one read per event); users without a document get the defaults. */
  many(userIds: readonly string[]): Promise<Map<string, Preferences>>;
  /** Replace (PUT: types left out go back to their defaults) and return the result. */
  replace(userId: string, patch: PreferencesPatch, now: Date): Promise<Preferences>;
  /** Merge (PATCH: only the given channels change) and return the result; one atomic update. */
  merge(userId: string, patch: PreferencesPatch, now: Date): Promise<Preferences>;
}

const effective = (doc: PreferencesDoc | null): Preferences => {
  const patch: Record<string, Partial<ChannelPreferences>> = {};
  for (const type of PREFERENCE_TYPES) {
    const stored = doc?.types?.[keyOf(type)];
    if (stored) patch[type] = stored;
  }
  return applyPatch(defaultPreferences(), patch as PreferencesPatch);
};

/** Preferences in MongoDB (the inbox database, which notify and notifications both read). */
export function createPreferencesStore(db: Db): PreferencesStore {
  const collection = db.collection<PreferencesDoc>(PREFERENCES_COLLECTION);
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw new DependencyUnavailable('mongodb', { cause: error });
    }
  };
  return {
    get: (userId) => guarded(async () => effective(await collection.findOne({ _id: userId }))),
    many: (userIds) =>
      guarded(async () => {
        const found = userIds.length ? await collection.find({ _id: { $in: [...userIds] } }).toArray() : [];
        const byId = new Map(found.map((d) => [d._id, d]));
        return new Map(userIds.map((id) => [id, effective(byId.get(id) ?? null)]));
      }),
    replace: (userId, patch, now) =>
      guarded(async () => {
        const types = applyPatch(defaultPreferences(), patch);
        const stored = Object.fromEntries(Object.entries(types).map(([type, c]) => [keyOf(type), c]));
        await collection.updateOne(
          { _id: userId },
          { $set: { types: stored, updatedAt: now } },
          { upsert: true },
        );
        return types;
      }),
    merge: (userId, patch, now) =>
      guarded(async () => {
        const set: Record<string, unknown> = { updatedAt: now };
        for (const [type, channels] of Object.entries(patch))
          for (const [channel, value] of Object.entries(channels ?? {}))
            set[`types.${keyOf(type)}.${channel}`] = value;
        await collection.updateOne({ _id: userId }, { $set: set }, { upsert: true });
        return effective(await collection.findOne({ _id: userId }));
      }),
  };
}
