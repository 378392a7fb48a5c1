import { describe, expect, it } from 'vitest';
import { failureCode } from './delivery.ts';

describe('failureCode: the code a failed delivery is logged with', () => {
  it.each([
    ['no response', -1, '', 'dependency_unavailable'],
    ['a 503', 503, '', 'dependency_unavailable'],
    ['a 500 naming a code of its own', 500, '{"code":"internal"}', 'dependency_unavailable'],
    ['a request timeout', 408, '', 'dependency_unavailable'],
    ['a 422 refusal (problem+json)', 422, '{"code":"unprocessable","status":422}', 'unprocessable'],
    ['a 422 without a body', 422, '', 'unprocessable'],
    ['a 400 naming validation_failed', 400, '{"code":"validation_failed"}', 'validation_failed'],
    ['a 404', 404, 'Not Found', 'not_found'],
    ['a 429', 429, '', 'rate_limited'],
    ['a 4xx naming an unknown code', 400, '{"code":"nonsense"}', 'validation_failed'],
    ['a 4xx no code maps', 418, '', 'delivery_failed'],
  ])('%s', (_name, status, body, code) => {
    expect(failureCode({ status, body })).toBe(code);
  });
});
