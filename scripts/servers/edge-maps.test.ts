import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULES } from '../../functions/edge-auth/policy.ts';
import { API_ROUTES, EVENTS_ROUTES, FORWARDED_HEADERS } from '../../nginx/locations.ts';
import { clusterOptions, renderEdgeConfig } from '../../nginx/render.ts';
import { NGINX_BIN, nginxInstalled } from '../../nginx/run.ts';
import { rawBatch, rawRequest } from '../../test/support/raw-http.ts';
import { freePort, tcpOpen } from './harness.ts';

/**
 * What the edge decides per request without njs or a regex per rule, checked in a real nginx (these are
 * nginx and PCRE semantics, so nothing else can check them) against what it replaces:
 * - the api server's refusals (edge.conf.template maps: `$edge_api_refusal`) against nginx/edge.js
 *   `refusal`, for generated requests that carry only the headers the api server passes on;
 * - `$auth_class` as the rendered api and events locations set it (nginx/locations.ts authClassOf) against
 *   functions/edge-auth/policy.ts's own first match on the path edge-auth is sent (`$uri`).
 * Spawns nginx on a loopback port, like `nginx -t` in scripts/servers/nginx.test.ts.
 */
const options = clusterOptions();
const rendered = renderEdgeConfig(options);
const API_HOST = `api.${options.domain}`;
const EVENTS_HOST = `events.${options.domain}`;

/**
 * The function locations of the rendered server `name` as it nests them (the prefix groups, their regex
 * locations, `location /`), each with its rewrite-phase lines only (the 405 `if`, the `set`s, a group's
 * 404) and then, in a regex location, a 200 that reports what the auth subrequest would read.
 */
function classLocations(name: string): string[] {
  const lines = rendered.split('\n');
  const start = lines.indexOf(`    server_name ${name};`);
  if (start < 0) throw new Error(`no server ${name} in the rendered config`);
  const out: string[] = [];
  /** The open blocks: whether each is kept, and whether it is a regex location. */
  const open: { keep: boolean; regex: boolean }[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '  }') break;
    const inKept = open.length > 0 && open.every((b) => b.keep);
    const opener = /^\s*location (\S+)/.exec(line);
    if (opener && line.endsWith('{')) {
      // Prefix and regex locations; not the exact, `^~` and named ones (auth, problems, docs, preflight).
      const keep =
        (open.length === 0 || inKept) && (opener[1] === '~' || opener[1]?.startsWith('/') === true);
      open.push({ keep, regex: opener[1] === '~' });
      if (keep) out.push(line);
    } else if (/^\s*if \(/.test(line)) {
      open.push({ keep: inKept, regex: false });
      if (inKept) out.push(line);
    } else if (/^\s*\}$/.test(line)) {
      const block = open.pop();
      if (block?.keep && block.regex)
        out.push(
          `${line.replace('}', '')}  add_header X-Class "$auth_class|$edge_anonymous_rule|$edge_allow|$uri" always;`,
          `${line.replace('}', '')}  return 200;`,
        );
      if (block?.keep) out.push(line);
    } else if (inKept && /^\s*(set |return 40[45];)/.test(line)) out.push(line);
  }
  return out;
}

/** The top-level `map … $<name> { … }` block of the rendered config. */
function mapBlock(name: string): string {
  const m = new RegExp(`^ {2}map [^\\n]* \\$${name} \\{\\n[\\s\\S]*?\\n {2}\\}$`, 'm').exec(rendered);
  if (!m) throw new Error(`no map for $${name} in the rendered config`);
  return m[0];
}

