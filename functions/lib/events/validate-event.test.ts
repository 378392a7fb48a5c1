import { HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../../events/catalogue.ts';
import { IsekaiError } from '../errors.ts';
import { toBinary, toStructured } from './encode.ts';
import { validateEvent } from './validate-event.ts';

const fixture = {
  specversion: '1.0',
  id: 'b46cf653-d48a-4b90-8dfa-355c01061361',
  type: 'dev.isekai.episode.aired.v1',
  source: '/integrators/airing-bot',
  subject: '1',
  time: '2026-11-23T16:00:00Z',
  datacontenttype: 'application/json',
  data: { animeId: 1, episode: 6, airedAt: '2026-11-23T16:00:00Z' },
};

function codeOf(work: () => unknown): { code: string; fields: string[] } | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    const e = error as IsekaiError;
    expect(e).toBeInstanceOf(IsekaiError);
    return { code: e.code, fields: e.issues.map((i) => i.field) };
  }
}

describe('validateEvent', () => {
  expect(EVENTS, 'event types').toHaveLength(15);
  it.each(EVENTS.map((e) => [e.type, e]))('accepts the catalogue example of %s', (type, spec) => {
    const event = { ...fixture, type, subject: String(spec.example.animeId), data: spec.example };
    expect(validateEvent(event)).toBe(event);
  });

  it.each([
    ['an unknown type', { type: 'dev.isekai.unknown.v1' }, '/type'],
    [
      'a missing subject where the type needs one',
      {
        type: 'dev.isekai.rating.submitted.v1',
        subject: undefined,
        data: EVENTS.find((e) => e.type === 'dev.isekai.rating.submitted.v1')?.example,
      },
      '/subject',
    ],
    ['a slug for an anime id', { data: { ...fixture.data, animeId: 'cowboy-bebop' } }, '/data/animeId'],
    [
      'a timestamp with an offset',
      { data: { ...fixture.data, airedAt: '2026-11-23T16:00:00+00:00' } },
      '/data/airedAt',
    ],
    ['a wrong specversion', { specversion: '0.3' }, '/specversion'],
    ['a data field out of range', { data: { ...fixture.data, episode: 0 } }, '/data/episode'],
    ['an unexpected data field', { data: { ...fixture.data, extra: 1 } }, '/data'],
    ['a subject that is not the anime', { subject: '2' }, '/subject'],
    ['an extension with upper case', { badExt: 'x' }, '/badExt'],
    ['an extension with a hyphen', { 'my-ext': 'x' }, '/my-ext'],
    ['a non-JSON content type', { datacontenttype: 'text/plain' }, '/datacontenttype'],
  ])('refuses %s as validation_failed naming the field', (_name, change, field) => {
    const failure = codeOf(() => validateEvent({ ...fixture, ...change }));
    expect(failure?.code).toBe('validation_failed');
    expect(failure?.fields.some((f) => f.startsWith(field))).toBe(true);
  });

  it('accepts an event without subject where the type does not need one (CloudEvents 1.0)', () => {
    const { subject: _, ...withoutSubject } = fixture;
    expect(validateEvent(withoutSubject)).toBe(withoutSubject);
  });

  it.each(['application/json;charset=UTF-8', 'application/json; charset=utf-8', 'Application/JSON'])(
    'accepts datacontenttype %s (media types compare case-insensitively)',
    (datacontenttype) => {
      expect(validateEvent({ ...fixture, datacontenttype })).toBeTruthy();
    },
  );

  it('accepts lowercase alphanumeric extensions', () => {
    expect(
      validateEvent({
        ...fixture,
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        partner: 'abc',
      }),
    ).toBeTruthy();
  });
});

describe('encode', () => {
  it('binary mode puts attributes in ce- headers and data in the body, readable by the SDK', () => {
    const message = toBinary({ ...fixture, partner: 'abc' });
    expect(message.headers['ce-type']).toBe(fixture.type);
    expect(message.headers['ce-partner']).toBe('abc');
    expect(message.headers['content-type']).toBe('application/json');
    expect(JSON.parse(String(message.body))).toEqual(fixture.data);
    const decoded = HTTP.toEvent({ headers: message.headers, body: message.body });
    expect(decoded).toMatchObject({
      id: fixture.id,
      subject: fixture.subject,
      partner: 'abc',
      data: fixture.data,
    });
  });

  it('structured mode round-trips through the SDK', () => {
    const message = toStructured(fixture);
    expect(message.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    const decoded = HTTP.toEvent({ headers: message.headers, body: message.body });
    expect(decoded).toMatchObject({ id: fixture.id, type: fixture.type, data: fixture.data });
  });
});
