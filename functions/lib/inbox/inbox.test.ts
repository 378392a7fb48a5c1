import { describe, expect, it } from 'vitest';
import { channelOf, inboxesOf, MODERATION_INBOX, parseId } from './inbox.ts';

describe('inboxesOf', () => {
  it.each([
    ['a viewer reads only their own inbox', ['viewer'], ['u1']],
    ['a moderator also reads the moderation inbox', ['viewer', 'moderator'], ['u1', MODERATION_INBOX]],
    ['an admin also reads the moderation inbox', ['admin'], ['u1', MODERATION_INBOX]],
    ['an uploader does not', ['uploader'], ['u1']],
  ])('%s', (_name, roles, expected) => {
    expect(inboxesOf({ sub: 'u1', roles })).toEqual(expected);
  });
});

describe('parseId', () => {
  it.each([
    ['a 24-hex id', '6745f0c2a1b2c3d4e5f60718', true],
    ['too short', '6745f0c2', false],
    ['not hex', 'zzzzzzzzzzzzzzzzzzzzzzzz', false],
    ['an operator injection', '{"$ne":null}', false],
  ])('%s', (_name, id, valid) => {
    expect(parseId(id) !== undefined).toBe(valid);
  });
});

it('the live channel of an inbox carries the key prefix', () => {
  expect(channelOf('isekai:', 'u1')).toBe('isekai:notifications:u1');
});