const authClassMapNames = [...rendered.matchAll(/^ {2}map \$request_method \$(auth_class_\w+) \{$/gm)].map(
  (m) => m[1] ?? '',
);

let dir = '';
let port = 0;
let nginx: ChildProcess | undefined;

beforeAll(async () => {
  expect(nginxInstalled(), 'run scripts/install-deps.sh').toBe(true);
  dir = await mkdtemp(join(tmpdir(), 'isekai-edge-maps-'));
  await mkdir(join(dir, 'tmp'));
  port = await freePort();
  const conf = [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'load_module /usr/lib/nginx/modules/ngx_http_js_module.so;',
    'pcre_jit on;',
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp;`),
    `  js_import edge from ${join(import.meta.dirname, '../../nginx/edge.js')};`,
    '  js_set $edge_query_refusal_js edge.queryRefusal;',
    '  js_set $edge_refusal edge.refusal;',
    ...['edge_header_refusal', 'edge_target_refusal', 'edge_query_refusal', 'edge_api_refusal'].map(mapBlock),
    ...authClassMapNames.map(mapBlock),
    mapBlock('edge_anonymous_rule'),
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      return 200 "$edge_api_refusal|$edge_refusal";',
    '    }',
    '  }',
    ...[API_HOST, EVENTS_HOST].flatMap((name) => [
      '  server {',
      `    listen 127.0.0.1:${port};`,
      `    server_name ${name};`,
      '    merge_slashes on;',
      // What a 404 (a group location or `location /`, which add no header of their own) was asked.
      '    add_header X-Uri $uri always;',
      ...classLocations(name),
      '  }',
    ]),
    '}',
  ].join('\n');
  await writeFile(join(dir, 'nginx.conf'), conf);
  nginx = spawn(NGINX_BIN, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!(await tcpOpen(port))) {
    if (nginx.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}, 30_000);

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((r) => nginx?.once('exit', r));
    nginx.kill('SIGQUIT');
    await exited;
  }
  // nginx's own complaints (a capture that failed, an njs exception) fail the file.
  const log = dir ? await readFile(join(dir, 'error.log'), 'utf8').catch(() => '') : '';
  if (dir) await rm(dir, { recursive: true, force: true });
  expect(log.split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l))).toEqual([]);
});

/**
 * Send every request; the `|`-separated variables each one was answered with, by index (undefined: nginx
 * refused the request itself before any variable was read, e.g. a duplicate Authorization header → 400).
 */
async function ask(requests: Buffer[]): Promise<(string[] | undefined)[]> {
  const answers: (string[] | undefined)[] = [];
  const failures: string[] = [];
  await rawBatch(
    { port },
    requests.map((bytes) => ({ bytes, head: false })),
    8,
    (index, res) => {
      if (res instanceof Error || (res.status !== 200 && res.status !== 400))
        failures.push(
          `${res instanceof Error ? res.message : res.status}: ${requests[index]?.toString('latin1')}`,
        );
      else answers[index] = res.status === 200 ? res.body.toString('latin1').split('|') : undefined;
    },
  );
  expect(failures.slice(0, 3)).toEqual([]);
  // nginx's own 400s are the exception: most requests must get to the maps.
  expect(answers.filter((a) => a !== undefined).length).toBeGreaterThan(requests.length * 0.9);
  return answers;
}

describe('the api server refuses without njs exactly what edge.js refuses', () => {
  const bytes = (b: Uint8Array) => Buffer.from(b);
  const word = fc.stringMatching(/^[A-Za-z0-9_.~-]{1,10}$/).map((s) => Buffer.from(s));
  const credentialish = fc
    .constantFrom(
      'token',
      'access_token',
      'Access_Token',
      'TOKEN',
      'secret',
      'passw',
      'password',
      'api_key',
      'api-key',
      'apikey',
      'APIKey',
      'signature',
      'credential',
      'jwt',
      'code',
      'Code',
      'auth_code',
      'codes',
      'xcode',
      'key',
      'keys',
      'sig',
      'sigs',
      'auth',
      'Authorization',
      'authorizations',
      'bearer',
      'access%5Ftoken',
      'tok%65n',
      'c%6Fde',
      'to+ken',
      'co+de',
      '%zz',
      'q',
      'page',
    )
    .map((s) => Buffer.from(s));
  /** Bytes a client should not send raw, '#' included; no CR, LF, space (they end the request line). */
  const raw = fc
    .uint8Array({ minLength: 1, maxLength: 4, min: 0x21, max: 0xff })
    .map(bytes)
    .filter((b) => !b.includes(0x7f));
  const jwt = fc
    .stringMatching(/^[A-Za-z0-9_-]{2,12}$/)
    .map((s) => Buffer.from(`eyJhbGciOi${s}.eyJzdWIi.c2ln`));
  const part = fc.oneof(
    word,
    credentialish,
    raw,
    jwt,
    fc.constantFrom('=', '&', '?', '#', '%', '+', ';').map((s) => Buffer.from(s)),
  );
  const text = fc.array(part, { maxLength: 6 }).map((parts) => Buffer.concat(parts));
  const target = fc
    .tuple(fc.constantFrom('/anime/1', '/x', '/'), fc.option(text, { nil: undefined }))
    .map(([path, query]) => Buffer.concat([Buffer.from(path), ...(query ? [Buffer.from('?'), query] : [])]));
  /** Any byte but NUL, CR and LF (nginx refuses those itself), mostly printable. */
  const value = fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[ -~]{0,20}$/).map((s) => Buffer.from(s)) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 12, min: 0x01, max: 0xff })
        .map((b) => bytes(b.filter((x) => x !== 0x0d && x !== 0x0a))),
    },
  );
  // Each at most once (nginx refuses a second Authorization itself).
  const headers = fc.uniqueArray(fc.tuple(fc.constantFrom(...FORWARDED_HEADERS), value), {
    maxLength: 3,
    selector: ([name]) => name,
  });
  const request = fc
    .tuple(target, headers)
    .map(([t, h]) => rawRequest({ target: t, host: 'api.isekai.localhost', headers: h }));

  it('for 3000 generated request targets and forwarded header values, each refusal kind among them', {
    timeout: 120_000,
  }, async () => {
    const requests = fc.sample(request, { numRuns: 3000, seed: 4242 });
    const answers = await ask(requests);
    const mismatches = answers.flatMap(([native, njs] = ['', ''], i) =>
      native === njs ? [] : [{ native, njs, request: requests[i]?.toString('latin1') }],
    );
    expect(mismatches.slice(0, 5)).toEqual([]);
    const kinds = new Set(answers.flatMap((a) => (a ? [a[0]] : [])));
    expect([...kinds].sort()).toEqual(['', 'fragment', 'header_control', 'query_credentials']);
  });

  it('a control character in a header the api server does not pass on is not its concern', async () => {
    const [[native, njs] = []] = await ask([
      rawRequest({ target: '/anime/1', host: 'api.isekai.localhost', headers: [['X-Other', 'a\x01b']] }),
    ]);
    expect({ native, njs }).toEqual({ native: '', njs: 'header_control' });
  });
});

describe('each function location sets $auth_class to the rule edge-auth matches first', () => {
  const segments = ['1', 'abc', 'export', 'import', 'x-y', 'search', '\xc3\xbc', '%41'];
  /** Concrete paths a rule's pattern describes, and neighbours of them. */
  function samples(source: string): string[] {
    const body = source.replace(/^\^/, '');
    const open = body.endsWith('\\/?$');
    const stem = body.replace(/\\\/\?\$$|\$$/, '').replaceAll('\\/', '/');
    return segments.flatMap((seg, i) => {
      let n = i;
      const filled = stem.replaceAll('[^/]+', () => segments[n++ % segments.length] ?? seg);
      return [
        filled,
        ...(open ? [`${filled}/`] : []),
        `${filled}/extra`,
        `/${filled}`,
        filled.replace(/\/([^/]*)$/, '/./$1'),
        `${filled}/../x`,
        filled.toUpperCase(),
      ];
    });
  }
  const paths = [...new Set([...RULES.flatMap((r) => samples(r.path.source)), '/', '/unknown/x'])];
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'];
  const cases = [API_HOST, EVENTS_HOST].flatMap((host) =>
    methods.flatMap((method) => paths.map((path) => ({ host, method, path }))),
  );
  /** functions/edge-auth/policy.ts's first match for what nginx sends it, as `rule<i>`. */
  const policy = (host: string, method: string, uri: string) => {
    const hostClass = host === API_HOST ? 'api' : 'events';
    const i = RULES.findIndex(
      (r) =>
        (r.host === undefined || r.host === hostClass) &&
        (r.methods === undefined || r.methods.includes(method)) &&
        r.path.test(uri),
    );
    return i < 0 ? 'none' : `rule${i}`;
  };
  const open = (rule: string) => {
    const kind = RULES[Number(rule.slice(4))]?.need.kind;
    return kind === 'anonymous' || kind === 'optional' ? '1' : '';
  };

  /** The route nginx's flat first match over the regex locations picks for `uri`, as rendered before nesting. */
  const flatRoute = (host: string, uri: string) =>
    (host === API_HOST ? API_ROUTES : EVENTS_ROUTES).find((r) =>
      new RegExp(r.location.replace(/^~ /, '')).test(uri),
    );

  it(`for ${cases.length} host × method × path cases: the location, its 405 and its class`, async () => {
    const answers: { status: number; fields: string[] }[] = [];
    const failures: string[] = [];
    await rawBatch(
      { port },
      cases.map((c) => ({
        bytes: rawRequest({ method: c.method, target: Buffer.from(c.path, 'latin1'), host: c.host }),
        head: c.method === 'HEAD',
      })),
      8,
      (index, res) => {
        if (res instanceof Error || ![200, 400, 404, 405].includes(res.status))
          failures.push(
            `${res instanceof Error ? res.message : res.status}: ${JSON.stringify(cases[index])}`,
          );
        else {
          const fields = (res.headers['x-class']?.[0] ?? `|||${res.headers['x-uri']?.[0] ?? ''}`).split('|');
          answers[index] = { status: res.status, fields };
        }
      },
    );
    expect(failures.slice(0, 3)).toEqual([]);
    const wrong = cases.flatMap((c, i) => {
      const answer = answers[i];
      // 400: nginx refused the target itself (a `..` above the root), before any location.
      if (!answer || answer.status === 400) return [];
      const [authClass, anonymous, allow, uri = ''] = answer.fields;
      const route = flatRoute(c.host, uri);
      const status = !route ? 404 : route.methods.includes(c.method) ? 200 : 405;
      const policyClass = policy(c.host, c.method, uri);
      const ok =
        answer.status === status &&
        (status === 404 || allow === route?.methods.join(', ')) &&
        (status !== 200 || (authClass === policyClass && anonymous === open(policyClass)));
      return ok ? [] : [{ ...c, uri, got: answer.status, status, authClass, anonymous, allow, policyClass }];
    });
    expect(wrong.slice(0, 5)).toEqual([]);
    // Every method of every location was asked and answered.
    const reached = new Set(
      cases.flatMap((c, i) =>
        answers[i]?.status === 200 ? [`${c.host} ${c.method} ${answers[i]?.fields[0]}`] : [],
      ),
    );
    const declared = [
      ...API_ROUTES.map((r) => [API_HOST, r] as const),
      ...EVENTS_ROUTES.map((r) => [EVENTS_HOST, r] as const),
    ].flatMap(([host, r]) => r.methods.map((m) => `${host} ${m} ${r.authClass[m]}`));
    expect(declared.filter((d) => !reached.has(d))).toEqual([]);
    expect(answers.filter((a) => a?.status === 404).length).toBeGreaterThan(100);
    expect(authClassMapNames.length).toBeGreaterThan(0);
  }, 120_000);
});
