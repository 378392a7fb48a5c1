import { json, type Loose } from './http.ts';

/** What signs a token for a test user: the suite's Keycloak (keycloak-tokens.ts) or a test signer. */
export interface Signer {
  sign(user: string, options?: { roles?: string[] }): Promise<string>;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Loose;
}

/** A tiny JSON client: `call('PUT', url, 'alice', body)` signs a token for `alice` when a user is given. */
export function caller(tokens: Signer, claims?: (user: string) => { roles?: string[] }) {
  const claimsOf = claims ?? (() => ({}));
  return async (method: string, url: string, user?: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (user) headers.authorization = `Bearer ${await tokens.sign(user, claimsOf(user))}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const type = res.headers.get('content-type') ?? '';
    const parsed =
      res.status === 204 ? undefined : type.includes('json') ? await json(res) : await res.text();
    return { status: res.status, headers: res.headers, body: parsed };
  };
}
