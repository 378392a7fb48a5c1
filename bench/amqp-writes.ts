/**
 * CPU per confirmed publish, plain amqplib against the broker's corked socket (`coalesceWrites`), with a
 * fixed number of publishes per event-loop turn — the batching an ingress gets under load, held constant
 * so the two can be compared on a loaded machine. Rounds alternate the two (order flipped every round).
 * Run: `node bench/amqp-writes.ts [publishes per turn, default 32] [rounds, default 6]` (needs rabbitmqctl;
 * AMQP_BASE_URL as bench/events.ts). Prints µs of this process's CPU per confirmed publish, per round.
 */
import { execFileSync } from 'node:child_process';
import { connect } from 'amqplib';
import { coalesceWrites } from '../scripts/stack/broker/coalesce.ts';
import { median } from './lib.ts';

const BASE = process.env.AMQP_BASE_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PER_TURN = Number(process.argv[2] ?? 32);
const ROUNDS = Number(process.argv[3] ?? 6);
const MESSAGES = 6_000;
const vhost = `isekai-bench-writes-${Date.now().toString(36)}`;
// What the ingress publishes for the events bench's event: its AMQP headers and a body of that size.
const headers = {
  'content-type': 'application/json',
  specversion: '1.0',
  id: 'bench',
  type: 'dev.isekai.episode.aired.v1',
  source: '/integrators/bench',
  subject: '1',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};
const content = Buffer.from(JSON.stringify({ animeId: 1, episode: 3, title: 'x'.repeat(60) }));

/** µs of CPU per confirmed publish for MESSAGES publishes, PER_TURN at a time. */
async function measure(corked: boolean): Promise<number> {
  const model = await connect(`${BASE}/${vhost}`);
  if (corked && !coalesceWrites(model)) throw new Error('amqplib internals changed');
  const channel = await model.createConfirmChannel();
  await channel.assertQueue('writes', { durable: true });
  const t0 = process.cpuUsage();
  for (let sent = 0; sent < MESSAGES; sent += PER_TURN) {
    const confirms = Array.from(
      { length: PER_TURN },
      () =>
        new Promise<void>((resolve, reject) =>
          channel.sendToQueue('writes', content, { persistent: true, headers }, (e: unknown) =>
            e ? reject(e) : resolve(),
          ),
        ),
    );
    await Promise.all(confirms);
  }
  const used = process.cpuUsage(t0);
  await channel.purgeQueue('writes');
  await model.close();
  return (used.user + used.system) / MESSAGES;
}

execFileSync('rabbitmqctl', ['-q', 'add_vhost', vhost]);
execFileSync('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
try {
  const us = { plain: [] as number[], corked: [] as number[] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const corked of round % 2 ? [true, false] : [false, true])
      us[corked ? 'corked' : 'plain'].push(await measure(corked));
  }
  const show = (values: number[]) =>
    `${values.map((v) => v.toFixed(1)).join(' ')} (median ${median(values).toFixed(1)})`;
  process.stdout.write(
    `${PER_TURN} per turn, µs CPU per confirmed publish: plain ${show(us.plain)} | corked ${show(us.corked)}\n`,
  );
} finally {
  execFileSync('rabbitmqctl', ['-q', 'delete_vhost', vhost]);
}
