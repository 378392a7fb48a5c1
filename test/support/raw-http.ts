import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A bare HTTP/1.1 client for sending bytes no well-behaved client would (raw UTF-8 in a request target,
 * NUL escapes, 20 KB headers, bad versions) and reading whatever comes back. Keep-alive connections,
 * one request at a time per connection; a response with `Connection: close` retires its connection.
 */

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; every value of a repeated header, in order. */
  readonly headers: Record<string, string[]>;
  readonly body: Buffer;
}

export interface RawTarget {
  readonly port: number;
  readonly host?: string;
  /** TLS with this SNI name (the edge's certificate is not checked); none: plain TCP. */
  readonly servername?: string;
  /**
   * TLS 1.2 resumes a session without a new key exchange: much cheaper when the server closes the
   * connection after every error (a fuzz run opens thousands).
   */
  readonly tls12?: boolean;
}

/** The value of a header (repeated ones joined with ", " as node would), or undefined. */
export const header = (res: RawResponse, name: string): string | undefined => res.headers[name]?.join(', ');

/** Build a request: `GET <target> HTTP/1.1`, then headers (Content-Length added for a body). */
export function rawRequest(init: {
  method?: string;
  target: string | Buffer;
  host?: string;
  headers?: readonly (readonly [string | Buffer, string | Buffer])[];
  body?: Buffer;
  version?: string;
}): Buffer {
  const parts: Buffer[] = [
    Buffer.from(`${init.method ?? 'GET'} `),
    Buffer.from(init.target),
    Buffer.from(` ${init.version ?? 'HTTP/1.1'}\r\n`),
  ];
  if (init.host !== undefined) parts.push(Buffer.from(`Host: ${init.host}\r\n`));
  for (const [name, value] of init.headers ?? [])
    parts.push(Buffer.from(name), Buffer.from(': '), Buffer.from(value), Buffer.from('\r\n'));
  if (init.body) parts.push(Buffer.from(`Content-Length: ${init.body.length}\r\n`));
  parts.push(Buffer.from('\r\n'));
  if (init.body) parts.push(init.body);
  return Buffer.concat(parts);
}

/** Parses one response at a time from a byte stream; `null` until a whole one has arrived. */
class ResponseReader {
  private buffer: Buffer = Buffer.alloc(0);
  ended = false;

  push(chunk: Buffer) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
  }

  /** The next complete response (1xx interim answers skipped). */
  next(head: boolean): RawResponse | null {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers: Record<string, string[]> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()];
      }
      const rest = this.buffer.subarray(end + 4);
      if (status >= 100 && status < 200) {
        this.buffer = rest;
        continue;
      }
      const body = this.body(rest, headers, head || status === 204 || status === 304);
      if (!body) return null;
      this.buffer = body.rest;
      return { status, headers, body: body.body };
    }
  }

  private body(
    rest: Buffer,
    headers: Record<string, string[]>,
    none: boolean,
  ): { body: Buffer; rest: Buffer } | null {
    if (none) return { body: Buffer.alloc(0), rest };
    if (headers['transfer-encoding']?.some((v) => /chunked/i.test(v))) {
      const chunks: Buffer[] = [];
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', at);
        if (lineEnd < 0) return null;
        const size = Number.parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
        if (rest.length < lineEnd + 2 + size + 2) return null;
        if (size === 0) return { body: Buffer.concat(chunks), rest: rest.subarray(lineEnd + 4) };
        chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
    }
    const length = headers['content-length']?.[0];
    if (length !== undefined) {
      const n = Number(length);
      return rest.length < n ? null : { body: rest.subarray(0, n), rest: rest.subarray(n) };
    }
    return this.ended ? { body: rest, rest: Buffer.alloc(0) } : null;
  }
}

/** TLS sessions to resume (an abbreviated handshake when the server closes after an error). */
const sessions = new Map<string, Buffer>();

/** One connection: send a request, resolve with its response. */
class RawConnection {
  private readonly reader = new ResponseReader();
  private waiting: { head: boolean; resolve: (r: RawResponse) => void; reject: (e: Error) => void } | null =
    null;
  private readonly socket: Socket;
  private readonly ready: Promise<void>;
  closed = false;

  constructor(target: RawTarget) {
    const host = target.host ?? '127.0.0.1';
    const session = target.servername ? sessions.get(`${target.port}/${target.servername}`) : undefined;
    this.socket = target.servername
      ? tlsConnect({
          host,
          port: target.port,
          servername: target.servername,
          rejectUnauthorized: false,
          ...(target.tls12 ? { maxVersion: 'TLSv1.2' as const } : {}),
          ...(session ? { session } : {}),
        }).on('session', (s: Buffer) => sessions.set(`${target.port}/${target.servername}`, s))
      : netConnect(target.port, host);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once(target.servername ? 'secureConnect' : 'connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.deliver();
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.reader.ended = true;
      this.deliver();
      this.waiting?.reject(new Error('connection closed before a whole response'));
      this.waiting = null;
    });
  }

  private deliver() {
    if (!this.waiting) return;
    const res = this.reader.next(this.waiting.head);
    if (!res) return;
    const { resolve } = this.waiting;
    this.waiting = null;
    if (header(res, 'connection') === 'close') this.close();
    resolve(res);
  }

  async send(bytes: Buffer, head: boolean, timeoutMs = 10_000): Promise<RawResponse> {
    await this.ready;
    if (this.closed) throw new Error('connection already closed');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.close();
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          f(v);
        };
      this.waiting = { head, resolve: settle(resolve), reject: settle(reject) };
      this.socket.write(bytes);
      this.deliver();
    });
  }

  close() {
    this.closed = true;
    this.socket.destroy();
  }
}

/**
 * Send one request on a fresh connection and read the response (closed afterwards).
 * @example const res = await rawExchange({ port, servername: 'api.isekai.localhost' }, rawRequest({ target: '/anime/%00', host: 'api.isekai.localhost' }));
 */
export async function rawExchange(target: RawTarget, bytes: Buffer, head = false): Promise<RawResponse> {
  const connection = new RawConnection(target);
  try {
    return await connection.send(bytes, head);
  } finally {
    connection.close();
  }
}

/**
 * Send many requests over `concurrency` keep-alive connections (reopened when the server closes one);
 * `onResponse` sees each request with its response, or with the error when none came.
 */
export async function rawBatch(
  target: RawTarget,
  requests: readonly { bytes: Buffer; head: boolean }[],
  concurrency: number,
  onResponse: (index: number, res: RawResponse | Error) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    let connection = new RawConnection(target);
    while (next < requests.length) {
      const index = next++;
      const request = requests[index];
      if (!request) break;
      if (connection.closed) connection = new RawConnection(target);
      try {
        onResponse(index, await connection.send(request.bytes, request.head));
      } catch (error) {
        onResponse(index, error as Error);
        connection.close();
      }
    }
    connection.close();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
