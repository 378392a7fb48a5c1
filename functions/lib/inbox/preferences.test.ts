import { describe, expect, it } from 'vitest';
import { ValidationFailed } from '../errors.ts';
import { signUnsubscribe, verifyUnsubscribe } from './mail.ts';
import { applyPatch, defaultPreferences, PREFERENCE_TYPES, parsePatch } from './preferences.ts';

describe('notification preferences', () => {
  it('defaults: inbox and live on everywhere; e-mail immediate only for invitations and moderation decisions', () => {
    const d = defaultPreferences();
    expect(Object.keys(d)).toEqual([...PREFERENCE_TYPES]);
    for (const type of PREFERENCE_TYPES) {
      expect(d[type].inbox && d[type].live).toBe(true);
      expect(d[type].email).toBe(
        type === 'group.invited' || type === 'subtitle.removed' ? 'immediate' : 'off',
      );
    }
  });

  it('a patch changes only the channels it names', () => {
    const next = applyPatch(defaultPreferences(), parsePatch({ 'episode.aired': { live: false } }));
    expect(next['episode.aired']).toEqual({ inbox: true, live: false, email: 'off' });
    expect(next['group.invited']).toEqual(defaultPreferences()['group.invited']);
  });

  it('unknown types and channels are refused together, each listing what is allowed', () => {
    let error: unknown;
    try {
      parsePatch({ 'anime.rated': {}, 'group.release': { sms: true, inbox: 'yes' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).issues).toEqual([
      { field: '/body/anime.rated', message: 'is not a notification type', allowed: PREFERENCE_TYPES },
      { field: '/body/group.release/sms', message: 'is not a channel', allowed: ['inbox', 'live', 'email'] },
      { field: '/body/group.release/inbox', message: 'must be true or false', allowed: [true, false] },
    ]);
    expect(() => parsePatch([])).toThrow(ValidationFailed);
  });
});

describe('unsubscribe grants (HMAC-SHA256)', () => {
  const key = 'k'.repeat(32);
  it('round-trips the user and type', () => {
    expect(verifyUnsubscribe(key, signUnsubscribe(key, 'user-1', 'group.release'))).toEqual({
      userId: 'user-1',
      type: 'group.release',
    });
  });
  it('refuses a changed payload, a changed signature, another key and garbage', () => {
    const grant = signUnsubscribe(key, 'user-1', 'group.release');
    const [payload, sig] = grant.split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ u: 'user-2', t: 'group.release' })).toString('base64url');
    for (const bad of [
      `${other}.${sig}`,
      `${payload}.${sig.slice(1)}A`,
      signUnsubscribe('x'.repeat(32), 'user-1', 'group.release'),
      'nonsense',
      '',
    ]) {
      expect(() => verifyUnsubscribe(key, bad), bad).toThrow(ValidationFailed);
    }
  });
});
