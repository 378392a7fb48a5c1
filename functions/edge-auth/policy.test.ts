import { describe, expect, it } from 'vitest';
import { requirementFor } from './policy.ts';

describe('edge access policy', () => {
  it.each([
    ['public catalog read', 'api', 'GET', '/catalog/anime?q=frieren', 'anonymous'],
    ['public subtitle search', 'api', 'GET', '/subtitles?anime=5114', 'anonymous'],
    ['rating write', 'api', 'PUT', '/ratings/anime/5114', 'user'],
    ['library write', 'api', 'POST', '/library/entries', 'user'],
    ['own list read', 'api', 'GET', '/library/me', 'user'],
    ['notifications stream', 'api', 'GET', '/notifications/stream', 'user'],
    ['subtitle upload', 'api', 'POST', '/uploads', 'uploader,moderator,admin'],
    ['moderation decision', 'api', 'POST', '/subtitles/abc/moderation', 'moderator,admin'],
    ['report queue', 'api', 'GET', '/subtitles/reports', 'moderator,admin'],
    ['integrator publish', 'events', 'POST', '/', 'integrator'],
    ['integrator read', 'events', 'GET', '/', 'integrator'],
  ])('%s', (_name, host, method, path, expected) => {
    const need = requirementFor(host as 'api' | 'events', method, path.split('?')[0] ?? '/');
    const got = need.kind === 'roles' ? need.roles.join(',') : need.kind;
    expect(got).toBe(expected);
  });
});
