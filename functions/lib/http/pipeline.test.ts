import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../errors.ts';
import { createRuntime } from '../runtime.ts';
import { Exchange, type Step, sequence } from './pipeline.ts';
import { authorize, measure, problems, route, trace } from './steps.ts';
import type { AnyRoute, Identity } from './types.ts';

const runtime = createRuntime('pipeline-test', { env: { LOG_LEVEL: 'silent' } });
const exchange = (method: string, url: string, headers: Record<string, string> = {}) =>
  new Exchange({ method, url, headers } as IncomingMessage, {} as ServerResponse, runtime.log);
const last = async () => 200;
/** The error a run ends with (thrown at once, as `route` does, or rejected later). */
const failure = async (work: () => unknown) =>
  Promise.resolve()
    .then(work)
    .then(
      () => undefined,
      (error: IsekaiError) => error,
    );

describe('sequence()', () => {
  it('runs the steps outermost first, each able to act on what the rest answered', async () => {
    const seen: string[] = [];
    const step =
      (name: string): Step =>
      (x, next) => {
        seen.push(`${name} in`);
        return Promise.resolve(next(x)).then((status) => {
          seen.push(`${name} out ${status}`);
          return status + 1;
        });
      };
    const run = sequence(
      step('a'),
      step('b'),
    )(async () => {
      seen.push('handler');
      return 200;
    });
    expect(await run(exchange('GET', '/'))).toBe(202);
    expect(seen).toEqual(['a in', 'b in', 'handler', 'b out 200', 'a out 201']);
  });
});

describe('a run where nothing waits', () => {
  it('answers with the status itself, not a promise', () => {
    const routes: AnyRoute[] = [{ method: 'GET', path: '/at-once', handle: () => undefined }];
    const run = sequence(trace(runtime), measure(runtime), problems, route(routes))(() => 200);
    const x = exchange('GET', '/at-once');
    expect(run(x)).toBe(200);
    expect(x.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });
});

describe('steps alone', () => {
  const routes: AnyRoute[] = [
    { method: 'POST', path: '/anime/:id/rating', access: 'user', handle: () => undefined },
  ];
  const routing = sequence(route(routes))(last);

  it('route: sets the template and params; 405 with the allowed methods; 404; a NUL byte is 400', async () => {
    const x = exchange('POST', '/anime/7/rating?x=1');
    expect(await routing(x)).toBe(200);
    expect({ template: x.template, params: x.params, search: x.search }).toEqual({
      template: '/anime/:id/rating',
      params: { id: '7' },
      search: '?x=1',
    });
    expect((await failure(() => routing(exchange('GET', '/anime/7/rating'))))?.code).toBe(
      'method_not_allowed',
    );
    expect((await failure(() => routing(exchange('GET', '/nothing'))))?.code).toBe('not_found');
    expect((await failure(() => routing(exchange('GET', '/a%00b'))))?.code).toBe('validation_failed');
  });

  it('authorize: a user route without a token is 401, with one the identity is set', async () => {
    const identity = { sub: 'u1', username: 'u1', roles: ['viewer'], exp: 2_000_000_000 };
    const run = sequence(
      route(routes),
      authorize(async (req) => (req.headers.authorization ? identity : undefined)),
    )(last);
    expect((await failure(() => run(exchange('POST', '/anime/7/rating'))))?.code).toBe('unauthenticated');
    const x = exchange('POST', '/anime/7/rating', { authorization: 'Bearer t' });
    expect(await run(x)).toBe(200);
    expect(x.identity).toEqual(identity);
  });

  const machines: [string, Identity][] = [
    [
      'a service-account token, even with a person role',
      {
        sub: 's1',
        username: 'service-account-bot',
        roles: ['viewer'],
        serviceAccount: true,
        exp: 2_000_000_000,
      },
    ],
    [
      'a token without a person role',
      { sub: 'u2', username: 'u2', roles: ['integrator'], exp: 2_000_000_000 },
    ],
  ];
  it.each(machines)('authorize: a user route refuses %s (403)', async (_name, identity) => {
    const run = sequence(
      route(routes),
      authorize(async () => identity),
    )(last);
    const x = exchange('POST', '/anime/7/rating', { authorization: 'Bearer t' });
    expect((await failure(() => run(x)))?.code).toBe('forbidden');
  });

  // An optional route acts as the caller when a token comes (their own entry, their own scores): the
  // token must be a person's, as on a user route; without one the route stays open.
  const optional: AnyRoute[] = [
    { method: 'GET', path: '/anime/:id', access: 'optional', handle: () => undefined },
  ];
  it.each(machines)(
    'authorize: an optional route refuses %s (403), as a user route does',
    async (_name, identity) => {
      const run = sequence(
        route(optional),
        authorize(async (req) => (req.headers.authorization ? identity : undefined)),
      )(last);
      const x = exchange('GET', '/anime/7', { authorization: 'Bearer t' });
      expect((await failure(() => run(x)))?.code).toBe('forbidden');
      const anonymous = exchange('GET', '/anime/7');
      expect(await run(anonymous)).toBe(200);
      expect(anonymous.identity).toBeUndefined();
    },
  );

  it('authorize: an optional route sets a person’s identity', async () => {
    const person = { sub: 'u1', username: 'u1', roles: ['viewer'], exp: 2_000_000_000 };
    const run = sequence(
      route(optional),
      authorize(async () => person),
    )(last);
    const x = exchange('GET', '/anime/7', { authorization: 'Bearer t' });
    expect(await run(x)).toBe(200);
    expect(x.identity).toEqual(person);
  });
});
