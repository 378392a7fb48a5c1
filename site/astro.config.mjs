// The viewers' site: Astro SSR on @astrojs/node (standalone), behind the nginx edge.
// Build-time settings only; everything that differs per deployment is read at run time (src/lib/settings.ts).
import node from '@astrojs/node';
import { defineConfig } from 'astro/config';

/** Public host names the edge forwards (X-Forwarded-Host/Proto are trusted only for these). */
const hosts = (process.env.SITE_ALLOWED_HOSTS ?? 'isekai.localhost,isekai.dev,www.isekai.dev')
  .split(',')
  .map((h) => h.trim())
  .filter(Boolean);

export default defineConfig({
  output: 'server',
  // Bodies: the MAL import is the largest (the library takes 16 MiB); the edge enforces the same limit.
  adapter: node({ mode: 'standalone', bodySizeLimit: 17 * 1024 * 1024 }),
  // No client framework: pages are HTML + one stylesheet (external, so the edge's CSP needs no 'unsafe-inline').
  build: { inlineStylesheets: 'never' },
  security: {
    // Astro's origin check rule (form POSTs whose Origin is not the site's → 403) runs as the first step
    // of src/middleware.ts instead (src/lib/csrf.ts isCrossSiteFormPost, the same rule), so the refusal is
    // the site's 403 page; the per-session CSRF token is checked as well. allowedDomains still decides
    // which forwarded hosts make up the origin it compares with.
    checkOrigin: false,
    allowedDomains: hosts.map((hostname) => ({ hostname, protocol: 'https' })),
  },
  server: { host: '127.0.0.1', port: 4321 },
  devToolbar: { enabled: false },
  vite: {
    server: { fs: { allow: ['..'] } },
    // Scripts and assets as files, never inlined: the edge's CSP allows only script-src 'self'.
    build: { assetsInlineLimit: 0 },
    // Astro's own copies of these (astro/node_modules) differ from the repository root's (express' cookie
    // 0.7): bundle them, so the server entry never resolves the root's at run time.
    ssr: { noExternal: ['cookie', 'unstorage'] },
  },
});
