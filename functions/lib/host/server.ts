import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { CloudEventV1 } from 'cloudevents';
import { asIsekaiError, type IsekaiError, MethodNotAllowed, ValidationFailed } from '../errors.ts';
import { decodeHttpMessage } from '../events/decode.ts';
import { readBody } from '../http/body.ts';
import { sendProblem } from '../http/respond.ts';
import { runtimes } from '../runtime.ts';
import { HostRequest, HostResponse } from './compat.ts';
import { type Registered, registeredFunction } from './registry.ts';

/** CloudEvents larger than this are refused (the RabbitMQ broker's own limit is far below). */
const EVENT_BODY_LIMIT = 1024 * 1024;

export interface HostOptions {
  readonly target: string;
  /** Called for errors a CloudEvent function throws (logging); defaults to stderr JSON. */
  readonly onEventError?: (error: IsekaiError, event: CloudEventV1<unknown> | undefined) => void;
}

/**
 * The lean host: serves a function registered with functions-framework's `http()`/`cloudEvent()` on a
 * bare node:http server — no Express, no body parsers, no `domain` per request. HTTP functions get
 * node's req/res (plus req.get/res.status/res.send/res.json); CloudEvent functions get the event decoded
 * from binary or structured mode and answer 204, a 4xx problem for permanent errors, 5xx for transient.
 */
export function createHostServer(options: HostOptions): Server {
  const registered = registeredFunction(options.target);
  const server = createServer<typeof HostRequest, typeof HostResponse>(
    {
      IncomingMessage: HostRequest,
      ServerResponse: HostResponse,
      keepAliveTimeout: 65_000,
      // nginx (the only client in production) accepts up to 4 × 8 KiB of headers (large_client_header_buffers'
      // default) and answers more with its own 431 problem; node's 16 KiB default would answer an empty 431
      // for requests nginx let through.
      maxHeaderSize: 64 * 1024,
    },
    handlerFor(registered, options),
  );
  return server;
}

function handlerFor(
  registered: Registered,
  options: HostOptions,
): (req: HostRequest, res: HostResponse) => void {
  if (registered.signatureType === 'http') {
    const fn = registered.userFunction as unknown as (req: IncomingMessage, res: ServerResponse) => unknown;
    return (req, res) => {
      try {
        const result = fn(req, res);
        if (result instanceof Promise) result.catch((error: unknown) => failHttp(res, error, req.url));
      } catch (error) {
        failHttp(res, error, req.url);
      }
    };
  }
  const fn = registered.userFunction;
  const report =
    options.onEventError ??
    ((error, event) =>
      process.stderr.write(
        `${JSON.stringify({ level: 'error', code: error.code, msg: error.message, 'ce.id': event?.id, 'ce.type': event?.type })}\n`,
      ));
  return (req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      serveProbe(req, res);
      return;
    }
    let event: CloudEventV1<unknown> | undefined;
    (async () => {
      if (req.method !== 'POST') throw new MethodNotAllowed(['POST']);
      const body = await readBody(req, EVENT_BODY_LIMIT);
      event = decodeEvent(req, body);
      await fn(event);
      res.writeHead(204).end();
    })().catch((error: unknown) => {
      const failure = asIsekaiError(error);
      report(failure, event);
      sendProblem(res, failure, req.url ?? '/');
    });
  };
}

/**
 * Probes for CloudEvent functions, which functions-framework serves only on POST: Knative's readiness
 * and liveness probes and Prometheus scrape with GET. Readiness and metrics come from the runtimes the
 * function created.
 */
function serveProbe(req: HostRequest, res: HostResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const answer = async (): Promise<[number, string, string]> => {
    if (path === '/healthz') return [200, 'application/json', '{"status":"ok"}'];
    if (path === '/readyz') {
      const reports = await Promise.all([...runtimes].map((r) => r.readiness()));
      const ready = reports.every((r) => r.ready);
      return [
        ready ? 200 : 503,
        'application/json',
        JSON.stringify({ ready, checks: Object.assign({}, ...reports.map((r) => r.checks)) }),
      ];
    }
    if (path === '/metrics') {
      const texts = await Promise.all([...runtimes].map((r) => r.metrics.registry.metrics()));
      return [200, 'text/plain; version=0.0.4; charset=utf-8', texts.join('\n')];
    }
    throw new MethodNotAllowed(['POST']);
  };
  answer()
    .then(([status, type, body]) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    })
    .catch((error: unknown) => sendProblem(res, asIsekaiError(error), path ?? '/'));
}

/**
 * Decode one CloudEvent in binary or structured mode (media types compared case-insensitively; nothing
 * added: an event without `time` stays without). A malformed event, or a batch (a CloudEvent function
 * takes one event), is a permanent 400.
 */
export function decodeEvent(req: IncomingMessage, body: Buffer): CloudEventV1<unknown> {
  return decodeOneEvent(req, body).event;
}

/** {@link decodeEvent}, with the content mode it came in (the broker ingress passes binary JSON bytes on). */
export function decodeOneEvent(
  req: IncomingMessage,
  body: Buffer,
): { readonly mode: 'binary' | 'structured'; readonly event: CloudEventV1<unknown> } {
  const { mode, events } = decodeHttpMessage(req.headers, body);
  const [event] = events;
  if (mode === 'batch' || !event) {
    throw new ValidationFailed('one CloudEvent per request here: batches are not accepted', {
      issues: [{ field: '/', message: 'must be a single event (binary or structured mode)' }],
    });
  }
  return { mode, event: event as unknown as CloudEventV1<unknown> };
}

function failHttp(res: ServerResponse, error: unknown, url: string | undefined): void {
  process.stderr.write(`${JSON.stringify({ level: 'error', code: 'internal', msg: String(error) })}\n`);
  sendProblem(res, asIsekaiError(error), url ?? '/');
}
