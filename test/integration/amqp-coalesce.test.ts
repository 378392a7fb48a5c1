/**
 * The broker's corked amqplib socket (`scripts/stack/broker/coalesce.ts`) against the run's RabbitMQ:
 * a turn's publishes leave in one socket write, every message still arrives, in order, confirmed — also
 * past the socket's high-water mark, where the Mux waits for `drain`. Without it amqplib writes once per
 * message (the control), which is what the broker paid per event.
 */
import type { Duplex } from 'node:stream';
import { type ChannelModel, connect } from 'amqplib';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { coalesceWrites } from '../../scripts/stack/broker/coalesce.ts';

const env = inject('env');
const open: ChannelModel[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
});

/** A connection whose socket counts the writes it hands the kernel (`_write` one buffer, `_writev` many). */
async function counted(): Promise<{ model: ChannelModel; writes: () => number }> {
  const model = await connect(env.AMQP_URL ?? '');
  open.push(model);
  const socket = (model as unknown as { connection: { stream: Duplex } }).connection.stream;
  let writes = 0;
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name] as (...args: unknown[]) => void;
    socket[name] = function (this: Duplex, ...args: unknown[]) {
      writes += 1;
      original.apply(this, args);
    } as never;
  }
  return { model, writes: () => writes };
}

/** Publish `count` messages of `size` bytes in one turn on a fresh queue; the socket writes it took and the bodies read back. */
async function publishInOneTurn(model: ChannelModel, writes: () => number, count: number, size: number) {
  const channel = await model.createConfirmChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  const before = writes();
  const confirms = Array.from(
    { length: count },
    (_, i) =>
      new Promise<void>((resolve, reject) =>
        channel.sendToQueue(queue, Buffer.from(String(i).padEnd(size, '.')), {}, (error: unknown) =>
          error ? reject(error) : resolve(),
        ),
      ),
  );
  await Promise.all(confirms);
  const used = writes() - before;
  const bodies: number[] = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (!message) break;
    bodies.push(Number.parseInt(message.content.toString(), 10));
  }
  return { used, bodies };
}

describe('coalesceWrites (the broker’s amqplib connections)', () => {
  it('sends a turn of 50 publishes in one socket write, all confirmed and in order', async () => {
    const { model, writes } = await counted();
    expect(coalesceWrites(model)).toBe(true);
    const { used, bodies } = await publishInOneTurn(model, writes, 50, 200);
    expect(used).toBe(1);
    expect(bodies).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('keeps back-pressure: 2 MiB in one turn arrive whole and in order', async () => {
    const { model, writes } = await counted();
    coalesceWrites(model);
    const { used, bodies } = await publishInOneTurn(model, writes, 500, 4096);
    expect(used).toBeGreaterThan(1); // the Mux stopped at the high-water mark and went on after `drain`
    expect(used).toBeLessThan(500);
    expect(bodies).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('control: plain amqplib writes each message on its own', async () => {
    const { model, writes } = await counted();
    const { used } = await publishInOneTurn(model, writes, 50, 200);
    expect(used).toBeGreaterThanOrEqual(50);
  });
});
