import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../errors.ts';
import { decodeHttpMessage } from './decode.ts';
import { parseMediaType } from './media-type.ts';

const data = { animeId: 1, episode: 6, airedAt: '2026-11-23T16:00:00Z' };
const ce = {
  'ce-specversion': '1.0',
  'ce-id': 'e1',
  'ce-type': 'dev.isekai.episode.aired.v1',
  'ce-source': '/integrators/Airing-Bot',
};
const decode = (headers: Record<string, string>, body: string | Buffer) =>
  decodeHttpMessage(headers, Buffer.isBuffer(body) ? body : Buffer.from(body));

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return (error as IsekaiError).code;
  }
  return undefined;
}

describe('parseMediaType', () => {
  it.each([
    ['application/json', 'application/json', {}],
    ['Application/JSON', 'application/json', {}],
    ['application/json;charset=UTF-8', 'application/json', { charset: 'utf-8' }],
    ['APPLICATION/CLOUDEVENTS+JSON; Charset="utf-8"', 'application/cloudevents+json', { charset: 'utf-8' }],
  ])('%s', (header, essence, params) => {
    expect(parseMediaType(header)).toEqual({ essence, params });
  });
  it.each(['', 'json', 'a/b/c', 'text/ plain'])('refuses %j', (header) => {
    expect(parseMediaType(header)).toBeUndefined();
  });
});

describe('decodeHttpMessage', () => {
  it('binary mode: attributes from ce- headers (percent-decoded), JSON data whatever the case of the type', () => {
    const { mode, events } = decode(
      { ...ce, 'ce-partner': 'Tokyo%20MX', 'content-type': 'Application/Json; Charset=UTF-8' },
      JSON.stringify(data),
    );
    expect(mode).toBe('binary');
    expect(events).toEqual([
      {
        specversion: '1.0',
        id: 'e1',
        type: 'dev.isekai.episode.aired.v1',
        source: '/integrators/Airing-Bot',
        partner: 'Tokyo MX',
        datacontenttype: 'Application/Json; Charset=UTF-8',
        data,
      },
    ]);
  });

  it('adds nothing: no time, no subject when none was sent', () => {
    const [event] = decode({ ...ce, 'content-type': 'application/json' }, JSON.stringify(data)).events;
    expect(event).not.toHaveProperty('time');
    expect(event).not.toHaveProperty('subject');
  });

  it('structured mode: the JSON format, data_base64 as bytes', () => {
    const body = JSON.stringify({
      specversion: '1.0',
      id: 'e2',
      data_base64: Buffer.from('hi').toString('base64'),
    });
    const { mode, events } = decode({ 'content-type': 'application/cloudevents+json' }, body);
    expect(mode).toBe('structured');
    expect(events[0]?.data).toEqual(Buffer.from('hi'));
    expect(events[0]).not.toHaveProperty('data_base64');
  });

  it('batch mode: every entry', () => {
    const body = JSON.stringify([1, 2, 3].map((n) => ({ specversion: '1.0', id: `b${n}` })));
    const { mode, events } = decode({ 'content-type': 'Application/CloudEvents-Batch+JSON' }, body);
    expect(mode).toBe('batch');
    expect(events.map((e) => e.id)).toEqual(['b1', 'b2', 'b3']);
  });

  it.each<[string, Record<string, string>, string, string]>([
    ['no CloudEvent at all', { 'content-type': 'application/json' }, '{}', 'validation_failed'],
    ['malformed JSON data', { ...ce, 'content-type': 'application/json' }, '{', 'validation_failed'],
    [
      'a batch entry that is not an object',
      { 'content-type': 'application/cloudevents-batch+json' },
      '[1]',
      'validation_failed',
    ],
    [
      'more than 100 in a batch',
      { 'content-type': 'application/cloudevents-batch+json' },
      JSON.stringify(Array(101).fill({})),
      'validation_failed',
    ],
    [
      'a charset other than UTF-8',
      { ...ce, 'content-type': 'application/json; charset=latin1' },
      '{}',
      'unsupported_media_type',
    ],
  ])('refuses %s', (_name, headers, body, code) => {
    expect(codeOf(() => decode(headers, body))).toBe(code);
  });
});
