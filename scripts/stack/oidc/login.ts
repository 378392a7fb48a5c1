import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { checkPassword } from './password-grant.ts';
import type { Realm } from './realm.ts';

/**
 * DEV ONLY: the sign-in page for the authorization-code flow (oidc-provider's interaction), checking the
 * realm export's dev passwords. Consent is never asked (the realm's clients have consentRequired false):
 * grants are created by `loadExistingGrant`, with a fallback here.
 */
export async function handleLogin(
  provider: Provider,
  realm: Realm,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({
          accountId: details.session?.accountId,
          clientId: details.params.client_id as string,
        });
    if (!grant) throw new Error('grant not found');
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  if (req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const username = form.get('username') ?? '';
    const user = realm.userByName(username);
    if (checkPassword(user, form.get('password') ?? '')) {
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.sub } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    return page(res, 200, loginForm(realm, username, 'Invalid username or password.'));
  }
  return page(res, 200, loginForm(realm, '', undefined));
}

function loginForm(realm: Realm, username: string, error: string | undefined): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to ${escapeHtml(realm.name)}</title></head>
<body><main><h1>Sign in to ${escapeHtml(realm.name)}</h1><p><em>Embedded development identity provider: dev accounts only.</em></p>
${error ? `<p role="alert" id="input-error">${escapeHtml(error)}</p>` : ''}
<form id="kc-form-login" method="post" action="">
<label>Username or email <input name="username" autocomplete="username" value="${escapeHtml(username)}" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="kc-login">Sign In</button></form></main></body></html>`;
}

export function page(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    // No form-action: the sign-in POST ends in redirects to the client's redirect URI (another origin),
    // which Chromium checks against form-action too (Keycloak's login pages set none either).
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  });
  res.end(html);
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

async function readBody(req: IncomingMessage, limit = 16_384): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('login form too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
