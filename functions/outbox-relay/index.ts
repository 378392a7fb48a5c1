import { cloudEvent } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { createOutboxRelay } from './relay.ts';

const relay = createOutboxRelay();
cloudEvent('outbox-relay', async (event: CloudEventV1<unknown>) => {
  await relay(event);
});
