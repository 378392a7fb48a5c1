/**
 * The API's own documentation on api.<domain>, served by nginx from files (no function, no auth):
 * `/openapi.json` (api/openapi.json, generated from the route table) and `/docs`, a static reference page
 * (Scalar's standalone bundle from npm; no CDN: its fonts and client proxy are turned off in the page).
 */
import { join } from 'node:path';
import type { EdgeOptions } from './options.ts';
import { securityHeaders } from './problems.ts';

const REPO = join(import.meta.dirname, '..');

export interface ApiDocsFiles {
  readonly openapi: string;
  readonly page: string;
  readonly script: string;
}

/**
 * Where the files are: in the repository locally; on the cloud node under /srv/isekai/api/ (install:
 * copy api/openapi.json, api/docs/index.html and @scalar/api-reference's dist/browser/standalone.js there,
 * and `gzip -9k scalar.js` beside it for gzip_static).
 */
export function apiDocsFiles(o: Pick<EdgeOptions, 'target'>): ApiDocsFiles {
  if (o.target === 'cluster')
    return {
      openapi: '/srv/isekai/api/openapi.json',
      page: '/srv/isekai/api/docs.html',
      script: '/srv/isekai/api/scalar.js',
    };
  return {
    openapi: join(REPO, 'api', 'openapi.json'),
    page: join(REPO, 'api', 'docs', 'index.html'),
    script: join(REPO, 'node_modules', '@scalar', 'api-reference', 'dist', 'browser', 'standalone.js'),
  };
}

/** The page runs Scalar's script and styles it inline; everything else stays as closed as the API's. */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** One file with its media type (nginx would take it from the URI's extension, and `/docs` has none). */
function staticFile(o: EdgeOptions, path: string, file: string, type: string, csp?: string): string[] {
  const big = path === '/docs/scalar.js';
  const headers = securityHeaders('api', o).filter(
    (l) => csp === undefined || !l.includes('Content-Security-Policy'),
  );
  return [
    `location = ${path} {`,
    '  auth_request off;',
    '  limit_except GET {',
    '    deny all;',
    '  }',
    '  types {',
    '  }',
    `  default_type "${type}";`,
    `  alias ${file};`,
    // Scalar's bundle is 4.3 MB: sent as `scalar.js.gz` when that file is beside it (the cluster install
    // makes it; 1.3 MB), else gzipped on the fly (gzip_types text/javascript).
    ...(big ? ['  gzip_static on;'] : []),
    ...headers.map((l) => `  ${l}`),
    ...(csp ? [`  add_header Content-Security-Policy "${csp}" always;`] : []),
    '  add_header Cache-Control "public, max-age=300" always;',
    '}',
  ];
}

/** `/openapi.json`, `/docs` and the page's script, before the function locations. */
export function docsLocations(o: EdgeOptions): string[] {
  const files = apiDocsFiles(o);
  return [
    ...staticFile(o, '/openapi.json', files.openapi, 'application/json'),
    ...staticFile(o, '/docs', files.page, 'text/html; charset=utf-8', DOCS_CSP),
    ...staticFile(o, '/docs/scalar.js', files.script, 'text/javascript', DOCS_CSP),
  ];
}
