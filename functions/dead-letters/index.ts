import { cloudEvent } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { deadLettersFromEnv } from './settings.ts';

const sink = deadLettersFromEnv();
cloudEvent('dead-letters', async (event: CloudEventV1<unknown>) => {
  await sink(event);
});
