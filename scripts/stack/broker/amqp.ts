import { EventEmitter } from 'node:events';
import { type ChannelModel, connect } from 'amqplib';
import type { Logger } from '../../../functions/lib/logger.ts';

/**
 * One AMQP connection that comes back by itself: when RabbitMQ goes away (restart, network), it reconnects
 * with backoff and runs every `onConnect` setup again (declare topology, open channels, start consumers).
 * Emits `up` and `down`.
 */
export class AmqpLink extends EventEmitter {
  #connection: ChannelModel | undefined;
  #closing = false;
  readonly #setups: ((connection: ChannelModel) => Promise<void>)[] = [];

  readonly url: string;
  readonly log: Logger;

  constructor(url: string, log: Logger) {
    super();
    this.url = url;
    this.log = log;
  }

  /** The live connection, or undefined while reconnecting. */
  get connection(): ChannelModel | undefined {
    return this.#connection;
  }

  /** Register work to run on every (re)connection, in registration order. */
  onConnect(setup: (connection: ChannelModel) => Promise<void>): void {
    this.#setups.push(setup);
  }

  /** Connect (retrying until `deadlineMs`) and run the setups; then keep the link up until close(). */
  async start(deadlineMs = 30_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      try {
        await this.#open();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async #open(): Promise<void> {
    const connection = await connect(this.url, { clientProperties: { connection_name: 'isekai-broker' } });
    connection.on('error', (error: Error) =>
      this.log.warn({ code: 'dependency_unavailable', err: error }, 'amqp connection error'),
    );
    connection.on('close', () => {
      if (this.#connection !== connection) return;
      this.#connection = undefined;
      this.emit('down');
      if (!this.#closing) {
        this.log.warn({ code: 'dependency_unavailable' }, 'amqp connection lost; reconnecting');
        this.#reconnect();
      }
    });
    try {
      for (const setup of this.#setups) await setup(connection);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    this.#connection = connection;
    this.emit('up');
  }

  #reconnect(): void {
    let delay = 200;
    const attempt = () => {
      if (this.#closing) return;
      this.#open().then(
        () => this.log.info('amqp connection restored'),
        () => {
          delay = Math.min(delay * 2, 2_000);
          setTimeout(attempt, delay).unref();
        },
      );
    };
    setTimeout(attempt, delay).unref();
  }

  async close(): Promise<void> {
    this.#closing = true;
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.close().catch(() => undefined);
  }
}
