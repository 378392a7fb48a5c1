import { describe, expect, it } from 'vitest';
import { MODERATION_INBOX } from '../lib/inbox/inbox.ts';
import { removedRecipients, reportedRecipients, uploadRecipients, wantsLanguage } from './recipients.ts';

describe('wantsLanguage', () => {
  it.each([
    ['no preference wants every language', [], 'ja', true],
    ['an exact preference', ['en', 'pl'], 'pl', true],
    ['another language is not wanted', ['en'], 'ja', false],
    ['a base language wants its regional variants', ['pt'], 'pt-BR', true],
    ['a regional preference does not want the base language', ['pt-BR'], 'pt', false],
    ['case does not matter', ['PT-br'], 'pt-BR', true],
    ['a prefix that is not a subtag does not match', ['p'], 'pt', false],
  ] as const)('%s', (_name, preferred, language, expected) => {
    expect(wantsLanguage(preferred, language)).toBe(expected);
  });
});

describe('uploadRecipients', () => {
  const candidates = [
    { userId: 'uploader', preferredLanguages: [] },
    { userId: 'any', preferredLanguages: [] },
    { userId: 'english', preferredLanguages: ['en'] },
    { userId: 'japanese', preferredLanguages: ['ja'] },
  ];
  it.each([
    ['everyone wanting English except the uploader', 'en', ['any', 'english']],
    ['only users without a preference or wanting Japanese', 'ja', ['any', 'japanese']],
    ['nobody with another preference for Polish', 'pl', ['any']],
  ] as const)('%s', (_name, language, expected) => {
    expect(uploadRecipients(candidates, { uploaderId: 'uploader', language })).toEqual(expected);
  });
  it('never lists a user twice', () => {
    const twice = [candidates[1], candidates[1]].filter((c) => c !== undefined);
    expect(uploadRecipients(twice, { uploaderId: 'x', language: 'en' })).toEqual(['any']);
  });
});

describe('removal and report recipients', () => {
  it.each([
    ['a moderator removed it: the uploader hears', { uploaderId: 'u', removedBy: 'mod' }, ['u']],
    ['the uploader removed it: nobody hears', { uploaderId: 'u', removedBy: 'u' }, []],
  ] as const)('%s', (_name, removal, expected) => {
    expect(removedRecipients(removal)).toEqual(expected);
  });
  it('a report goes to the moderation inbox', () => {
    expect(reportedRecipients()).toEqual([MODERATION_INBOX]);
  });
});
