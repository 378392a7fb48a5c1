/**
 * A dispatcher per queue (eventing-rabbitmq's `dispatcher`): consumes with a prefetch, delivers each
 * message to the subscriber as a binary-mode CloudEvent with `parallelism` workers (1 keeps order),
 * retries per the delivery spec on no response / 5xx / 404 / 408 / 409 / 429, and after the last attempt
 * acks and republishes to the dead-letter exchange with `knativeerrordest` / `knativeerrorcode` /
 * `knativeerrordata` — or, with no dead-letter sink, drops the event (logged). A reply CloudEvent from
 * the subscriber is POSTed back to the broker ingress.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import zipkin from 'zipkin';
import type { Runtime } from '../../../functions/lib/runtime.ts';
import { extractTraceId, injectTraceHeaders } from '../../../functions/lib/tracing/trace-headers.ts';
import type { AmqpLink } from './amqp.ts';
import { headersOf, isReplyEvent, toHttpHeaders } from './codec.ts';
import { type Attempt, attemptsOf, delivered, deliveryRetry, failureCode, isRetryable } from './delivery.ts';
import type { QueueSubscription } from './topology.ts';

const { Annotation } = zipkin;

/** Channel QoS prefetch, as eventing-rabbitmq's dispatcher (raised to the parallelism when larger). */
export const PREFETCH = 100;

export interface DispatcherOptions {
  readonly runtime: Runtime;
  readonly link: AmqpLink;
  readonly route: QueueSubscription;
  /** The subscriber's URL (the Service resolved by the caller). */
  readonly subscriberUrl: string;
  /** Where reply events go: the broker ingress. */
  readonly ingressUrl: string;
  /** Per-attempt HTTP timeout; no answer in time counts as "no response" (retried). */
  readonly timeoutMs?: number;
}

