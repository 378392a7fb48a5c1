import { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The handful of Express conveniences functions-framework functions commonly use, on the prototypes
 * (no per-request cost): `req.get`, `res.status`, `res.set`, `res.send`, `res.json`. Isekai's own
 * functions use only node's request/response API.
 */
export class HostRequest extends IncomingMessage {
  get(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

export class HostResponse<Req extends IncomingMessage = HostRequest> extends ServerResponse<Req> {
  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  set(name: string, value: string): this {
    this.setHeader(name, value);
    return this;
  }

  json(value: unknown): this {
    if (!this.hasHeader('content-type')) this.setHeader('content-type', 'application/json; charset=utf-8');
    return this.send(JSON.stringify(value));
  }

  send(body?: unknown): this {
    if (body === undefined || body === null) {
      this.end();
    } else if (typeof body === 'string') {
      if (!this.hasHeader('content-type')) this.setHeader('content-type', 'text/html; charset=utf-8');
      this.setHeader('content-length', Buffer.byteLength(body));
      this.end(body);
    } else if (Buffer.isBuffer(body)) {
      if (!this.hasHeader('content-type')) this.setHeader('content-type', 'application/octet-stream');
      this.setHeader('content-length', body.length);
      this.end(body);
    } else {
      return this.json(body);
    }
    return this;
  }
}
