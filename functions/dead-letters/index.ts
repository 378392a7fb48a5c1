import { cloudEvent } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { deadLettersFromEnv, sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('dead-letters', { shared: sharedSecrets, required: vaultSettings });
const sink = deadLettersFromEnv(env);
cloudEvent('dead-letters', async (event: CloudEventV1<unknown>) => {
  await sink(event);
});
