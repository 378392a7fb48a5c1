/**
 * The events bench's HTTP floor (`bench/events.ts` spawns it; not run by hand): a bare `node:http` server
 * that publishes each POSTed body with raw amqplib on one confirm channel and answers 202 after the
 * confirm, 500 on a nack — the least an HTTP ingress can do, with nothing of the platform (no validation,
 * decoding, tracing, metrics, reconnection). Binary-mode `ce-*` headers become AMQP headers without the
 * prefix, as the broker's codec maps them. Like the platform's run, RabbitMQ delivers while it publishes:
 * a raw consumer (prefetch 100, one ack per message, as the dispatcher) drains the queue meanwhile, so
 * RabbitMQ does the same work per event in both runs and the difference is the broker's own.
 * Env: AMQP_URL (a vhost the bench made). Declares headers exchange + quorum queue `bench.http`; prints
 * one JSON line `{ "url": "http://127.0.0.1:<port>/" }` when it listens.
 */
import { createServer } from 'node:http';
import { connect } from 'amqplib';

const connection = await connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
const channel = await connection.createConfirmChannel();
await channel.assertExchange('bench.http', 'headers', { durable: true });
await channel.assertQueue('bench.http', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
await channel.bindQueue('bench.http', 'bench.http', '', { 'x-match': 'all' });
const consumer = await connection.createChannel();
await consumer.prefetch(100);
await consumer.consume('bench.http', (message) => {
  if (message) consumer.ack(message);
});

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (name.startsWith('ce-') && typeof value === 'string') headers[name.slice(3)] = value;
    const contentType = req.headers['content-type'] ?? 'application/json';
    channel.publish(
      'bench.http',
      '',
      Buffer.concat(chunks),
      { persistent: true, headers, contentType },
      (error: unknown) => {
        res.writeHead(error ? 500 : 202, { 'content-length': '0' });
        res.end();
      },
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/` })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void connection.close().finally(() => process.exit(0));
});
