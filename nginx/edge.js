// njs helpers for the Isekai edge (nginx/render.ts loads this with js_import). Keep it tiny: it runs on
// every request.
// biome-ignore lint/style/useNodejsImportProtocol: njs (not Node) runs this file; its module is 'crypto'.
import crypto from 'crypto';

/**
 * `$auth_token_hash`: SHA-256 of the Authorization header (base64url), '' without one. Keys the auth
 * cache and the per-token rate limit, so a bearer token is never written to disk or shared memory.
 */
function tokenHash(r) {
  const header = r.headersIn.Authorization;
  if (!header) return '';
  return crypto.createHash('sha256').update(header).digest('base64url');
}

/** `$problem_instance`: the request URI as a JSON string (problem+json `instance`). */
function problemInstance(r) {
  return JSON.stringify(r.variables.request_uri || '/');
}

export default { tokenHash, problemInstance };
