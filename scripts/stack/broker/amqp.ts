import {
  type AmqpConnectionManager,
  AmqpConnectionManagerClass,
  type Channel,
  type ChannelWrapper,
  type CreateChannelOpts,
} from 'amqp-connection-manager';
import type { ChannelModel } from 'amqplib';
import type { Logger } from '../../../functions/lib/logger.ts';
import { coalesceWrites } from './coalesce.ts';

/** Wait between reconnection attempts (s): RabbitMQ restarted by hand or by a test is back within about a second. */
const RECONNECT_S = 0.5;
/** AMQP heartbeat (s): a silently dead connection is noticed within two of these. */
const HEARTBEAT_S = 5;

export interface LinkChannel {
  /** For logs. */
  readonly name: string;
  /** A confirm channel (publisher confirms) or a plain one. */
  readonly confirm: boolean;
  /** Runs on every new underlying channel (after the topology is declared), e.g. prefetch + consume. */
  readonly setup?: (channel: Channel) => Promise<void>;
  /** Publishes not confirmed within this many ms are rejected (`Error('timeout')`). */
  readonly publishTimeoutMs?: number;
}

/**
 * The broker's one AMQP connection, kept by amqp-connection-manager: when RabbitMQ goes away (restart,
 * network), it reconnects every 0.5 s and re-creates every channel made with `channel()`, running its
 * setup again. The topology (`declare`) is declared first on each connection; other channels' setups
 * wait for it, so a consumer never starts on a queue that is not there yet.
 * @example const link = new AmqpLink(url, log); link.declare((ch) => declareTopology(ch, t));
 *   const publish = link.channel({ name: 'ingress', confirm: true }); await link.start();
 */
export class AmqpLink {
  readonly url: string;
  readonly log: Logger;
  readonly #manager: AmqpConnectionManager;
  readonly #declarations: ((channel: Channel) => Promise<void>)[] = [];
  readonly #topology: ChannelWrapper;

  constructor(url: string, log: Logger) {
    this.url = url;
    this.log = log;
    // Created idle: nothing connects before start(), so every declaration and channel is registered first.
    this.#manager = new AmqpConnectionManagerClass(url, {
      heartbeatIntervalInSeconds: HEARTBEAT_S,
      reconnectTimeInSeconds: RECONNECT_S,
      connectionOptions: { clientProperties: { connection_name: 'isekai-broker' } },
    });
    // Each new connection writes a turn's frames in one `writev` (coalesce.ts).
    this.#manager.on('connect', ({ connection }) => {
      if (!coalesceWrites(connection))
        log.warn({ code: 'internal' }, 'amqplib internals changed: frames written one by one');
    });
    this.#manager.on('disconnect', ({ err }) =>
      log.warn({ code: 'dependency_unavailable', err }, 'amqp connection lost; reconnecting'),
    );
    this.#manager.on('connectFailed', ({ err }) =>
      log.debug({ code: 'dependency_unavailable', err }, 'amqp connection attempt failed'),
    );
    this.#topology = this.#manager.createChannel({
      name: 'topology',
      confirm: false,
      setup: async (channel: Channel) => {
        this.#watch(channel, 'topology');
        for (const declare of this.#declarations) await declare(channel);
      },
    });
    // Every other channel's setup waits for this one's `connect`: one listener per channel.
    this.#topology.setMaxListeners(0);
    this.#topology.on('error', (error: Error) =>
      log.error({ code: 'dependency_unavailable', err: error }, 'amqp topology not declared'),
    );
    this.#topology.on('connect', () => log.info('amqp connected, topology declared'));
  }

  /** The live connection, or undefined while reconnecting. */
  get connection(): ChannelModel | undefined {
    return this.#manager.connection as ChannelModel | undefined;
  }

  /** Register a declaration (exchanges, queues, bindings) run on every connection before other setups; call before start(). */
  declare(setup: (channel: Channel) => Promise<void>): void {
    this.#declarations.push(setup);
  }

  /** A channel kept set up across reconnects (amqp-connection-manager's ChannelWrapper). */
  channel(options: LinkChannel): ChannelWrapper {
    const { name, setup } = options;
    const wrapper = this.#manager.createChannel({
      name,
      confirm: options.confirm,
      ...(options.publishTimeoutMs === undefined ? {} : { publishTimeout: options.publishTimeoutMs }),
      setup: async (channel: Channel) => {
        this.#watch(channel, name);
        await this.#topology.waitForConnect();
        await setup?.(channel);
      },
    } satisfies CreateChannelOpts);
    wrapper.on('error', (error: Error) =>
      this.log.warn(
        { code: 'dependency_unavailable', err: error, channel: name },
        'amqp channel setup failed',
      ),
    );
    return wrapper;
  }

  /** amqplib emits `error` on a channel RabbitMQ closes (unlistened, it would crash the process): log it. */
  #watch(channel: Channel, name: string): void {
    channel.on('error', (error: Error) =>
      this.log.warn({ code: 'dependency_unavailable', err: error, channel: name }, 'amqp channel closed'),
    );
  }

  /**
   * Connect and declare the topology, waiting at most `deadlineMs`: rejects with a timeout, or at once
   * with the error of a declaration RabbitMQ refused (e.g. a queue that exists with other arguments).
   * After a rejection the link is closed; after success the manager keeps it up until `close()`.
   */
  async start(deadlineMs = 30_000): Promise<void> {
    let refuse: (error: Error) => void = () => undefined;
    const refused = new Promise<never>((_, reject) => {
      refuse = reject;
    });
    const onError = (error: Error) => refuse(error);
    this.#topology.on('error', onError);
    const timer = setTimeout(
      () => refuse(new Error(`amqp: not connected and declared within ${deadlineMs} ms`)),
      deadlineMs,
    );
    try {
      await Promise.race([this.#topology.waitForConnect(), refused, this.#manager.connect()]);
      await Promise.race([this.#topology.waitForConnect(), refused]);
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      clearTimeout(timer);
      this.#topology.off('error', onError);
    }
  }

  async close(): Promise<void> {
    await this.#manager.close().catch(() => undefined);
  }
}
