import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { requirementFor } from '../functions/edge-auth/policy.ts';
import { apiRoutes } from '../nginx/locations.ts';
import { needOf, renderEdgeRules } from './edge-rules.ts';
import { openApiDocument, renderOpenApi } from './openapi.ts';
import { EDGE_RULES_FILE, OPENAPI_FILE } from './render.ts';
import { declaredRoutes, FUNCTION_APIS } from './routes.ts';

/**
 * The route table (api/routes.ts, from each function's api.ts) is the one source: the committed
 * generated files are current, and nginx, edge-auth and the OpenAPI document agree with it route by route.
 */
const routes = declaredRoutes();
const document = openApiDocument();
/** A concrete path for a template: every parameter `1` (an anime id, an episode, …). */
const sample = (path: string) =>
  path.replace(/:(\w+)/g, (_m, name: string) => (name === 'date' ? '2026-01-05' : '1'));

describe('the route table', () => {
  it('declares every HTTP function behind the edge, 62 routes in all', () => {
    expect(FUNCTION_APIS.map((f) => f.fn)).toEqual([
      'catalog',
      'rate-anime',
      'library',
      'subtitles',
      'upload-subtitle',
      'notifications',
      'groups',
      'integrator-ingress',
    ]);
    // A shrinking table would shrink every check below with it: pin the count.
    expect(routes).toHaveLength(62);
    const keys = routes.map((r) => `${r.host} ${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each(routes.filter((r) => r.path.includes(':')).map((r) => [`${r.method} ${r.path}`, r] as const))(
    'declares the shape of every path parameter (a malformed one is 400, not 404): %s',
    (_name, route) => {
      const names = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const declared = route.params as
        | { properties?: Record<string, unknown>; required?: string[] }
        | undefined;
      expect(Object.keys(declared?.properties ?? {}).sort()).toEqual([...names].sort());
      expect([...(declared?.required ?? [])].sort()).toEqual([...names].sort());
      const documented = document as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      };
      const op = documented.paths[route.path.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(['400', '404']));
    },
  );

  it('the READMEs count what the table declares (routes, OpenAPI paths, functions)', () => {
    const read = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');
    const paths = Object.keys((document as { paths: Record<string, unknown> }).paths).length;
    const own = /\((\d+) routes on (\d+) paths, (\d+) functions/.exec(read('./README.md'));
    expect(own?.slice(1).map(Number)).toEqual([routes.length, paths, FUNCTION_APIS.length]);
    const root = /one request per route \((\d+)\)/.exec(read('../README.md'));
    expect(Number(root?.[1])).toBe(routes.length);
  });

  it('functions/edge-auth/rules.json is current (run `node api/render.ts`)', () => {
    expect(readFileSync(EDGE_RULES_FILE, 'utf8')).toBe(renderEdgeRules());
  });

  it('api/openapi.json is current (run `node api/render.ts`)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(renderOpenApi());
  });

  it("names no fixed localhost port as a server: 'Try it' on a stack started with ISEKAI_PORT_BASE must reach that stack", () => {
    const text = renderOpenApi();
    expect(text).not.toMatch(/localhost:\d/);
    const servers = (JSON.parse(text) as { servers: { url: string }[] }).servers.map((s) => s.url);
    expect(servers).toEqual(['https://api.isekai.dev', '/']);
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    'edge-auth and nginx agree with the table: %s',
    (_name, route) => {
      const path = sample(route.path);
      expect(requirementFor(route.host, route.method, path)).toEqual(needOf(route.access));
      if (route.method === 'GET')
        expect(requirementFor(route.host, 'HEAD', path)).toEqual(needOf(route.access));
      // nginx picks the first matching regex location: it must be this route's function, with its limits.
      const location = apiRoutes(routes, route.host).find((l) =>
        new RegExp(l.location.replace(/^~ /, '')).test(path),
      );
      expect(location?.fn).toBe(route.fn);
      expect(location?.bodyLimit ?? 64 * 1024).toBeGreaterThanOrEqual(route.bodyLimit ?? 64 * 1024);
      expect(location?.stream ?? false).toBe(route.stream ?? false);
    },
  );

  it('nginx has no location no route declares', () => {
    const declared = routes.filter((r) => r.host === 'api').map((r) => sample(r.path));
    const events = routes.filter((r) => r.host === 'events').map((r) => sample(r.path));
    for (const location of apiRoutes(routes, 'events')) {
      const pattern = new RegExp(location.location.replace(/^~ /, ''));
      expect(
        events.some((p) => pattern.test(p)),
        location.location,
      ).toBe(true);
    }
    for (const location of apiRoutes()) {
      const pattern = new RegExp(location.location.replace(/^~ /, ''));
      expect(
        declared.some((p) => pattern.test(p)),
        location.location,
      ).toBe(true);
    }
  });
});

describe('the OpenAPI 3.1 document', () => {
  it('validates against the OpenAPI 3.1 schema, and its references resolve', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('has one operation per declared route, with the access rule as its security', () => {
    const operations = Object.entries(
      document.paths as Record<string, Record<string, { operationId: string; security: unknown[] }>>,
    ).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
    expect(operations).toHaveLength(routes.length);
    for (const route of routes) {
      const op = operations.find((o) => o.op.operationId === route.id);
      expect(op?.path).toBe(route.path.replace(/:(\w+)/g, '{$1}'));
      expect(op?.method).toBe(route.method.toLowerCase());
      const expected =
        route.access === 'public'
          ? []
          : route.access === 'optional'
            ? [{}, { bearer: [] }]
            : route.access === 'user'
              ? [{ bearer: [] }]
              : [{ bearer: route.access.roles }];
      expect(op?.op.security).toEqual(expected);
    }
  });

  it('every schema compiles as JSON Schema 2020-12, and every example is valid against its schema', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const components = (document.components as { schemas: Record<string, object> }).schemas;
    for (const [name, schema] of Object.entries(components))
      ajv.addSchema(schema, `#/components/schemas/${name}`);
    // Every JSON body has an example a client can copy.
    expect(routes.filter((r) => r.body && r.example === undefined).map((r) => r.id)).toEqual([]);
    for (const route of routes) {
      if (route.body) expect(ajv.compile(JSON.parse(JSON.stringify(route.body)))).toBeTypeOf('function');
      if (route.example === undefined) continue;
      const validate = ajv.compile(JSON.parse(JSON.stringify(route.body)));
      expect(validate(route.example), `${route.id}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it('answers errors as problem+json and names the Keycloak bearer scheme', () => {
    const components = document.components as {
      responses: Record<string, { content: Record<string, unknown> }>;
      securitySchemes: Record<string, { type: string; scheme: string }>;
    };
    for (const response of Object.values(components.responses))
      expect(Object.keys(response.content)).toEqual(['application/problem+json']);
    expect(components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});

describe('statuses beyond the defaults (201, 207, 403, 404, 409, 410, 413, 422)', () => {
  const doc = openApiDocument() as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  };
  const answersOf = (method: string, path: string) =>
    Object.keys(doc.paths[path]?.[method.toLowerCase()]?.responses ?? {});
  /** `| \`POST /groups/{slug}/invitations\` …| … 409 … |` rows of every function README: route and statuses. */
  const readmeRows = FUNCTION_APIS.flatMap(({ fn }) =>
    readFileSync(new URL(`../functions/${fn}/README.md`, import.meta.url), 'utf8')
      .split('\n')
      .flatMap((line) => {
        const m = /^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^`?\s]*)/.exec(line);
        if (!m) return [];
        const statuses = [...line.matchAll(/\b(201|207|403|404|409|410|413|422)\b/g)].map(
          (s) => s[1] as string,
        );
        return statuses.length > 0
          ? [{ fn, method: m[1] as string, path: m[2] as string, statuses, line }]
          : [];
      }),
  );

  it('finds the README rows that name them', () => expect(readmeRows.length).toBeGreaterThanOrEqual(9));

  it.each(readmeRows.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: every status its README row names is in the OpenAPI document',
    (_name, row) => {
      expect(answersOf(row.method, row.path), row.line).toEqual(expect.arrayContaining(row.statuses));
    },
  );

  it('documents 409 and 410 as problem responses and 207 as a success body', () => {
    expect(answersOf('POST', '/uploads')).toEqual(expect.arrayContaining(['201', '207', '409', '422']));
    expect(answersOf('GET', '/subtitles/{id}')).toContain('410');
    expect(answersOf('GET', '/anime/{id}')).not.toContain('409');
  });

  it('documents what the code paths answer: a created entry, an empty or too large bundle, a non-leader', () => {
    expect(answersOf('PUT', '/me/library/{animeId}')).toEqual(expect.arrayContaining(['200', '201']));
    expect(answersOf('POST', '/me/library/{animeId}/history')).toEqual(
      expect.arrayContaining(['200', '201']),
    );
    expect(answersOf('GET', '/subtitles/bulk')).toEqual(expect.arrayContaining(['404', '413']));
    for (const [method, path] of [
      ['PATCH', '/groups/{slug}'],
      ['POST', '/groups/{slug}/invitations'],
      ['PUT', '/groups/{slug}/projects/{projectId}/episodes/{episode}'],
    ] as const)
      expect(answersOf(method, path), `${method} ${path}`).toContain('403');
    // every user route refuses service accounts (403), and so does an optional one when a token is sent;
    // a public read cannot answer 403
    expect(answersOf('PUT', '/groups/{slug}/follow')).toContain('403');
    expect(answersOf('GET', '/anime/{id}')).toContain('403');
    expect(answersOf('GET', '/anime/{id}/episodes/ratings')).toContain('403');
    expect(answersOf('GET', '/subtitles/{id}')).toContain('403');
    expect(answersOf('GET', '/subtitles/{id}/download')).not.toContain('403');
    expect(answersOf('GET', '/seasons/{year}/{season}')).not.toContain('403');
  });
});
