import { cloudEvent } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { notifyFromEnv, sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('notify', { shared: sharedSecrets, required: vaultSettings });
const { handler } = notifyFromEnv(env);
cloudEvent('notify', async (event: CloudEventV1<unknown>) => {
  await handler(event);
});
