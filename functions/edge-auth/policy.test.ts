import { describe, expect, it } from 'vitest';
import { requirementFor } from './policy.ts';

/** Spot checks of the generated rules (api/api.test.ts checks every declared route against its table). */
describe('edge access policy', () => {
  it.each([
    ['public catalog search', 'api', 'GET', '/anime?q=frieren', 'anonymous'],
    [
      'catalog detail (optional identity: a token sent must be a person’s)',
      'api',
      'GET',
      '/anime/5114',
      'optional',
    ],
    ['episode means (optional identity)', 'api', 'GET', '/anime/5114/episodes/ratings', 'optional'],
    [
      'subtitle search (optional identity: the caller’s votes)',
      'api',
      'GET',
      '/subtitles?anime=5114',
      'optional',
    ],
    ['rating write', 'api', 'PUT', '/anime/5114/rating', 'user'],
    ['own rating read', 'api', 'GET', '/anime/5114/rating', 'user'],
    ['library write', 'api', 'PUT', '/me/library/5114', 'user'],
    ['own list read', 'api', 'GET', '/me/library', 'user'],
    ['own list read, trailing slash', 'api', 'GET', '/me/library/', 'user'],
    ['list export (static beats :animeId)', 'api', 'GET', '/me/library/export', 'user'],
    ['profile', 'api', 'PATCH', '/me', 'user'],
    ["someone else's public list", 'api', 'GET', '/users/viewer1/library', 'anonymous'],
    ['notifications stream', 'api', 'GET', '/notifications/stream', 'user'],
    ['subtitle upload', 'api', 'POST', '/uploads', 'uploader,moderator,admin'],
    ['moderation decision', 'api', 'POST', '/subtitles/abc/moderation', 'moderator,admin'],
    ['report queue (static beats :id)', 'api', 'GET', '/subtitles/reports', 'moderator,admin'],
    ['a subtitle (optional identity: the caller’s vote)', 'api', 'GET', '/subtitles/abc', 'optional'],
    ['an undeclared read (nginx answers 404)', 'api', 'GET', '/no/such/route', 'anonymous'],
    ['an undeclared write', 'api', 'DELETE', '/anime', 'user'],
    ['integrator publish', 'events', 'POST', '/', 'integrator'],
    ['integrator read', 'events', 'GET', '/', 'integrator'],
  ])('%s', (_name, host, method, path, expected) => {
    const need = requirementFor(host as 'api' | 'events', method, path.split('?')[0] ?? '/');
    const got = need.kind === 'roles' ? need.roles.join(',') : need.kind;
    expect(got).toBe(expected);
  });
});
