/**
 * The broker ingress (eventing-rabbitmq's `ingress`): POST a CloudEvent (binary or structured mode), it is
 * validated against the catalogue (400 problem+json when invalid — it never reaches a queue), then
 * published to the broker's headers exchange as a persistent message with publisher confirms: 202 once
 * RabbitMQ confirms, 500 on a nack, 503 while RabbitMQ is unreachable or no confirm came within 4 s.
 */
import { DependencyUnavailable, Internal, NotFound } from '../../../functions/lib/errors.ts';
import { validateEvent } from '../../../functions/lib/events/validate-event.ts';
import { decodeOneEvent } from '../../../functions/lib/host/server.ts';
import { createHttpFunction, type HttpHandler } from '../../../functions/lib/http/http-function.ts';
import type { AnyRoute, Route } from '../../../functions/lib/http/types.ts';
import type { Runtime } from '../../../functions/lib/runtime.ts';
import { traceparentOf } from '../../../functions/lib/tracing/trace-headers.ts';
import type { AmqpLink } from './amqp.ts';
import { type AmqpEvent, toAmqp } from './codec.ts';
import type { BrokerTopology } from './topology.ts';

/** Largest event accepted (RabbitMQ's default max message size is far larger; events are small). */
export const EVENT_BODY_LIMIT = 256 * 1024;

export interface IngressOptions {
  readonly runtime: Runtime;
  readonly link: AmqpLink;
  readonly topologies: readonly BrokerTopology[];
}

/**
 * How long a publish may wait for RabbitMQ's confirm (ms): a message the manager holds across a
 * reconnect is re-sent and still answered 202 once confirmed; past this it is 503 and the producer retries.
 */
export const CONFIRM_TIMEOUT_MS = 4_000;

/** Publishes with confirms on one confirm channel, kept across reconnects by amqp-connection-manager. */
export function createPublisher(link: AmqpLink) {
  const channel = link.channel({ name: 'ingress', confirm: true, publishTimeoutMs: CONFIRM_TIMEOUT_MS });
  return {
    /**
     * Resolves when RabbitMQ has confirmed the message (it is on disk in every matching queue).
     * Rejects with DependencyUnavailable while RabbitMQ is unreachable or the confirm does not come in
     * time, with Internal when RabbitMQ refuses it (nack).
     */
    async publish(exchange: string, message: AmqpEvent): Promise<void> {
      if (!link.connection) throw new DependencyUnavailable('rabbitmq', { retryAfter: 1 });
      try {
        await channel.publish(exchange, '', message.content, {
          persistent: true,
          headers: message.headers,
          contentType: message.headers['content-type'],
        });
      } catch (error) {
        if (String(error).includes('nack'))
          throw new Internal('rabbitmq refused the event (nack)', { cause: error });
        throw new DependencyUnavailable('rabbitmq', { cause: error, retryAfter: 1 });
      }
    },
  };
}

/** The ingress HTTP handler: `POST /<namespace>/<broker>` (and `POST /` when there is one broker). */
export function createIngress(options: IngressOptions): HttpHandler {
  const { runtime, topologies } = options;
  const publisher = createPublisher(options.link);
  const byPath = new Map(topologies.map((t) => [`${t.broker.namespace}/${t.broker.name}`, t]));
  runtime.addCheck('rabbitmq', async () => {
    if (!options.link.connection) throw new Error('not connected');
  });

  const accept = async (
    topology: BrokerTopology | undefined,
    req: Parameters<HttpHandler>[0],
    raw: Buffer | undefined,
  ) => {
    if (!topology) throw new NotFound('no such broker');
    const body = raw ?? Buffer.alloc(0);
    const { mode, event: decoded } = decodeOneEvent(req, body);
    const event = validateEvent(decoded);
    const current = runtime.tracing.tracer.id;
    const tracestate = req.headers.tracestate;
    // A binary-mode JSON body is the data as it arrived: parsed once (to validate), passed on as bytes.
    const parsedJson =
      mode === 'binary' &&
      typeof event.data === 'object' &&
      event.data !== null &&
      !Buffer.isBuffer(event.data);
    const message = toAmqp(
      event,
      {
        traceparent: traceparentOf(current),
        ...(typeof tracestate === 'string' ? { tracestate } : {}),
      },
      parsedJson ? body : undefined,
    );
    await publisher.publish(topology.exchange, message);
    return { status: 202 };
  };
  const routes: Route<unknown, Record<string, string>>[] = [
    {
      method: 'POST',
      path: '/:namespace/:broker',
      raw: true,
      bodyLimit: EVENT_BODY_LIMIT,
      handle: (ctx) => accept(byPath.get(`${ctx.params.namespace}/${ctx.params.broker}`), ctx.req, ctx.raw),
    },
  ];
  if (topologies.length === 1) {
    routes.push({
      method: 'POST',
      path: '/',
      raw: true,
      bodyLimit: EVENT_BODY_LIMIT,
      handle: (ctx) => accept(topologies[0], ctx.req, ctx.raw),
    });
  }
  return createHttpFunction({ runtime, routes: routes as unknown as AnyRoute[] });
}
