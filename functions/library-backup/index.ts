import { cloudEvent } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { libraryBackupFromEnv } from './run.ts';
import { sharedSecrets, vaultSettings } from './settings.ts';

const env = await loadFunctionEnv('library-backup', { shared: sharedSecrets, required: vaultSettings });
const run = libraryBackupFromEnv(env);
cloudEvent('library-backup', async (event: CloudEventV1<unknown>) => {
  await run(event);
});