/** Start consuming `route.queue` on every (re)connection of `link`. */
export function startDispatcher(options: DispatcherOptions): void {
  const { runtime, link, route, subscriberUrl } = options;
  const log = runtime.log.child({ trigger: route.name, queue: route.queue });
  const { tracer } = runtime.tracing;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const attempts = attemptsOf(route.delivery);
  const subscriber = targetOf(subscriberUrl);
  const ingress = targetOf(options.ingressUrl);

  const policy = deliveryRetry(route.delivery);

  // A confirm channel when failed events are republished to a dead-letter exchange (their confirm comes
  // before the ack); amqp-connection-manager re-creates it and runs this setup again on every reconnect.
  link.channel({
    name: route.queue,
    confirm: route.deadLetterExchange !== undefined,
    setup: async (channel) => {
      let open = true;
      channel.on('close', () => {
        open = false;
      });
      const waiting: ConsumeMessage[] = [];
      let active = 0;
      const pump = () => {
        while (open && active < route.parallelism && waiting.length > 0) {
          const message = waiting.shift() as ConsumeMessage;
          active += 1;
          handle(channel, message)
            .catch((error: unknown) => log.error({ code: 'internal', err: error }, 'dispatch failed'))
            .finally(() => {
              active -= 1;
              pump();
            });
        }
        if (!open) waiting.length = 0; // unacked: RabbitMQ redelivers them on the next connection
      };
      await channel.prefetch(Math.max(PREFETCH, route.parallelism));
      await channel.consume(route.queue, (message) => {
        if (!message) return; // consumer cancelled (queue deleted)
        waiting.push(message);
        pump();
      });
    },
  });

  async function handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const headers = headersOf(message.properties.headers as Record<string, unknown> | undefined);
    const id = headers.id;
    if (!id || !headers.type || !headers.specversion) {
      log.warn({ code: 'validation_failed' }, 'unparseable message dropped');
      safe(() => channel.ack(message));
      return;
    }
    // A child logger only when something is logged (a delivery that succeeds at once logs nothing).
    let child: typeof log | undefined;
    const elog = () => {
      child ??= log.child({ 'ce.id': id, 'ce.type': headers.type });
      return child;
    };
    const parent = extractTraceId((name) => headers[name]);
    const span = parent ? tracer.createChildId(parent) : tracer.createRootId();
    const last: Attempt = await policy.execute(async ({ attempt }) => {
      const outcome = await tracer.letId(span, () => deliver(headers, message.content, span));
      // Logged with its real class: an outage (no response, 5xx) or the event's own fault (a 4xx refusal).
      if (!delivered(outcome))
        elog().warn(
          {
            code: failureCode(outcome),
            status: outcome.status,
            attempt: attempt + 1,
            of: attempts,
            retryable: isRetryable(outcome.status),
          },
          'delivery failed',
        );
      return outcome;
    });
    if (delivered(last)) {
      safe(() => channel.ack(message));
      return;
    }
    const dlx = route.deadLetterExchange;
    if (dlx) {
      const dead = {
        ...message.properties.headers,
        knativeerrordest: subscriberUrl,
        knativeerrorcode: String(last.status),
        ...(last.body ? { knativeerrordata: last.body.slice(0, 1024) } : {}),
      };
      try {
        await new Promise<void>((resolve, reject) =>
          (channel as ConfirmChannel).publish(
            dlx,
            '',
            message.content,
            { persistent: true, headers: dead, contentType: message.properties.contentType },
            (e: unknown) => (e ? reject(e) : resolve()),
          ),
        );
      } catch (error) {
        elog().warn(
          { code: 'dependency_unavailable', err: error },
          'dead-letter publish failed; left for redelivery',
        );
        return; // not acked: redelivered after reconnect
      }
      elog().error(
        { code: 'delivery_failed', status: last.status, reason: failureCode(last) },
        'event dead-lettered',
      );
      safe(() => channel.ack(message));
      return;
    }
    elog().error(
      { code: 'delivery_failed', status: last.status, attempts },
      'event dropped: no dead-letter sink',
    );
    safe(() => channel.nack(message, false, false));
  }

  async function deliver(
    headers: Record<string, string>,
    body: Buffer,
    span: zipkin.TraceId,
  ): Promise<Attempt> {
    tracer.recordServiceName(runtime.name);
    tracer.recordRpc(`dispatch ${route.name}`);
    tracer.recordAnnotation(new Annotation.ClientSend());
    let status = -1;
    let text = '';
    try {
      const res = await post(
        subscriber,
        Object.assign(toHttpHeaders(headers), injectTraceHeaders(span)),
        body,
        timeoutMs,
      );
      status = res.status;
      text = res.body;
      if (status >= 200 && status < 300 && isReplyEvent(res.headers)) {
        const reply = await sendReply(res.headers, text, span);
        if (reply.status >= 500) return { status: reply.status, body: `reply not accepted: ${reply.body}` };
      }
    } catch (error) {
      text = error instanceof Error ? error.message : String(error);
    } finally {
      tracer.recordBinary('http.status_code', String(status));
      tracer.recordAnnotation(new Annotation.ClientRecv());
    }
    return { status, body: text };
  }

  /** Forward a subscriber's reply event to the ingress; a refused (4xx) reply is logged and dropped. */
  async function sendReply(
    replyHeaders: IncomingHttpHeaders,
    body: string,
    span: zipkin.TraceId,
  ): Promise<Attempt> {
    const headers: Record<string, string> = { ...injectTraceHeaders(span) };
    for (const [name, value] of Object.entries(replyHeaders)) {
      if (value !== undefined && (name.startsWith('ce-') || name === 'content-type'))
        headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    try {
      const res = await post(ingress, headers, Buffer.from(body), timeoutMs);
      if (res.status >= 400 && res.status < 500)
        log.error(
          { code: 'validation_failed', status: res.status, body: res.body.slice(0, 300) },
          'reply event refused',
        );
      return { status: res.status, body: res.body };
    } catch (error) {
      return { status: 503, body: String(error) };
    }
  }
}

/** Connections to subscribers and the ingress stay open between deliveries (one TCP handshake per worker). */
const agents = {
  'http:': new Agent({ keepAlive: true, scheduling: 'lifo' }),
  'https:': new HttpsAgent({ keepAlive: true, scheduling: 'lifo' }),
};

/** Where a dispatcher POSTs, resolved once: node:http's options without a WHATWG URL per request. */
interface Target {
  readonly send: typeof httpRequest;
  readonly options: RequestOptions;
}

function targetOf(url: string): Target {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  return {
    send: https ? httpsRequest : httpRequest,
    options: {
      method: 'POST',
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: target.port || (https ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      agent: https ? agents['https:'] : agents['http:'],
      ...(target.username || target.password
        ? { auth: `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}` }
        : {}),
    },
  };
}

/**
 * POST `body` and read the whole answer (node:http on a keep-alive agent: about half fetch's CPU per
 * request). Rejects on a network error or when `timeoutMs` passes before the answer is complete.
 */
function post(
  target: Target,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = target.send({ ...target.options, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? -1,
          headers: res.headers,
          body: chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    // One plain timer for the whole exchange (an AbortSignal per request was measurable).
    const timer = setTimeout(
      () => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    req.on('error', fail);
    req.end(body);
  });
}

function safe(work: () => void): void {
  try {
    work();
  } catch {
    // The channel closed under us: the message is redelivered on the next connection.
  }
}
