import { describe, expect, it } from 'vitest';
import { FORWARDED_HEADERS } from './locations.ts';
import { NGINX_ERRORS, REFUSALS } from './problems.ts';
import { clusterOptions, renderEdgeConfig } from './render.ts';

/** The rendered production config: every server answers every nginx error as problem+json. */
const config = renderEdgeConfig(clusterOptions());

/** Top-level `server { … }` blocks of the http block, by brace matching. */
function serverBlocks(text: string): string[] {
  const blocks: string[] = [];
  for (const match of text.matchAll(/^ {2}server \{$/gm)) {
    let depth = 0;
    let end = match.index;
    for (; end < text.length; end++) {
      if (text[end] === '{') depth++;
      if (text[end] === '}' && --depth === 0) break;
    }
    blocks.push(text.slice(match.index, end + 1));
  }
  return blocks;
}

const servers = serverBlocks(config);
const nameOf = (block: string) => /server_name ([^;]+);/.exec(block)?.[1] ?? '?';
const apiServers = servers.filter((s) => /server_name (api|events)\./.test(s));

/** `return <status> '<body>'` of each problem location, keyed by location name. */
function problemReturns(block: string): Map<string, { status: number; body: string }> {
  const found = new Map<string, { status: number; body: string }>();
  for (const m of block.matchAll(/location = \/_problem\/(\w+) \{\s*internal;\s*return (\d{3}) '([^']*)';/g))
    found.set(m[1] ?? '', { status: Number(m[2]), body: m[3] ?? '' });
  return found;
}

describe('problem pages in the rendered edge config', () => {
  it('finds the six servers (plain HTTP, unknown names, api, events, auth, site)', () => {
    expect(servers.map(nameOf)).toEqual([
      '_',
      '_',
      'api.isekai.dev',
      'events.isekai.dev',
      'auth.isekai.dev',
      'isekai.dev www.isekai.dev',
    ]);
  });

  it.each(servers.map((s) => [nameOf(s), s]))(
    '%s: an error_page to a URI for every status nginx makes',
    (_name, block) => {
      for (const e of NGINX_ERRORS) expect(block).toContain(`error_page ${e.from} = /_problem/${e.name};`);
      // A named location cannot take a request whose URI did not parse (→ 500).
      for (const e of NGINX_ERRORS) expect(block).not.toMatch(new RegExp(`error_page ${e.from} .*@`));
    },
  );

  it.each(servers.map((s) => [nameOf(s), s]))(
    '%s: each page is problem+json whose status is the one answered',
    (_name, block) => {
      const pages = problemReturns(block);
      expect(pages.size).toBeGreaterThanOrEqual(NGINX_ERRORS.length);
      for (const [name, { status, body }] of pages) {
        const problem = JSON.parse(body.replace('$problem_instance', '"/x"')) as Record<string, unknown>;
        expect({ name, status: problem.status, type: problem.type }).toEqual({
          name,
          status,
          type: `https://isekai.dev/problems/${problem.code}`,
        });
        expect(status, name).toBeLessThan(500 + (problem.code === 'dependency_unavailable' ? 100 : 0));
      }
      expect(block).toMatch(/location \^~ \/_problem\/ \{\s*internal;\s*auth_request off;/);
    },
  );

  it('the API refuses what edge.js names before auth, each with its own page', () => {
    // api: the same decision in maps (scripts/servers/edge-maps.test.ts); events: edge.js itself.
    const [api, events] = apiServers;
    expect(api).toContain('rewrite ^ /_problem/$edge_api_refusal? last;');
    expect(events).toContain('rewrite ^ /_problem/$edge_refusal? last;');
    for (const block of apiServers)
      for (const refusal of Object.values(REFUSALS))
        expect(block).toContain(`location = /_problem/${refusal.name} {`);
  });

  it('api functions get only the listed client headers; the events ingress gets every one (ce-*)', () => {
    const [api = '', events = ''] = apiServers;
    const proxied = (block: string) =>
      block.match(/proxy_pass http:\/\/\w+\$edge_upstream_uri;/g)?.length ?? 0;
    expect(proxied(api)).toBeGreaterThan(0);
    expect(api.match(/proxy_pass_request_headers off;/g)?.length).toBe(proxied(api) + 1); // + /_edge_auth
    // Authorization also goes to edge-auth (/_edge_auth).
    for (const h of FORWARDED_HEADERS)
      expect(api.match(new RegExp(`proxy_set_header ${h} \\$http_`, 'g'))?.length, h).toBe(
        proxied(api) + (h === 'Authorization' ? 1 : 0),
      );
    expect(events.match(/proxy_pass_request_headers off;/g)?.length).toBe(1); // /_edge_auth only
  });

  it('API answers carry RateLimit-Policy; a 429 adds RateLimit and Retry-After', () => {
    expect(config).toContain(`"" '"per-ip";q=20;w=1;isekai-burst=60';`);
    expect(config).toContain(
      `default '"per-ip";q=20;w=1;isekai-burst=60, "per-token";q=10;w=1;isekai-burst=30';`,
    );
    for (const block of apiServers) {
      // Every function location and the problem pages.
      const proxied = block.match(/proxy_pass http:\/\/\w+\$edge_upstream_uri;/g)?.length ?? 0;
      const policies = block.match(/add_header RateLimit-Policy \$ratelimit_policy always;/g)?.length ?? 0;
      expect(proxied).toBeGreaterThan(0);
      expect(policies).toBeGreaterThanOrEqual(proxied + 1);
      expect(block).toContain('add_header RateLimit $ratelimit_spent always;');
      expect(block).toContain('add_header Retry-After $edge_retry_after always;');
    }
  });

  it('every location that adds X-Content-Type-Options hides the upstream copy (sent once)', () => {
    const adds = config.match(/add_header X-Content-Type-Options nosniff always;/g)?.length ?? 0;
    const hides = config.match(/proxy_hide_header X-Content-Type-Options;/g)?.length ?? 0;
    expect(adds).toBeGreaterThan(0);
    expect(hides).toBe(adds);
  });

  it('the access log has neither the raw request target nor a credential-bearing header', () => {
    const format = /log_format isekai_json[^;]+;/.exec(config)?.[0] ?? '';
    expect(format).toContain('"uri":"$edge_log_uri"');
    expect(format).not.toMatch(
      /\$request_uri|\$request\b|\$args|\$query_string|\$http_authorization|\$http_cookie|\$arg_/,
    );
  });
});
