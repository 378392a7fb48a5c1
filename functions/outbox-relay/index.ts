import { cloudEvent } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { outboxRelayFromEnv } from './relay.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('outbox-relay', { shared: sharedSecrets, required: vaultSettings });
const relay = outboxRelayFromEnv(env);
cloudEvent('outbox-relay', async (event: CloudEventV1<unknown>) => {
  await relay(event);
});
