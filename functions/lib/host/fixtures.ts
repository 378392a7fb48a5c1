import { cloudEvent, http } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { ValidationFailed } from '../errors.ts';

/** Events the conformance fixture received, newest last. */
export const received: { id: string; type: string; data: unknown; traceparent: unknown }[] = [];

/** A hello-world HTTP function using only node's API (what our functions use). */
http('host-hello', (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`hello ${req.method}`);
});

/** An HTTP function using Express conveniences (what third-party FF functions often use). */
http('host-express-style', (req, res) => {
  res
    .status(201)
    .set('x-got', req.get('x-send') ?? '')
    .json({ ok: true });
});

/** A CloudEvent function; type `test.fail.permanent` is refused, `test.fail.transient` throws. */
cloudEvent('host-events', (event: CloudEventV1<unknown>) => {
  if (event.type === 'test.fail.permanent') throw new ValidationFailed('refused on purpose');
  if (event.type === 'test.fail.transient') throw new Error('database went away');
  received.push({ id: event.id, type: event.type, data: event.data, traceparent: event.traceparent });
});
