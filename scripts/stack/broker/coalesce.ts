/**
 * One socket write per event-loop turn for an amqplib connection. amqplib queues each message's frames
 * (method + header + body, one buffer) on its channel's stream and its multiplexer (`Mux`) copies them to
 * the socket once per turn (a `setImmediate`), but with one `socket.write` per buffer: 128 publishes in a
 * turn were 128 `write` syscalls on the ingress, and each delivery's `basic.ack` one more on a dispatcher.
 * Corking the socket around that copy turns them into one `writev` (node's Writable buffers while
 * corked and hands the batch to `_writev` on `uncork`). Frames, their order and back-pressure are
 * unchanged: `write()` still answers false past the socket's high-water mark and the Mux still waits for
 * `drain`.
 */
import type { Duplex } from 'node:stream';

/** What is reached inside amqplib 2 (`lib/connection.js`, `lib/mux.js`): the socket and the Mux. */
interface AmqplibInternals {
  readonly connection?: {
    readonly stream?: Duplex;
    readonly muxer?: { _readIncoming?: (this: unknown) => void; coalesced?: boolean };
  };
}

/**
 * Cork the socket of `model` (what amqplib's `connect()` resolves to, as amqp-connection-manager hands it
 * on `connect`) around each Mux flush. Returns false (and changes nothing) when amqplib's
 * internals are not the expected shape — a later amqplib then runs as it ships, one write per frame set;
 * `coalesce.test.ts` fails on such an upgrade so it is noticed.
 * @example link.on('connect', ({ connection }) => coalesceWrites(connection));
 */
export function coalesceWrites(model: object): boolean {
  const connection = (model as AmqplibInternals).connection;
  const stream = connection?.stream;
  const muxer = connection?.muxer;
  const flush = muxer?._readIncoming;
  if (!stream || !muxer || typeof flush !== 'function' || typeof stream.cork !== 'function') return false;
  if (muxer.coalesced) return true;
  muxer._readIncoming = function readCorked(this: unknown) {
    stream.cork();
    try {
      flush.call(this);
    } finally {
      stream.uncork();
    }
  };
  muxer.coalesced = true;
  return true;
}
