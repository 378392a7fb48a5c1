import { http } from '@google-cloud/functions-framework';
import { loadFunctionEnv } from '../lib/secrets.ts';
import { sharedSecrets, vaultSettings, wireNotifications } from './settings.ts';

const env = await loadFunctionEnv('notifications', { shared: sharedSecrets, required: vaultSettings });
http('notifications', wireNotifications(env).handler);
