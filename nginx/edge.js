// njs helpers for the Isekai edge (nginx/render.ts loads this with js_import). Keep it tiny: it runs on
// every request. njs 0.7 (Debian 12): no shared dicts, synchronous js_set handlers only.
// biome-ignore lint/style/useNodejsImportProtocol: njs (not Node) runs this file; its module is 'crypto'.
import crypto from 'crypto';

const HEX = '0123456789ABCDEF';

/**
 * Query parameter names that carry credentials. The API refuses them (a token in a URL ends up in logs,
 * browser history and Referer headers) and every access-log line redacts their values. No API parameter
 * may use such a name.
 */
const CREDENTIAL_NAME =
  /token|secret|passw|api[-_]?key|signature|credential|jwt|^code$|_code$|^key$|^sig$|^auth(orization)?$|^bearer$/;

/** A JSON Web Token (what Keycloak issues) wherever it is, whatever it is called. */
const JWT = /eyJ[\w-]{4,}\.eyJ[\w-]*(\.[\w-]*)?/g;

/** Names whose values the access log redacts: looser (a name garbled around `code` is still redacted). */
const REDACTED_NAME = /token|secret|passw|key|sig|credential|jwt|code|auth|bearer|session/;

/**
 * `$auth_token_hash`: MD5 of the Authorization header's bytes (base64url, 22 characters), '' without one.
 * Keys the auth cache and the per-token rate limit, so a bearer token is never written to disk (a cache
 * file's `KEY:` line holds the key as text) or to shared memory.
 *
 * The header is read as bytes (`rawVariables`, a Buffer): as a string njs would decode it from UTF-8 and
 * `update` encode it back, ≈ 44 k instructions a request for an 800-byte token. MD5 rather than SHA-256
 * (njs's own C code, ≈ 40 instructions a byte: 33 k a request more): the key needs only second-preimage
 * resistance — another header with the same key as a user's token — which MD5 still has (no attack below
 * 2^123); its broken collision resistance gives an attacker only two headers of their own with one key,
 * and a token Keycloak signs cannot carry chosen collision blocks (its signature comes last and is not
 * theirs). A key is never a credential: a hit still needs the very header that was verified.
 * bench/README.md "Fourth pass" has the numbers and the argument in full.
 */
function tokenHash(r) {
  const header = r.rawVariables.http_authorization;
  if (!header) return '';
  return crypto.createHash('md5').update(header).digest('base64url');
}

/** Whether a byte may not appear raw in a request target (RFC 3986; node's parser refuses the rest). */
function unsafe(b) {
  return (
    b <= 0x20 ||
    b >= 0x7f ||
    b === 0x22 || // "
    b === 0x23 || // #
    b === 0x3c || // <
    b === 0x3e || // >
    b === 0x5c || // \
    b === 0x5e || // ^
    b === 0x60 || // `
    b === 0x7b || // {
    b === 0x7c || // |
    b === 0x7d // }
  );
}

/** A raw request target (bytes) as ASCII: bytes that may not appear raw are percent-encoded. */
function encodeTarget(bytes) {
  if (!bytes) return '';
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += unsafe(b) ? `%${HEX[b >> 4]}${HEX[b & 15]}` : String.fromCharCode(b);
  }
  return out;
}

/**
 * A query parameter name as the functions see it, for matching: `+` is a space and every valid %XX is
 * decoded, leniently like URLSearchParams (a malformed escape elsewhere does not stop the others).
 */
function paramName(raw) {
  return raw
    .replace(/\+/g, ' ')
    .replace(/%([0-9a-fA-F]{2})/g, (_m, hex) => String.fromCharCode(Number.parseInt(hex, 16)))
    .toLowerCase();
}

/** Whether the name of a `name=value` pair matches a pattern. */
function nameMatches(pair, pattern) {
  const eq = pair.indexOf('=');
  return pattern.test(paramName(eq < 0 ? pair : pair.slice(0, eq)));
}

/**
 * `$edge_upstream_uri`: the request target as the client sent it, with raw non-ASCII bytes (a browser's
 * `?q=進撃の巨人`) and other bytes node refuses percent-encoded, so the function decodes them.
 */
function upstreamUri(r) {
  return encodeTarget(r.rawVariables.request_uri) || '/';
}

/** Whether a query parameter's name is credential-like, or a JWT is anywhere in the query. */
function queryCredential(r) {
  const args = encodeTarget(r.rawVariables.args);
  if (!args) return false;
  return args.split('&').some((pair) => nameMatches(pair, CREDENTIAL_NAME)) || /eyJ[\w-]{4,}\.eyJ/.test(args);
}

/** `$edge_log_uri`: the request target for the access log: ASCII, credential-like values redacted. */
function logUri(r) {
  const target = encodeTarget(r.rawVariables.request_uri).replace(JWT, 'REDACTED');
  const q = target.indexOf('?');
  if (q < 0) return target;
  // Split on `?` and `;` too: `?a=x?access_token=…` is one parameter `a` to URLSearchParams, but a log
  // reader (and a lenient parser) sees a token; redacting more than needed is the safe side.
  const parts = target
    .slice(q + 1)
    .split(/([&?;])/)
    .map((part) =>
      part.length > 1 && nameMatches(part, REDACTED_NAME) ? `${part.split('=')[0]}=REDACTED` : part,
    );
  return `${target.slice(0, q)}?${parts.join('')}`;
}

/** A control character (RFC 9110 allows none in a field value but HTAB). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Whether a header value holds a control character. One regex test per value (PCRE, in C): a loop of
 * `charCodeAt` in njs's interpreter cost ≈ 120 µs per request on a bearer token's ~800 characters.
 */
function badHeader(r) {
  const headers = r.rawHeadersIn;
  for (let h = 0; h < headers.length; h++) {
    if (CONTROL.test(headers[h][1])) return true;
  }
  return false;
}

/**
 * `$edge_refusal` (events server; the api server decides the same in edge.conf.template's maps): the
 * problem page (`/_problem/<name>`, nginx/problems.ts REFUSALS) for a request refused before limits, auth
 * and functions, or ''.
 * - `header_control`: a control character in a header value: nginx passes it on, node refuses it (edge-auth's
 *   400 became a 503).
 * - `fragment`: a raw `#` in the request target: nginx ends the path there and ignores the query after it, a
 *   function would not, so edge-auth and the function would judge different requests.
 * - `query_credentials`: a credential-like query parameter, or a JWT in the query.
 */
function refusal(r) {
  if (badHeader(r)) return 'header_control';
  const target = r.rawVariables.request_uri;
  if (target && target.indexOf(0x23) >= 0) return 'fragment';
  if (queryCredential(r)) return 'query_credentials';
  return '';
}

/**
 * `$edge_query_refusal_js`: `query_credentials` or ''. The api server's maps (edge.conf.template) decide
 * the query themselves unless a parameter name needs decoding (`%`, `+`); then they ask this.
 */
function queryRefusal(r) {
  return queryCredential(r) ? 'query_credentials' : '';
}

/**
 * `$problem_instance`: the request path (never the query: it may hold credentials) as a JSON string
 * (problem+json `instance`), ASCII only.
 */
function problemInstance(r) {
  const target = encodeTarget(r.rawVariables.request_uri).replace(JWT, 'REDACTED');
  const q = target.indexOf('?');
  return JSON.stringify((q < 0 ? target : target.slice(0, q)) || '/');
}

export default { tokenHash, upstreamUri, refusal, queryRefusal, logUri, problemInstance };
