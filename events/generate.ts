/**
 * Writes the published catalogue from events/catalogue.ts: one JSON Schema (2020-12) per event type under
 * schemas/json/ and the AsyncAPI 3.0 document asyncapi.yaml. Run: `node events/generate.ts`.
 * `generate.test.ts` fails when the committed files differ from what this renders.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { dataSchemaUri, EVENTS, type EventSpec } from './catalogue.ts';

export const EVENTS_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * Version of the catalogue document; bump the minor on additions. 2.0.0: anime ids became integers and
 * timestamps UTC `Z` in every type, changed in place (issue 10) rather than as …v2 types.
 */
const CATALOGUE_VERSION = '2.0.0';

/** `data` schema as JSON (TypeBox schemas are JSON Schema; its markers are non-enumerable). */
function plain(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

function jsonSchema(spec: EventSpec): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: dataSchemaUri(spec.type),
    title: spec.type,
    description: `\`data\` of ${spec.type}: ${spec.summary}`,
    ...plain(spec.data),
    examples: [spec.example],
  };
}

/** camelCase key for AsyncAPI components: dev.isekai.rating.submitted.v1 → ratingSubmittedV1. */
export function keyOf(type: string): string {
  const parts = type.replace(/^dev\.isekai\./, '').split('.');
  return parts.map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1))).join('');
}

/** Binary-mode HTTP headers of a message of `spec`'s type. */
function ceHeaders(spec: EventSpec): Record<string, unknown> {
  const source =
    spec.direction === 'inbound'
      ? {
          type: 'string',
          minLength: 1,
          description: 'Your integration, as a URI reference: /integrators/<client-id>.',
        }
      : { type: 'string', const: `/functions/${spec.producer}` };
  return {
    type: 'object',
    required: [
      'ce-specversion',
      'ce-id',
      'ce-type',
      'ce-source',
      ...(spec.subjectRequired ? ['ce-subject'] : []),
      'content-type',
    ],
    properties: {
      'ce-specversion': { type: 'string', const: '1.0' },
      'ce-id': { type: 'string', minLength: 1, description: 'Unique per source; consumers dedupe by it.' },
      'ce-type': { type: 'string', const: spec.type },
      'ce-source': source,
      'ce-subject': {
        type: 'string',
        pattern: '^[1-9][0-9]{0,9}$',
        description: spec.subjectRequired
          ? 'Required for this type: the anime id, data.animeId as a decimal string.'
          : 'Optional for this type (CloudEvents 1.0): when present it must be data.animeId as a decimal string.',
      },
      'ce-time': {
        type: 'string',
        format: 'date-time',
        description:
          'When the producer says it happened. Never added in transit: absent when the producer left it out.',
      },
      'ce-dataschema': { type: 'string', const: dataSchemaUri(spec.type) },
      'ce-traceparent': {
        type: 'string',
        description: 'W3C trace context (CloudEvents distributed tracing).',
      },
      'content-type': {
        type: 'string',
        pattern: '^[Aa][Pp][Pp][Ll][Ii][Cc][Aa][Tt][Ii][Oo][Nn]/[Jj][Ss][Oo][Nn]\\s*(;.*)?$',
        description:
          'application/json; media types and their parameters compare case-insensitively (RFC 9110).',
      },
    },
  };
}

export function asyncApi(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const spec of EVENTS) {
    const key = keyOf(spec.type);
    messages[key] = {
      name: spec.type,
      title: spec.type,
      summary: spec.summary,
      contentType: 'application/json',
      headers: ceHeaders(spec),
      payload: plain(spec.data),
      examples: [
        {
          name: 'example',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': '0f3d2c1b-7a9e-4c1d-8b2a-5e6f7a8b9c0d',
            'ce-type': spec.type,
            'ce-source':
              spec.direction === 'inbound' ? '/integrators/airing-bot' : `/functions/${spec.producer}`,
            'ce-subject': String(spec.example.animeId),
            'content-type': 'application/json',
          },
          payload: spec.example,
        },
      ],
    };
    channels[key] = {
      address: spec.type,
      title: spec.type,
      description: `Events of type ${spec.type} on the broker (a Trigger with filter type=${spec.type} subscribes to them).`,
      servers:
        spec.direction === 'inbound'
          ? [{ $ref: '#/servers/integrator-ingress' }, { $ref: '#/servers/broker' }]
          : [{ $ref: '#/servers/broker' }],
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
    };
    const verb = spec.direction === 'inbound' ? 'receive' : 'send';
    operations[`${verb}${key.charAt(0).toUpperCase()}${key.slice(1)}`] = {
      action: verb,
      channel: { $ref: `#/channels/${key}` },
      summary:
        spec.direction === 'inbound'
          ? `Integrators POST ${spec.type} to the integrator ingress (role integrator); Isekai consumes it.`
          : `Isekai (${spec.producer}) publishes ${spec.type}; subscribe with a Trigger or an integrator subscription.`,
      messages: [{ $ref: `#/channels/${key}/messages/${key}` }],
    };
  }
  return {
    asyncapi: '3.0.0',
    id: 'urn:dev:isekai:events',
    info: {
      title: 'Isekai events',
      version: CATALOGUE_VERSION,
      description:
        'CloudEvents 1.0 that Isekai publishes and accepts, delivered in HTTP binary mode through a Knative ' +
        'Eventing broker backed by RabbitMQ. `subject` is the anime id as a decimal string (required where a ' +
        "message's headers say so); anime ids in data are integers; timestamps are RFC 3339 UTC ending in Z; " +
        'extension attributes are lowercase alphanumeric. Generated from events/catalogue.ts — do not edit by hand. See events/INTEGRATORS.md.',
    },
    defaultContentType: 'application/json',
    servers: {
      'integrator-ingress': {
        host: 'events.isekai.dev',
        protocol: 'https',
        description:
          'Integrators POST inbound events here with a client-credentials token (role integrator): one event ' +
          'in binary or structured mode, or a batch (application/cloudevents-batch+json, at most 100), all ' +
          'accepted or all refused. `source` is /integrators/<client id> (the token azp).',
        security: [{ $ref: '#/components/securitySchemes/keycloak' }],
      },
      broker: {
        host: 'default-broker-ingress.isekai.svc.cluster.local',
        protocol: 'http',
        description: 'The Knative broker ingress inside the cluster (K_SINK of every producer).',
      },
    },
    channels,
    operations,
    components: {
      messages,
      securitySchemes: {
        keycloak: {
          type: 'oauth2',
          description: 'Keycloak client-credentials grant; the token must carry the realm role integrator.',
          flows: {
            clientCredentials: {
              tokenUrl: 'https://auth.isekai.dev/realms/isekai/protocol/openid-connect/token',
              availableScopes: {},
            },
          },
          scopes: [],
        },
      },
    },
  };
}

/** Every generated file: path relative to events/ → content. */
export function render(): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of EVENTS) {
    files.set(`schemas/json/${spec.type}.schema.json`, `${JSON.stringify(jsonSchema(spec), null, 2)}\n`);
  }
  const header = '# Generated by events/generate.ts from events/catalogue.ts. Do not edit.\n';
  files.set('asyncapi.yaml', header + stringify(asyncApi(), { lineWidth: 0 }));
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [path, content] of render()) {
    const full = join(EVENTS_DIR, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    process.stdout.write(`wrote events/${path}\n`);
  }
}
