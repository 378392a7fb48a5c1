import { describe, expect, it } from 'vitest';
import { memoryStore, PENDING_SIGN_IN_TTL_SECONDS, readCookie, Session, sessionCookie } from './session.ts';

describe('sessions', () => {
  it('an anonymous visitor gets no session and no cookie until one is needed', async () => {
    const store = memoryStore();
    const session = await Session.load(store, 60, undefined);
    expect(session.exists).toBe(false);
    expect(await session.commit()).toBeUndefined();
    expect(store.size()).toBe(0);
  });

  it('a created session is saved under a random id with a CSRF token, and loads back from its cookie', async () => {
    const store = memoryStore();
    const first = await Session.load(store, 60, undefined);
    first.update((d) => {
      d.flash = { kind: 'ok', text: 'hi' };
    });
    const action = await first.commit();
    expect(action).toEqual({ set: first.id });
    expect(first.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await Session.load(store, 60, first.id);
    expect(again.data?.flash?.text).toBe('hi');
    expect(again.data?.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each([
    ['unknown id', 'A'.repeat(43)],
    ['malformed id', '../../etc/passwd'],
    ['empty', ''],
  ])('a cookie with an %s gives an empty session', async (_name, id) => {
    const session = await Session.load(memoryStore(), 60, id);
    expect(session.exists).toBe(false);
  });

  it('expires after its TTL', async () => {
    let now = 1_000_000;
    const store = memoryStore(() => now);
    const s = await Session.load(store, 60, undefined);
    s.ensure();
    await s.commit();
    now += 61_000;
    expect((await Session.load(store, 60, s.id)).exists).toBe(false);
  });

  it('a session holding only a sign-in under way lives 10 minutes; signed in, the full TTL', async () => {
    let now = 1_000_000;
    const store = memoryStore(() => now);
    const pending = { verifier: 'v', state: 's', nonce: 'n', returnTo: '/', createdAt: now };
    const s = await Session.load(store, 36_000, undefined);
    s.update((d) => {
      d.pending = pending;
    });
    await s.commit();
    expect(PENDING_SIGN_IN_TTL_SECONDS).toBe(600);
    now += 599_000;
    const back = await Session.load(store, 36_000, s.id);
    expect(back.data?.pending).toEqual(pending);
    // The callback: the user is in, the pending sign-in out, the id rotated → the full TTL again.
    back.update((d) => {
      delete d.pending;
      d.user = { sub: 'u', username: 'u', name: 'U', roles: [] };
    });
    back.rotate();
    await back.commit();
    now += 2_000;
    expect((await Session.load(store, 36_000, s.id)).exists).toBe(false);
    now += 3_600_000;
    expect((await Session.load(store, 36_000, back.id)).data?.user?.sub).toBe('u');
  });

  it('an abandoned sign-in is gone after 10 minutes', async () => {
    let now = 1_000_000;
    const store = memoryStore(() => now);
    const s = await Session.load(store, 36_000, undefined);
    s.update((d) => {
      d.pending = { verifier: 'v', state: 's', nonce: 'n', returnTo: '/', createdAt: now };
    });
    await s.commit();
    now += 601_000;
    expect((await Session.load(store, 36_000, s.id)).exists).toBe(false);
  });

  it('rotate (at sign-in) gives a new id and CSRF token and deletes the old id', async () => {
    const store = memoryStore();
    const s = await Session.load(store, 60, undefined);
    s.ensure();
    await s.commit();
    const oldId = s.id;
    const oldCsrf = s.data?.csrf;
    const loaded = await Session.load(store, 60, oldId);
    loaded.rotate();
    await loaded.commit();
    expect(loaded.id).not.toBe(oldId);
    expect(loaded.data?.csrf).not.toBe(oldCsrf);
    expect((await Session.load(store, 60, oldId)).exists).toBe(false);
    expect((await Session.load(store, 60, loaded.id)).exists).toBe(true);
  });

  it('destroy deletes the data and clears the cookie', async () => {
    const store = memoryStore();
    const s = await Session.load(store, 60, undefined);
    s.ensure();
    await s.commit();
    const loaded = await Session.load(store, 60, s.id);
    loaded.destroy();
    expect(await loaded.commit()).toEqual({ clear: true });
    expect(store.size()).toBe(0);
  });

  it('the cookie is __Host- shaped: HttpOnly, Secure, SameSite=Lax, Path=/, no Domain', () => {
    const value = sessionCookie('__Host-isekai-sid', 'abc');
    expect(value).toBe('__Host-isekai-sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax');
    expect(sessionCookie('__Host-isekai-sid', undefined)).toContain('Max-Age=0');
    expect(readCookie('a=1; __Host-isekai-sid=xyz; b=2', '__Host-isekai-sid')).toBe('xyz');
    expect(readCookie(null, 'x')).toBeUndefined();
  });
});
