/**
 * The OpenAPI 3.1 document of the public API, generated from the route table: paths and operations,
 * components from the routes' own TypeBox schemas (TypeBox emits JSON Schema 2020-12, OpenAPI 3.1's
 * dialect), problem+json errors (RFC 9457, the shape functions/lib/problem.ts writes), and the Keycloak
 * bearer token. `node api/render.ts` writes api/openapi.json; the edge serves it at /openapi.json.
 */
import type { TSchema } from 'typebox';
import { ERRORS, PROBLEM_SCHEMA, problemResponse } from './problems.ts';
import { type DeclaredRoute, declaredRoutes } from './routes.ts';

type Json = Record<string, unknown>;

/** Plain JSON Schema of a TypeBox schema (its non-enumerable markers dropped). */
const plain = (schema: TSchema): Json => JSON.parse(JSON.stringify(schema));
const pascal = (id: string) => id.charAt(0).toUpperCase() + id.slice(1);

/** Path parameters, each by its route's `params` schema (api.test.ts: every parameter has one). */
function parameters(route: DeclaredRoute): Json[] {
  const declared = (route.params ? plain(route.params).properties : {}) as Record<string, Json>;
  const path = [...route.path.matchAll(/:(\w+)/g)].map(([, name = '']) => ({
    name,
    in: 'path',
    required: true,
    schema: declared[name] ?? { type: 'string' },
  }));
  const query = route.query ? plain(route.query) : undefined;
  const required = new Set((query?.required as string[] | undefined) ?? []);
  const properties = (query?.properties ?? {}) as Record<string, Json>;
  return [
    ...path,
    ...Object.entries(properties).map(([name, schema]) => ({
      name,
      in: 'query',
      required: required.has(name) && schema.default === undefined,
      schema,
    })),
  ];
}

function security(route: DeclaredRoute): Json[] {
  if (route.access === 'public') return [];
  if (route.access === 'optional') return [{}, { bearer: [] }];
  if (route.access === 'user') return [{ bearer: [] }];
  // OpenAPI 3.1: for schemes other than OAuth2 the list names the roles the operation needs (any of).
  return [{ bearer: [...route.access.roles] }];
}

/** A response schema as a component: named by its `title`, else after the operation (one per schema). */
function responseRef(route: DeclaredRoute, schema: TSchema, components: Json): Json {
  const name = (schema as { title?: string }).title ?? `${pascal(route.id)}Response`;
  const existing = components[name];
  const body = plain(schema);
  if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(body))
    throw new Error(`two different response schemas are named ${name}`);
  components[name] = body;
  return { $ref: `#/components/schemas/${name}` };
}

/** Successes a route may answer besides its own `status` (`alsoAnswers`), with the same body. */
const ALSO_SUCCEEDS = {
  200: 'Already there: nothing was created; the existing item',
  201: 'Created: the item was not there before',
  207: 'Multi-status: one verdict per item of the request',
} as const;
type SuccessStatus = keyof typeof ALSO_SUCCEEDS;

/** Problem responses a route may answer besides those its access, path and body imply (`alsoAnswers`). */
const ALSO_FAILS = {
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  413: 'PayloadTooLarge',
  422: 'Unprocessable',
} as const;

function success(route: DeclaredRoute, components: Json): Json {
  const status = route.status ?? 200;
  if (status === 204) return { [status]: { description: 'Done (no content)' } };
  if (status === 202) return { [status]: { description: 'Accepted (forwarded to the broker)' } };
  const media = route.produces ?? ['application/json'];
  const json = route.response ? responseRef(route, route.response, components) : { type: 'object' };
  const content = Object.fromEntries(
    media.map((type) => [type, { schema: type === 'application/json' ? json : { type: 'string' } }]),
  );
  const also = Object.fromEntries(
    (route.alsoAnswers ?? [])
      .filter((s): s is SuccessStatus => s in ALSO_SUCCEEDS && s !== status)
      .map((s) => [s, { description: ALSO_SUCCEEDS[s], content }]),
  );
  return { [status]: { description: route.summary, content }, ...also };
}

