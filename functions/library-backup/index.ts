import { cloudEvent } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { libraryBackupFromEnv } from './run.ts';

const run = libraryBackupFromEnv();
cloudEvent('library-backup', async (event: CloudEventV1<unknown>) => {
  await run(event);
});