function operation(route: DeclaredRoute, components: Json): Json {
  const errors: string[] = [];
  const hasInput = route.body || route.query || route.path.includes(':') || route.consumes;
  if (hasInput) errors.push('BadRequest');
  if (route.access !== 'public') errors.push('Unauthorized');
  // Role routes refuse other roles; user routes, and optional ones when a token is sent, refuse service
  // accounts and tokens without a person role.
  if (route.access !== 'public') errors.push('Forbidden');
  if (route.path.includes(':')) errors.push('NotFound');
  if (route.body || route.consumes) errors.push('PayloadTooLarge', 'UnsupportedMediaType');
  for (const status of route.alsoAnswers ?? [])
    if (status in ALSO_FAILS) {
      const name = ALSO_FAILS[status as keyof typeof ALSO_FAILS];
      if (!errors.includes(name)) errors.push(name);
    }
  errors.push('TooManyRequests', 'ServiceUnavailable');
  const statusOf = (name: string) => String(ERRORS[name]?.status);
  let requestBody: Json | undefined;
  if (route.body) {
    const name = `${pascal(route.id)}Request`;
    components[name] = plain(route.body);
    requestBody = {
      required: true,
      content: {
        'application/json': {
          schema: { $ref: `#/components/schemas/${name}` },
          ...(route.example === undefined ? {} : { example: route.example }),
        },
      },
    };
  } else if (route.consumes) {
    requestBody = {
      required: true,
      content: Object.fromEntries(route.consumes.map((type) => [type, { schema: {} }])),
    };
  }
  return {
    operationId: route.id,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.fn],
    ...(route.host === 'events'
      ? {
          servers: [
            { url: 'https://events.isekai.dev', description: 'production' },
            {
              // A variable, not a fixed port: each `npm start` listens on ISEKAI_PORT_BASE (default 8100).
              url: 'https://events.isekai.localhost:{port}',
              description: 'npm start (self-signed certificate; port = ISEKAI_PORT_BASE)',
              variables: { port: { default: '8100' } },
            },
          ],
        }
      : {}),
    security: security(route),
    ...(parameters(route).length > 0 ? { parameters: parameters(route) } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: {
      ...success(route, components),
      ...Object.fromEntries(
        errors.map((name) => [statusOf(name), { $ref: `#/components/responses/${name}` }]),
      ),
      default: { $ref: '#/components/responses/Problem' },
    },
    ...(route.bodyLimit ? { 'x-body-limit': route.bodyLimit } : {}),
    ...(route.stream ? { 'x-stream': true } : {}),
  };
}

/** The document, from the declared routes. */
export function openApiDocument(routes: readonly DeclaredRoute[] = declaredRoutes()): Json {
  const schemas: Json = { Problem: PROBLEM_SCHEMA };
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route, schemas) };
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Isekai API',
      version: '1.0.0',
      summary: 'Track, rate and subtitle anime',
      description:
        'Every error is `application/problem+json` (RFC 9457) with a stable `code`. Tokens are Keycloak ' +
        'access tokens (realm `isekai`, audience `isekai-api`) sent as `Authorization: Bearer …`, never in ' +
        'the URL. Integrators publish CloudEvents on the events host (see events/INTEGRATORS.md).',
    },
    servers: [
      { url: 'https://api.isekai.dev', description: 'production' },
      // Relative (OpenAPI 3.1 §4.8.5: relative to where the document is served): the edge that served it,
      // whatever port its `npm start` took — a fixed localhost port sent "Try it" to someone else's stack.
      { url: '/', description: 'the edge serving this document (npm start: self-signed certificate)' },
    ],
    tags: [...new Set(routes.map((r) => r.fn))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      responses: {
        ...Object.fromEntries(Object.keys(ERRORS).map((name) => [name, problemResponse(name)])),
        Problem: {
          description: 'Any other error, as problem+json',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A Keycloak access token of realm `isekai` (https://auth.isekai.dev/realms/isekai), audience ' +
            '`isekai-api`; roles are realm roles (viewer, uploader, moderator, admin, integrator); role ' +
            'routes need one of theirs. Routes that act as the caller — those that need a token without ' +
            'naming roles, and those where it is optional, when one is sent — answer 403 to a ' +
            'service-account (client-credentials) token or one without a person role (send none for the ' +
            'public answer). The integrator token publishes events only.',
        },
      },
    },
  };
}

/** api/openapi.json, as text. */
export function renderOpenApi(routes: readonly DeclaredRoute[] = declaredRoutes()): string {
  return `${JSON.stringify(openApiDocument(routes), null, 2)}\n`;
}
